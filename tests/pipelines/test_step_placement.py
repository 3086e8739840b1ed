"""Where a Snakemake pipeline's steps run, the critical path a run is measured against, and the entry script.

The commands are built, not run, except the entry script, which runs the real Snakemake.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.config import StepPlacement
from workflows.pipelines import get_pipeline
from workflows.pipelines.definition import RunInputs
from workflows.pipelines.launchers.critical_path import critical_path
from workflows.pipelines.launchers.records import LaunchHandle
from workflows.pipelines.launchers.snakemake import ENGINE_PYTHON, ENTRY_SCRIPT, SnakemakeLauncher
from workflows.pipelines.launchers.snakemake_entry import exit_code
from workflows.pipelines.launchers.snakemake_log import read_snakemake_log
from workflows.pipelines.workarea import WorkArea
from workflows.slurm import SlurmClient

DATA = Path(__file__).parent / "data"


@pytest.fixture
def pipeline():
    from core.config import current_config

    config = current_config().pipelines
    return get_pipeline(config.bundled_pipeline_name, config.bundled_pipeline_version)


def reads_of_size(tmp_path: Path, megabytes: float) -> RunInputs:
    files = []
    for mate in (1, 2):
        path = tmp_path / f"ERR1_{mate}.fastq.gz"
        path.write_bytes(b"\0" * int(megabytes * 1024 * 1024 / 2))
        files.append(path)
    return RunInputs(fastq=files)


def test_critical_path_is_the_longest_dependent_chain_not_the_sum() -> None:
    seconds = {"fastp": 3.0, "megahit": 2.0, "prodigal": 1.0, "tool_versions": 4.0, "hmmsearch": 0.5}
    depends_on = {"megahit": {"fastp"}, "prodigal": {"megahit"}, "hmmsearch": {"prodigal"}}
    assert critical_path(seconds, depends_on) == (6.5, ["fastp", "megahit", "prodigal", "hmmsearch"])
    # A lone step longer than any chain is the critical path by itself.
    assert critical_path({**seconds, "tool_versions": 9.0}, depends_on) == (9.0, ["tool_versions"])
    assert critical_path({}, {}) == (0.0, [])


def test_critical_path_refuses_a_cycle() -> None:
    with pytest.raises(ValueError, match="cycle"):
        critical_path({"a": 1.0, "b": 1.0}, {"a": {"b"}, "b": {"a"}})


def test_rule_dependencies_come_from_the_files_each_job_names_in_a_real_log() -> None:
    run = read_snakemake_log(DATA / "snakemake_slurm_completed.log")
    dependencies = run.rule_dependencies()
    assert dependencies["fastp"] == set()
    assert dependencies["megahit"] == {"fastp"}
    assert dependencies["prodigal"] == {"megahit"}
    assert dependencies["seqkit_stats"] == {"fastp", "megahit", "prodigal"}
    assert "fastp" in dependencies["all"]


def test_auto_placement_runs_small_inputs_inside_the_head_job(tmp_path: Path) -> None:
    launcher = SnakemakeLauncher(SlurmClient(), partition="pipelines", inline_max_input_mb=2)
    assert launcher.step_placement == StepPlacement.AUTO
    assert launcher.placement_for(reads_of_size(tmp_path, 1.5)) == StepPlacement.HEAD_JOB
    assert launcher.placement_for(reads_of_size(tmp_path, 3)) == StepPlacement.OWN_JOBS
    forced = SnakemakeLauncher(SlurmClient(), partition="pipelines", step_placement="own-jobs")
    assert forced.placement_for(reads_of_size(tmp_path, 0.1)) == StepPlacement.OWN_JOBS


def test_placement_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMG_SLURM__STEP_PLACEMENT", "own-jobs")
    monkeypatch.setenv("EMG_SLURM__INLINE_MAX_INPUT_MB", "7")
    from django.conf import settings

    from core.config import EMGConfig

    monkeypatch.setattr(settings, "EMG_CONFIG", EMGConfig())
    launcher = SnakemakeLauncher(SlurmClient(), partition="pipelines")
    assert (launcher.step_placement, launcher.inline_max_input_mb) == (StepPlacement.OWN_JOBS, 7)


def test_head_job_placement_sizes_the_head_job_for_the_largest_step(tmp_path: Path, pipeline) -> None:
    launcher = SnakemakeLauncher(SlurmClient(), partition="pipelines", step_placement="head-job", head_memory_mb=800)
    work = WorkArea.for_analysis("MGYA00000001", work_root=tmp_path / "work")
    work.create()
    inputs = reads_of_size(tmp_path, 0.1)
    head = launcher.head_job(pipeline, inputs, pipeline.validate_parameters(None), work, attempt=1)
    cpus, memory_mb = SnakemakeLauncher.head_allocation(pipeline)
    assert cpus == max(pipeline.resources_for(step).cpus for step in pipeline.steps)
    assert (head.cpus, head.memory_mb, head.step_placement) == (cpus, memory_mb + 800, "head-job")
    assert str(ENTRY_SCRIPT) in head.script
    assert "--executor" not in head.script and f"--cores {cpus}" in head.script
    assert "--nolock" in head.script and "--unlock" not in head.script
    assert f"exec {launcher.python} {ENTRY_SCRIPT}" in head.script  # Snakemake's own environment, if set up


def test_own_jobs_placement_keeps_a_small_head_job_and_the_slurm_executor(tmp_path: Path, pipeline) -> None:
    launcher = SnakemakeLauncher(SlurmClient(), partition="pipelines", step_placement="own-jobs")
    work = WorkArea.for_analysis("MGYA00000002", work_root=tmp_path / "work")
    work.create()
    head = launcher.head_job(
        pipeline, reads_of_size(tmp_path, 0.1), pipeline.validate_parameters(None), work, attempt=1
    )
    assert (head.cpus, head.memory_mb, head.step_placement) == (None, None, "own-jobs")
    assert "--executor slurm" in head.script and "--nolock" in head.script
    assert f"exec {sys.executable} {ENTRY_SCRIPT}" in head.script  # the platform's Python, with the Slurm plugin


def test_steps_inside_the_head_job_are_recorded_with_its_job_id(tmp_path: Path) -> None:
    """A log of steps run inside the head job names no Slurm job per step: they ran in the head job."""
    log = tmp_path / "launch-001.log"
    log.write_text(
        "Job stats:\njob count\n---\nfastp 1\nall 1\ntotal 2\n\n"
        "localrule fastp:\n    input: a.fastq.gz\n    output: results/qc/fastp.json\n    jobid: 1\n"
        "Finished jobid: 1 (Rule: fastp)\n1 of 2 steps (50%) done\n"
    )
    run = read_snakemake_log(log)
    launcher = SnakemakeLauncher(SlurmClient(), partition="pipelines")
    inside = launcher._inside_job(
        LaunchHandle(
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
    )
    [step] = launcher._steps(run, WorkArea(root=tmp_path), inside_job=inside)
    assert (step.step, step.slurm_job_id, step.state) == ("fastp", "77", "COMPLETED")


def test_head_jobs_run_snakemake_from_its_own_environment_unless_configured(monkeypatch, tmp_path: Path) -> None:
    from django.conf import settings

    from core.config import EMGConfig
    from workflows.pipelines.launchers.snakemake import ENGINE_PYTHON, snakemake_python

    expected = str(ENGINE_PYTHON) if ENGINE_PYTHON.is_file() else sys.executable
    assert SnakemakeLauncher(SlurmClient(), partition="pipelines").python == expected
    monkeypatch.setenv("EMG_PIPELINES__SNAKEMAKE_PYTHON", str(tmp_path / "python"))
    monkeypatch.setattr(settings, "EMG_CONFIG", EMGConfig())
    assert snakemake_python() == str(tmp_path / "python")


@pytest.mark.parametrize("python", [sys.executable, str(ENGINE_PYTHON)])
def test_entry_script_runs_snakemake_in_either_environment(python: str) -> None:
    if not Path(python).is_file():
        pytest.skip(f"{python} is not set up (scripts/setup.sh makes it)")
    ran = subprocess.run([python, str(ENTRY_SCRIPT), "--version"], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and ran.stdout.strip()[0].isdigit(), ran.stderr


def test_entry_script_exits_with_snakemakes_own_code(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, str(ENTRY_SCRIPT), "--version"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.strip()[0].isdigit()
    missing = subprocess.run(
        [sys.executable, str(ENTRY_SCRIPT), "--snakefile", str(tmp_path / "absent"), "--cores", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert missing.returncode == 1
    assert "absent" in missing.stdout + missing.stderr


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (3, 3), ("a message", 1)])
def test_exit_code_of_system_exit(code, status) -> None:
    assert exit_code(code) == status
