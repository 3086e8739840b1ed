"""Nextflow: the command and config the launcher builds, and the trace parser on real-format traces."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from workflows.pipelines.definition import RunInputs
from workflows.pipelines.launchers.nextflow import (
    TRACE_FIELDS,
    NextflowLauncher,
    nextflow_command,
    nextflow_slurm_config,
)
from workflows.pipelines.launchers.nextflow_trace import (
    TaskStatus,
    parse_duration,
    parse_memory,
    parse_percent,
    parse_trace,
    parse_trace_text,
    summarise,
)
from workflows.pipelines.launchers.progress import PipelineState
from workflows.pipelines.workarea import WorkArea

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1m 3s", 63.0),
        ("2h 10m 5s", 7805.0),
        ("345ms", 0.345),
        ("4.2s", 4.2),
        ("1m", 60.0),
        ("1d 2h", 93600.0),
        ("63000", 63.0),
        ("-", None),
        ("", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1.2 GB", int(1.2 * 1024**3)),
        ("980 MB", 980 * 1024**2),
        ("59.1 KB", int(59.1 * 1024)),
        ("512 B", 512),
        ("1.5 TB", int(1.5 * 1024**4)),
        ("0", 0),
        ("-", None),
    ],
)
def test_parse_memory(text: str, size: int | None) -> None:
    assert parse_memory(text) == size


def test_parse_percent_and_bad_values() -> None:
    assert parse_percent("98.5%") == 98.5
    assert parse_percent("-") is None
    with pytest.raises(ValueError):
        parse_duration("soon")
    with pytest.raises(ValueError):
        parse_memory("a lot")


def test_completed_trace_records() -> None:
    records = parse_trace(DATA / "trace_completed.txt")
    assert [r.task_id for r in records] == [1, 2, 3, 4, 5, 6]
    megahit = records[2]
    assert megahit.process == "MEGAHIT"
    assert megahit.tag == "ERR9000001"
    assert megahit.native_id == "1044"
    assert megahit.status == TaskStatus.COMPLETED
    assert megahit.exit == 0
    assert megahit.submit == datetime(2024, 5, 1, 10, 0, 16, 20000)
    assert megahit.duration_seconds == 63.0
    assert megahit.realtime_seconds == 48.6
    assert megahit.cpu_percent == 196.4
    assert megahit.peak_rss_bytes == int(912.4 * 1024**2)
    assert megahit.wchar_bytes == 31 * 1024**2
    hmmbuild = records[1]
    assert hmmbuild.process == "HMMBUILD" and hmmbuild.tag is None
    assert hmmbuild.realtime_seconds == 0.345
    summary = summarise(records)
    assert (summary.done, summary.total, summary.cached, summary.failed) == (6, 6, 0, [])


def test_failed_trace_latest_attempt_and_aborted() -> None:
    summary = summarise(parse_trace(DATA / "trace_failed.txt"))
    # PRODIGAL was retried once (tasks 4 and 5): the latest attempt counts, once.
    assert summary.total == 5
    assert summary.done == 3
    failed = {task.name: task for task in summary.failed}
    assert failed["PRODIGAL (ERR9000002)"].task_id == 5
    assert failed["PRODIGAL (ERR9000002)"].exit == 15
    aborted = failed["SEQKIT_STATS (ERR9000002)"]
    assert aborted.status == TaskStatus.ABORTED
    assert aborted.native_id is None and aborted.exit is None and aborted.duration_seconds is None


def test_resumed_trace_counts_cached_as_done() -> None:
    summary = summarise(parse_trace(DATA / "trace_resumed.txt"))
    assert summary.cached == 3
    assert summary.done == 6  # 3 cached + 3 completed
    assert summary.total == 8
    assert summary.running == 2  # RUNNING and SUBMITTED
    long_step = next(t for t in summary.tasks if t.process == "LONG_STEP")
    assert long_step.duration_seconds == 7805.0
    assert long_step.rchar_bytes == int(1.5 * 1024**4)
    assert long_step.wchar_bytes == 512


def test_partial_last_line_is_skipped_and_extra_columns_kept() -> None:
    header = "\t".join(TRACE_FIELDS)
    row = "\t".join(
        ["1", "ab/cdef01", "77", "FASTP (r)", "COMPLETED", "0", "2024-05-01 10:00:01.123", "2s", "1s", "99%"]
        + ["1 GB", "2 GB", "0", "0", "/w/ab/cdef01"]
    )
    records = parse_trace_text(f"{header}\n{row}\n2\tcd/ef")
    assert len(records) == 1
    assert records[0].workdir == "/w/ab/cdef01"
    with pytest.raises(ValueError):
        parse_trace_text("not\ta\ttrace\n")


def test_generated_slurm_config(tmp_path: Path) -> None:
    config = nextflow_slurm_config(
        queue="pipelines",
        trace_file=tmp_path / "pipeline_info/trace-001.txt",
        work_dir=tmp_path / "nf-work",
        cluster_options="--account=emg",
        queue_size=7,
    )
    assert "executor = 'slurm'" in config
    assert "queue = 'pipelines'" in config
    assert "clusterOptions = '--account=emg'" in config
    assert "queueSize = 7" in config
    assert f"file = '{tmp_path}/pipeline_info/trace-001.txt'" in config
    assert "fields = 'task_id,hash,native_id,name,status,exit,submit,duration,realtime,%cpu,peak_rss," in config
    assert f"workDir = '{tmp_path}/nf-work'" in config
    assert "profiles {\n    slurm {" in config
    # Groovy-quoted: a quote in a value cannot break out of the string.
    assert "clusterOptions = '--comment=it\\'s'" in nextflow_slurm_config(
        queue="q", trace_file=tmp_path / "t", work_dir=tmp_path, cluster_options="--comment=it's"
    )


def test_nextflow_command(tmp_path: Path) -> None:
    command = nextflow_command(
        nextflow="nextflow",
        pipeline="nf-core/mag",
        revision="3.0.0",
        profile="slurm",
        config_file=tmp_path / "c.config",
        params_file=tmp_path / "params.json",
        work_dir=tmp_path / "nf-work",
        trace_file=tmp_path / "trace.txt",
        log_file=tmp_path / "nextflow.log",
    )
    assert command[:5] == ["nextflow", "-log", str(tmp_path / "nextflow.log"), "run", "nf-core/mag"]
    joined = " ".join(command)
    assert "-r 3.0.0 -profile slurm" in joined
    assert f"-c {tmp_path}/c.config -params-file {tmp_path}/params.json -work-dir {tmp_path}/nf-work" in joined
    assert f"-resume -with-trace {tmp_path}/trace.txt -ansi-log false" in joined


def test_launcher_prepares_config_params_and_command_in_the_work_area(tmp_path: Path, paired_reads) -> None:
    from workflows.pipelines.raw_reads_nf import RawReadsNextflowPipeline

    pipeline = RawReadsNextflowPipeline()
    work = WorkArea.for_analysis("MGYA00000042", work_root=tmp_path, keep=True)
    launcher = NextflowLauncher(slurm=None, partition="pipelines", account="emg", nextflow="/opt/nf/nextflow")
    command = launcher.prepare(pipeline, RunInputs(fastq=paired_reads), pipeline.default_parameters(), work, attempt=2)
    assert command[0] == "/opt/nf/nextflow"
    assert command[command.index("run") + 1] == str(pipeline.entry_point())
    assert "-r" not in command  # a local project has no revision
    assert command[command.index("-with-trace") + 1] == str(work.root / "pipeline_info/trace-002.txt")
    params = work.read_json("pipeline/params.json")
    assert params["input"] == [str(p) for p in paired_reads]
    assert params["outdir"] == str(work.results_dir)
    config = (work.root / "pipeline/nextflow-slurm.config").read_text()
    assert "clusterOptions = '--account=emg'" in config
    script = launcher.head_script(command, work)
    assert f"export NXF_HOME={work.root}/.nextflow-home" in script
    assert f"cd {work.root}" in script
    # everything the launcher wrote is inside the work area
    assert all(work.root in p.parents for p in work.root.rglob("*"))


def test_failed_task_log_tail_from_its_work_dir(tmp_path: Path) -> None:
    work = WorkArea.for_analysis("MGYA00000043", work_root=tmp_path, keep=True)
    task_dir = work.root / "nf-work" / "f2" / "11d0e8a9b8c7d6e5f4a3b2c1d0e9f8a7"
    task_dir.mkdir(parents=True)
    (task_dir / ".command.err").write_text("Invalid translation table specified.\n")
    failed = summarise(parse_trace(DATA / "trace_failed.txt")).failed[0]
    assert "Invalid translation table" in NextflowLauncher._task_log_tail(failed, work)


@pytest.mark.slurm
@pytest.mark.e2e
@pytest.mark.skipif(
    shutil.which("nextflow") is None,
    reason="nextflow is not on PATH: it cannot be installed on these machines (no Debian package; the PyPI "
    "launcher must download its jar, which fails offline). Command, config and trace parsing are tested above.",
)
def test_nextflow_end_to_end_on_slurm(tmp_path: Path, paired_reads, slurm_client) -> None:
    from workflows.pipelines.raw_reads_nf import RawReadsNextflowPipeline

    pipeline = RawReadsNextflowPipeline()
    work = WorkArea.for_analysis("MGYA00000044", work_root=tmp_path, keep=True)
    launcher = NextflowLauncher(slurm_client, partition="pipelines")
    handle = launcher.launch(pipeline, inputs=RunInputs(fastq=paired_reads), work_area=work)
    progress = launcher.wait(handle, timeout_seconds=1200)
    assert progress.state == PipelineState.COMPLETED, progress.log_tail
    assert progress.steps_done == progress.steps_total > 0
    assert all(step.slurm_job_id for step in progress.steps)
    assert (work.results_dir / "assembly/contigs.fasta").is_file()
    # a relaunch resumes: every task comes from the cache
    again = launcher.wait(launcher.launch(pipeline, inputs=RunInputs(fastq=paired_reads), work_area=work), 600)
    assert again.state == PipelineState.COMPLETED
    assert {step.state for step in again.steps} == {"CACHED"}
