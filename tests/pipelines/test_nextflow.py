"""Nextflow: the command and config the launcher builds, and the trace parser on real-format traces."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.config import EMGConfig, NextflowConfig
from workflows.pipelines.definition import Engine, RunInputs
from workflows.pipelines.launchers.nextflow import (
    TRACE_FIELDS,
    NextflowLauncher,
    nextflow_command,
    nextflow_slurm_config,
    nextflow_step_records,
    task_comment,
)
from workflows.pipelines.launchers.nextflow_log import parse_nextflow_log, read_nextflow_log, slurm_job_name
from workflows.pipelines.launchers.nextflow_trace import (
    TaskStatus,
    TraceFormatError,
    merge_launches,
    parse_duration,
    parse_memory,
    parse_percent,
    parse_trace,
    parse_trace_text,
    summarise,
)
from workflows.pipelines.launchers.progress import PipelineState
from workflows.pipelines.launchers.records import LaunchHandle
from workflows.pipelines.workarea import WorkArea
from workflows.slurm import JobSpec

DATA = Path(__file__).parent / "data"
RUNNING = DATA / "nextflow" / "running"


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
    assert summary.running == 2  # RUNNING and SUBMITTED, written when the run ended
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
        executor=NextflowConfig(queue_size=7),
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
    assert f"clusterOptions = '--account=emg --comment={task_comment(work)}'" in config
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


# ---- what Nextflow writes while a run goes on -----------------------------------------------------


def test_nextflow_log_names_submitted_tasks_with_their_slurm_jobs() -> None:
    log = read_nextflow_log(RUNNING / "nextflow-001.log")
    assert {task.name: task.slurm_job_id for task in log.submitted} == {
        "FASTP (ERR9000001)": "2001",
        "HMMBUILD": "2002",
        "MEGAHIT (ERR9000001)": "2003",
        "SEQKIT_STATS (ERR9000001)": "2004",
    }  # PRODIGAL's line is cut mid-write: not read as job "20"
    assert log.tasks["c9/41ab02"].work_dir.endswith("/c9/41ab02f7e6d5c4b3a2918f7e6d5c4b")


def test_console_log_alone_names_tasks_without_jobs_and_cached_ones() -> None:
    console = read_nextflow_log(RUNNING / "launch-001.log")
    assert [(t.hash, t.name, t.slurm_job_id) for t in console.submitted][2] == (
        "c9/41ab02",
        "MEGAHIT (ERR9000001)",
        None,
    )
    both = read_nextflow_log(RUNNING / "nextflow-001.log", RUNNING / "launch-001.log")
    assert both.tasks["c9/41ab02"].slurm_job_id == "2003"
    cached = parse_nextflow_log("[3a/7f21c0] Cached process > FASTP (ERR9000001)\n")
    assert cached.tasks["3a/7f21c0"].cached and cached.submitted == []


def test_tasks_in_flight_are_submitted_but_not_yet_in_the_trace() -> None:
    trace = parse_trace(RUNNING / "trace-001.txt", launch_attempt=1)
    flying = NextflowLauncher.in_flight(read_nextflow_log(RUNNING / "nextflow-001.log"), trace)
    assert [(t.name, t.slurm_job_id) for t in flying] == [
        ("MEGAHIT (ERR9000001)", "2003"),
        ("SEQKIT_STATS (ERR9000001)", "2004"),
    ]
    # the trace alone would say 2 of 2 done
    assert (summarise(trace).done, summarise(trace).total) == (2, 2)


def test_slurm_job_name_as_nextflow_gives_it() -> None:
    # AbstractGridExecutorTest 'should remove invalid chars from name'
    assert slurm_job_name("task 90 = (foo:bar/baz)") == "nf-task_90___(foo_bar_baz)"
    assert slurm_job_name("FASTP (ERR9000001)") == "nf-FASTP_(ERR9000001)"
    assert slurm_job_name("abcd" * 100) == ("nf-" + "abcd" * 100)[:256]


# ---- a trace read while being written -------------------------------------------------------------


def test_a_row_cut_anywhere_is_skipped_never_misread() -> None:
    text = (RUNNING / "trace-001.txt").read_text()
    whole = parse_trace_text(text)
    last_row_start = text.rstrip("\n").rfind("\n") + 1
    for cut in range(last_row_start, len(text)):  # every prefix up to, not including, the final newline
        assert parse_trace_text(text[:cut]) == whole[:1], cut
    assert parse_trace_text(text) == whole
    # a hole a network file system shows before the data arrives
    assert parse_trace_text(text[:last_row_start] + "\0" * 40 + "\n") == whole[:1]
    assert parse_trace_text(text[:10]) == []  # the header itself not whole yet


def test_a_malformed_whole_row_raises_and_poll_keeps_the_last_reading(tmp_path: Path) -> None:
    trace = tmp_path / "trace-001.txt"
    trace.write_text((RUNNING / "trace-001.txt").read_text())
    launcher = NextflowLauncher(slurm=None, partition="pipelines", executor=NextflowConfig())
    first = launcher.read_trace(trace, 1)
    assert len(first) == 2
    trace.write_text(trace.read_text() + "3\tc9/41ab02\t2003\tMEGAHIT\tCOMPLETED\n")  # 5 columns of 15
    with pytest.raises(TraceFormatError, match="line 4"):
        parse_trace(trace)
    assert launcher.read_trace(trace, 1) == first


# ---- launches merged in order ---------------------------------------------------------------------


def test_launches_merged_by_attempt_not_task_id() -> None:
    first = parse_trace(DATA / "trace_failed.txt", launch_attempt=1)
    second = parse_trace(DATA / "trace_resumed.txt", launch_attempt=2)
    merged = {task.name: task for task in merge_launches(second + first)}
    # attempt 1's PRODIGAL failed as task 5; attempt 2 ran it as task 4 and it completed
    prodigal = merged["PRODIGAL (ERR9000002)"]
    assert (prodigal.status, prodigal.native_id, prodigal.launch_attempt) == (TaskStatus.COMPLETED, "1210", 2)
    # FASTP was CACHED in attempt 2: its job is attempt 1's, which made the outputs
    fastp = merged["FASTP (ERR9000002)"]
    assert (fastp.status, fastp.native_id, fastp.launch_attempt) == (TaskStatus.COMPLETED, "1101", 1)


def test_provenance_records_over_launches(tmp_path: Path) -> None:
    work = WorkArea.for_analysis("MGYA00000045", work_root=tmp_path, keep=True)
    (work.root / "pipeline_info").mkdir(parents=True)
    shutil.copy(DATA / "trace_failed.txt", work.root / "pipeline_info/trace-001.txt")
    shutil.copy(DATA / "trace_resumed.txt", work.root / "pipeline_info/trace-002.txt")
    jobs = {job.step: job for job in nextflow_step_records(work)}
    assert (jobs["PRODIGAL (ERR9000002)"].job_id, jobs["PRODIGAL (ERR9000002)"].state) == ("1210", "COMPLETED")
    assert (jobs["MEGAHIT (ERR9000002)"].job_id, jobs["MEGAHIT (ERR9000002)"].state) == ("1103", "COMPLETED")
    assert jobs["MEGAHIT (ERR9000002)"].submitted_at == datetime(2024, 5, 1, 11, 0, 16, 511000)


def test_cached_step_names_no_job_of_this_launch() -> None:
    cached = parse_trace(DATA / "trace_resumed.txt")[0]
    step = NextflowLauncher._step(cached)
    assert (step.state, step.slurm_job_id) == ("CACHED", None)


# ---- configuration --------------------------------------------------------------------------------


def test_executor_pace_from_the_environment_reaches_the_config(tmp_path: Path, paired_reads, monkeypatch) -> None:
    from django.conf import settings

    from workflows.pipelines.raw_reads_nf import RawReadsNextflowPipeline

    monkeypatch.setenv("EMG_PIPELINES__NEXTFLOW__POLL_INTERVAL_SECONDS", "7")
    monkeypatch.setenv("EMG_PIPELINES__NEXTFLOW__QUEUE_STAT_INTERVAL_SECONDS", "31")
    monkeypatch.setenv("EMG_PIPELINES__NEXTFLOW__SUBMIT_RATE_LIMIT", "50/2min")
    monkeypatch.setenv("EMG_PIPELINES__NEXTFLOW__QUEUE_SIZE", "3")
    monkeypatch.setattr(settings, "EMG_CONFIG", EMGConfig())
    pipeline = RawReadsNextflowPipeline()
    work = WorkArea.for_analysis("MGYA00000046", work_root=tmp_path, keep=True)
    launcher = NextflowLauncher(slurm=None, partition="pipelines", account="emg")
    launcher.prepare(pipeline, RunInputs(fastq=paired_reads), pipeline.default_parameters(), work, attempt=1)
    config = (work.root / "pipeline/nextflow-slurm.config").read_text()
    assert "pollInterval = '7 sec'" in config
    assert "queueStatInterval = '31 sec'" in config
    assert "submitRateLimit = '50/2min'" in config
    assert "queueSize = 3" in config


# ---- on the real cluster --------------------------------------------------------------------------


def _sleeper(slurm_client, name: str, comment: str | None = None) -> str:
    extra = (f"--comment={comment}",) if comment else ()
    return slurm_client.submit(
        JobSpec(name=name, command="sleep 300", time_limit_minutes=10, stdout="/dev/null", extra_args=extra)
    )


@pytest.mark.slurm
def test_poll_and_cancel_a_running_nextflow_launch_on_slurm(tmp_path: Path, slurm_client) -> None:
    """A head job and its tasks as Nextflow leaves them: two ended (trace), two in flight (log), one unlogged."""
    work = WorkArea.for_analysis("MGYA00000047", work_root=tmp_path, keep=True)
    work.create()
    comment = task_comment(work)
    head = _sleeper(slurm_client, "raw-reads-nf-MGYA00000047-head")
    megahit = _sleeper(slurm_client, slurm_job_name("MEGAHIT (ERR9000001)"), comment)
    seqkit = _sleeper(slurm_client, slurm_job_name("SEQKIT_STATS (ERR9000001)"), comment)
    unlogged = _sleeper(slurm_client, slurm_job_name("PRODIGAL (ERR9000001)"), comment)  # sbatch answered, then kill -9
    try:
        (work.root / "pipeline_info").mkdir(exist_ok=True)
        shutil.copy(RUNNING / "trace-001.txt", work.root / "pipeline_info/trace-001.txt")
        log = (RUNNING / "nextflow-001.log").read_text()
        log = log.replace("jobId: 2003;", f"jobId: {megahit};").replace("jobId: 2004;", f"jobId: {seqkit};")
        (work.logs_dir / "nextflow-001.log").write_text(log)
        handle = LaunchHandle(
            pipeline_name="raw-reads-nf",
            pipeline_version="1.0.0",
            engine=Engine.NEXTFLOW,
            work_dir=work.root,
            attempt=1,
            head_job_id=head,
            head_log=work.logs_dir / "launch-001.log",
            launched_at=datetime.now(UTC),
        )
        launcher = NextflowLauncher(slurm_client, partition="pipelines")
        progress = launcher.poll(handle)
        assert progress.state in (PipelineState.PENDING, PipelineState.RUNNING)
        assert (progress.steps_done, progress.steps_total) == (2, None)
        states = {step.step: (step.state, step.slurm_job_id) for step in progress.steps}
        assert states["MEGAHIT (ERR9000001)"][1] == megahit
        assert states["MEGAHIT (ERR9000001)"][0] in ("SUBMITTED", "RUNNING")
        assert states["FASTP (ERR9000001)"] == ("COMPLETED", "2001")
        assert {megahit, seqkit} <= set(progress.slurm_job_ids)

        launcher.cancel(handle)
        ended = slurm_client.wait([head, megahit, seqkit, unlogged], timeout_seconds=60)
        assert {job_id: job.state.name for job_id, job in ended.items()} == dict.fromkeys(
            [head, megahit, seqkit, unlogged], "CANCELLED"
        )
    finally:
        slurm_client.cancel([head, megahit, seqkit, unlogged])


@pytest.mark.slurm
def test_head_job_carries_the_configured_account(tmp_path: Path, paired_reads, slurm_client) -> None:
    """The head job is submitted with the launcher's account; the tasks get it through clusterOptions."""
    from workflows.pipelines.raw_reads_nf import RawReadsNextflowPipeline

    pipeline = RawReadsNextflowPipeline()
    work = WorkArea.for_analysis("MGYA00000048", work_root=tmp_path, keep=True)
    launcher = NextflowLauncher(slurm_client, partition="pipelines", account="emg", nextflow="/bin/true")
    handle = launcher.launch(pipeline, inputs=RunInputs(fastq=paired_reads), work_area=work)
    config = (work.root / "pipeline/nextflow-slurm.config").read_text()
    assert f"clusterOptions = '--account=emg --comment={task_comment(work)}'" in config
    slurm_client.wait([handle.head_job_id], timeout_seconds=120)
    account = ""
    for _ in range(20):
        account = subprocess.run(
            ["sacct", "-n", "-X", "-P", "-o", "Account", "-j", handle.head_job_id], capture_output=True, text=True
        ).stdout.strip()
        if account:
            break
        time.sleep(0.5)
    assert account == "emg"
