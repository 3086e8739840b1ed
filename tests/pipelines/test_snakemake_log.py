"""The Snakemake log parser, on a log a real Snakemake 9 + Slurm executor run wrote (data/)."""

from __future__ import annotations

from pathlib import Path

from workflows.pipelines.launchers.snakemake_log import parse_snakemake_log, read_snakemake_log

DATA = Path(__file__).parent / "data"


def test_completed_run_log() -> None:
    run = read_snakemake_log(DATA / "snakemake_slurm_completed.log")
    assert run.complete and not run.failed_rules
    assert (run.steps_done, run.steps_total) == (8, 8)
    by_rule = {job.rule: job for job in run.jobs.values()}
    assert set(by_rule) == {
        "fastp",
        "megahit",
        "prodigal",
        "hmmbuild",
        "hmmsearch",
        "seqkit_stats",
        "tool_versions",
        "all",
    }
    assert all(job.finished for job in run.jobs.values())
    assert all(job.slurm_job_id for rule, job in by_rule.items() if rule != "all")
    assert by_rule["all"].slurm_job_id is None  # the target rule runs in the head job


def test_failed_run_log_and_progress_before_the_end() -> None:
    text = """Job stats:
job        count
-------  -------
fastp          1
prodigal       1
all            1
total          3

[Wed Nov 25 06:52:36 2026]
rule fastp:
    jobid: 1
Job 1 has been submitted with SLURM jobid 41 (log: /w/logs/slurm/rule_fastp/41.log).
[Wed Nov 25 06:52:48 2026]
Finished jobid: 1 (Rule: fastp)
1 of 3 steps (33%) done
[Wed Nov 25 06:52:48 2026]
rule prodigal:
    jobid: 2
Job 2 has been submitted with SLURM jobid 42 (log: /w/logs/slurm/rule_prodigal/42.log).
[Wed Nov 25 06:53:00 2026]
Error in rule prodigal:
    message: SLURM-job '42' failed, SLURM status is: 'FAILED'.
    jobid: 2
    log: logs/prodigal.log (check log file(s) for error details)
"""
    run = parse_snakemake_log(text)
    assert (run.steps_done, run.steps_total) == (1, 3)
    assert run.failed_rules == ["prodigal"]
    jobs = {job.rule: job for job in run.jobs.values()}
    assert jobs["prodigal"].failed and jobs["prodigal"].slurm_job_id == "42"
    assert jobs["fastp"].finished and not jobs["fastp"].failed
    assert not run.complete


def test_nothing_to_do_and_missing_log(tmp_path: Path) -> None:
    run = parse_snakemake_log(
        "Building DAG of jobs...\nNothing to be done (all requested files are present and up to date).\n"
    )
    assert run.nothing_to_do and run.jobs == {}
    assert read_snakemake_log(tmp_path / "absent.log").jobs == {}


def test_a_step_lost_with_its_node_and_retried_counts_as_finished_with_both_jobs() -> None:
    """A real log: hmmbuild's job 533 ended NODE_FAIL (its node was killed), Snakemake retried it as 541."""
    run = read_snakemake_log(DATA / "snakemake_slurm_node_lost_retried.log")
    assert run.complete and run.failed_rules == []
    hmmbuild = next(job for job in run.jobs.values() if job.rule == "hmmbuild")
    assert hmmbuild.slurm_job_ids == ["533", "541"] and hmmbuild.slurm_job_id == "541"
    assert hmmbuild.finished
