"""The console's Slurm job table names the node a job ran on, taken from what Slurm said, never guessed.

The head job's node and wall time come from the same squeue/sacct reading that gives its state; a step
run inside the head job ran on the head's node; a step with its own job gets a node only when the
launcher asked Slurm about that job.
"""

from __future__ import annotations

from pathlib import Path

from workflows.pipelines.launchers.progress import PipelineProgress, PipelineState, StepRecord
from workflows.pipelines.launchers.records import LaunchHandle
from workflows.pipelines.launchers.snakemake import SnakemakeLauncher
from workflows.pipelines.launchers.snakemake_log import read_snakemake_log
from workflows.slurm import JobState, SlurmClient, SlurmJob


def _job(job_id: str, state: JobState, node: str | None, elapsed: int | None = None) -> SlurmJob:
    return SlurmJob(job_id=job_id, name="j", state=state, raw_state=state.name, node=node, elapsed_seconds=elapsed)


def test_head_record_carries_the_heads_node_and_wall_time_and_inside_steps_share_the_node() -> None:
    progress = PipelineProgress(
        state=PipelineState.RUNNING,
        head_job_id="10",
        steps=[
            StepRecord(step="fastp", slurm_job_id="10", state="COMPLETED", exit_code=0, duration_seconds=4.2),
            StepRecord(step="megahit", slurm_job_id="12", state="FAILED"),
            StepRecord(step="prodigal", slurm_job_id="13", state="RUNNING"),
        ],
    )
    progress.take_slurm_jobs(
        _job("10", JobState.RUNNING, "emgnode1", elapsed=95),
        {"10": _job("10", JobState.RUNNING, "emgnode1", elapsed=95), "12": _job("12", JobState.FAILED, "emgnode2")},
    )
    records = {record.step: record for record in progress.slurm_job_records()}
    assert (progress.head_job_state, records["head"].node, records["head"].elapsed_seconds) == (
        "RUNNING",
        "emgnode1",
        95,
    )
    assert (records["fastp"].node, records["fastp"].elapsed_seconds) == ("emgnode1", 4)  # ran inside the head job
    assert records["megahit"].node == "emgnode2"  # its own job, which the launcher asked Slurm about
    assert records["prodigal"].node is None  # its own job, not asked about: no node rather than a guess


def test_a_head_job_slurm_does_not_know_or_that_waits_names_no_node() -> None:
    progress = PipelineProgress(
        state=PipelineState.PENDING,
        head_job_id="20",
        steps=[StepRecord(step="fastp", slurm_job_id="20", state="RUNNING")],
    )
    progress.take_slurm_jobs(None, {})
    records = {record.step: record for record in progress.slurm_job_records()}
    assert progress.head_job_state is None and records["head"].node is None and records["fastp"].node is None

    unknown = SlurmJob(job_id="20", name="", state=JobState.UNKNOWN, raw_state="")  # the client's placeholder
    progress.take_slurm_jobs(unknown, {"20": unknown})
    assert (progress.head_job_state, progress.head_job_node, progress.head_job_elapsed_seconds) == (None, None, None)

    progress.take_slurm_jobs(_job("20", JobState.PENDING, None, elapsed=0), {})
    records = {record.step: record for record in progress.slurm_job_records()}
    assert progress.head_job_state == "PENDING" and records["head"].node is None and records["fastp"].node is None


def test_snakemake_progress_names_the_head_jobs_node_for_steps_run_inside_it(tmp_path: Path) -> None:
    """The bundled pipeline's default (small data): its steps run in the head job, so on its node."""
    log = tmp_path / "launch-001.log"
    log.write_text(
        "Job stats:\njob count\n---\nfastp 1\nall 1\ntotal 2\n\n"
        "localrule fastp:\n    input: a.fastq.gz\n    output: results/qc/fastp.json\n    jobid: 1\n"
        "Finished jobid: 1 (Rule: fastp)\n1 of 2 steps (50%) done\n"
    )
    handle = LaunchHandle(
        pipeline_name="p",
        pipeline_version="1",
        engine="snakemake",
        work_dir=tmp_path,
        attempt=1,
        head_job_id="77",
        head_log=log,
        launched_at="2026-11-30T00:00:00Z",
        step_placement="head-job",
    )
    launcher = SnakemakeLauncher(SlurmClient(), partition="pipelines")
    head = _job("77", JobState.RUNNING, "vm", elapsed=31)
    progress = launcher.progress(handle, read_snakemake_log(log), {"77": head})
    records = {record.step: record for record in progress.slurm_job_records()}
    assert (records["head"].job_id, records["head"].node, records["head"].elapsed_seconds) == ("77", "vm", 31)
    assert (records["fastp"].job_id, records["fastp"].node) == ("77", "vm")
