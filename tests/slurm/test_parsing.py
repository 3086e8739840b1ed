"""The pure parts of the Slurm client: state folding, Slurm's text formats, scripts. No cluster needed."""

from __future__ import annotations

from datetime import datetime

import pytest

from workflows.slurm import ArraySpec, JobSpec, JobState, SlurmJob
from workflows.slurm.cli import sbatch_command
from workflows.slurm.errors import (
    InvalidPartitionError,
    ResourceRequestError,
    SlurmSubmissionError,
    SlurmUnavailableError,
    submission_error,
)
from workflows.slurm.parsing import expand_array_id, parse_duration, parse_exit_code, parse_size, parse_time
from workflows.slurm.script import batch_script


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("PENDING", JobState.PENDING),
        ("CG", JobState.RUNNING),
        ("CANCELLED by 0", JobState.CANCELLED),
        ("OUT_OF_MEMORY", JobState.OUT_OF_MEMORY),
        ("OUT_OF_ME+", JobState.OUT_OF_MEMORY),
        ("TIMEOUT", JobState.TIMEOUT),
        ("NODE_FAIL", JobState.NODE_FAIL),
        ("REQUEUED", JobState.PENDING),
        ("WHATEVER", JobState.UNKNOWN),
    ],
)
def test_states_fold_into_one_enum(raw: str, state: JobState) -> None:
    assert JobState.from_slurm(raw) is state


def test_terminal_and_success() -> None:
    assert JobState.COMPLETED.is_terminal and JobState.COMPLETED.is_success
    assert JobState.TIMEOUT.is_terminal and not JobState.TIMEOUT.is_success
    assert not JobState.RUNNING.is_terminal and not JobState.UNKNOWN.is_terminal
    assert JobState.OUT_OF_MEMORY == "out_of_memory"


def test_formats() -> None:
    assert parse_duration("1-02:03:04") == 93784
    assert parse_duration("3:05") == 185
    assert parse_duration("Unknown") is None
    assert parse_size("63900K") == 63900 * 1024
    assert parse_size("1.5G") == int(1.5 * 1024**3)
    assert parse_size("") is None
    assert parse_exit_code("3:0") == (3, 0)
    assert parse_exit_code("0:15") == (0, 15)
    assert parse_time("2026-11-25T06:53:01") == datetime(2026, 11, 25, 6, 53, 1)
    assert parse_time("N/A") is None


def test_pending_array_ranges_expand() -> None:
    assert expand_array_id("12_[0-2,5,8-12:2%4]") == ["12_0", "12_1", "12_2", "12_5", "12_8", "12_10", "12_12"]
    assert expand_array_id("12_3") == ["12_3"]


def test_array_expressions() -> None:
    assert ArraySpec(indices=range(500)).expression() == "0-499"
    assert ArraySpec(indices=range(1, 10, 3), max_parallel=2).expression() == "1-7:3%2"
    assert ArraySpec(indices="1,3,5").expression() == "1,3,5"


def test_environment_goes_after_sbatch_header() -> None:
    script = "#!/bin/bash\n#SBATCH --comment=x\n\necho $A\n"
    text = batch_script(JobSpec(name="n", script=script, environment={"A": "it's"}))
    assert text == "#!/bin/bash\n#SBATCH --comment=x\n\nexport A='it'\"'\"'s'\necho $A\n"
    with pytest.raises(ValueError):
        batch_script(JobSpec(name="n", command="true", environment={"BAD-NAME": "x"}))


def test_job_spec_needs_command_or_script() -> None:
    with pytest.raises(ValueError):
        JobSpec(name="n")
    with pytest.raises(ValueError):
        JobSpec(name="n", command="true", script="#!/bin/sh\ntrue\n")


def test_sbatch_command_line() -> None:
    spec = JobSpec(name="n", command="true", partition="p", cpus=2, memory_mb=100, time_limit_minutes=5)
    spec.dependencies = ["1", "2"]
    assert sbatch_command(spec) == [
        "sbatch",
        "--parsable",
        "--job-name=n",
        "--partition=p",
        "--cpus-per-task=2",
        "--mem=100M",
        "--time=5",
        "--dependency=afterok:1:2",
        "--kill-on-invalid-dep=yes",
    ]


def test_sbatch_messages_become_typed_errors() -> None:
    error = submission_error("sbatch: error: Batch job submission failed: Invalid partition name specified\n")
    assert isinstance(error, InvalidPartitionError)
    assert error.message == "Batch job submission failed: Invalid partition name specified"
    error = submission_error(
        "sbatch: error: Memory specification can not be satisfied\n"
        "sbatch: error: Batch job submission failed: Requested node configuration is not available\n"
    )
    assert isinstance(error, ResourceRequestError)
    assert isinstance(submission_error("sbatch: error: something new"), SlurmSubmissionError)
    assert isinstance(
        submission_error("sbatch: error: Batch job submission failed: Unable to contact slurm controller"),
        SlurmUnavailableError,
    )


def test_a_finished_job_keeps_its_name_while_accounting_shows_a_placeholder() -> None:
    """slurmdbd names a job "allocation" when a step's record reaches it before the job's (seen on CI)."""
    from workflows.slurm.cli import merge_live_and_accounted

    live = SlurmJob(job_id="240", name="test-success", state=JobState.COMPLETED, raw_state="COMPLETED")
    accounted = SlurmJob(
        job_id="240",
        name="allocation",
        state=JobState.COMPLETED,
        raw_state="COMPLETED",
        exit_code=0,
        elapsed_seconds=3,
        accounted=True,
    )
    job = merge_live_and_accounted({"240": live}, {"240": accounted})["240"]
    assert (job.name, job.exit_code, job.elapsed_seconds, job.accounted) == ("test-success", 0, 3, True)
    # gone from squeue (MinJobAge): accounting's record is all there is
    assert merge_live_and_accounted({}, {"240": accounted})["240"] is accounted
    # still running: the live record, with what accounting adds
    running = SlurmJob(job_id="241", name="long", state=JobState.RUNNING, raw_state="RUNNING")
    assert merge_live_and_accounted({"241": running}, {})["241"] is running


def test_a_reused_id_keeps_the_newest_submission_not_an_older_array_task() -> None:
    """Seen here: two dev clusters sharing one slurmdbd gave id 218 to an array and, later, to a head job.

    The older array task made the client take 218 for an array's own id and drop it, so a finished
    pipeline read as never started.
    """
    from workflows.slurm.cli import merge_live_and_accounted, parse_sacct

    output = (
        "218_0|COMPLETED|0:0|None|1||2026-11-30T05:40:47|2026-11-30T05:40:47|2026-11-30T05:40:48|emgnode1|move-data\n"
        "218_0.batch|COMPLETED|0:0||1||2026-11-30T05:40:47|2026-11-30T05:40:47|2026-11-30T05:40:48|emgnode1|batch\n"
        "218|COMPLETED|0:0|None|76||2026-11-30T06:08:22|2026-11-30T06:08:23|2026-11-30T06:09:39|emgnode2|"
        "raw-reads-MGYA00000063-head\n"
        "218.batch|COMPLETED|0:0||76|125540K|2026-11-30T06:08:23|2026-11-30T06:08:23|2026-11-30T06:09:39|emgnode2|batch\n"
    )
    jobs = merge_live_and_accounted({}, parse_sacct(output))
    assert list(jobs) == ["218"]
    assert (jobs["218"].name, jobs["218"].state, jobs["218"].max_rss_bytes, jobs["218"].node) == (
        "raw-reads-MGYA00000063-head",
        JobState.COMPLETED,
        125540 * 1024,
        "emgnode2",
    )
    # the tasks of one array, submitted together, all stay
    array = (
        "300_0|COMPLETED|0:0|None|1||2026-11-30T06:00:00|2026-11-30T06:00:01|2026-11-30T06:00:02|emgnode1|move-data\n"
        "300_1|FAILED|1:0|NonZeroExitCode|1||2026-11-30T06:00:00|2026-11-30T06:00:01|2026-11-30T06:00:02|emgnode1|move-data\n"
    )
    assert sorted(merge_live_and_accounted({}, parse_sacct(array))) == ["300_0", "300_1"]


def test_the_node_is_read_from_squeue_and_sacct_and_none_when_unassigned() -> None:
    """Where a job runs (or ran) is Slurm's NodeList, as is; a job on no node yet has none, not a guess."""
    from workflows.slurm.cli import parse_sacct, parse_squeue

    live = parse_squeue(
        "501|RUNNING|None|2026-12-01T10:00:00|2026-12-01T10:00:01|2026-12-01T11:00:01|1:05|emgnode3|head|of|it\n"
        "502|PENDING|Priority|2026-12-01T10:00:00|N/A|N/A|0:00||waiting\n"
        "503_[0-1]|PENDING|Dependency|2026-12-01T10:00:00|N/A|N/A|0:00||array\n"
        "504|RUNNING|None|2026-12-01T10:00:00|2026-12-01T10:00:01|N/A|0:10|emgnode[1-2]|wide\n"
    )
    assert (live["501"].node, live["501"].name, live["501"].elapsed_seconds) == ("emgnode3", "head|of|it", 65)
    assert live["502"].node is None and live["503_0"].node is None and live["503_1"].node is None
    assert live["504"].node == "emgnode[1-2]"

    accounted = parse_sacct(
        "601|COMPLETED|0:0|None|12||2026-12-01T10:00:00|2026-12-01T10:00:01|2026-12-01T10:00:13|emgnode2|a|b\n"
        "601.batch|COMPLETED|0:0||12|2048K|2026-12-01T10:00:01|2026-12-01T10:00:01|2026-12-01T10:00:13|emgnode2|batch\n"
        "602|PENDING|0:0|None|0||2026-12-01T10:00:00|Unknown|Unknown|None assigned|queued\n"
        "603|CANCELLED by 0|0:0|None|0||2026-12-01T10:00:00|None|2026-12-01T10:00:05|None assigned|never-ran\n"
    )
    assert (accounted["601"].node, accounted["601"].name, accounted["601"].max_rss_bytes) == (
        "emgnode2",
        "a|b",
        2048 * 1024,
    )
    assert accounted["602"].node is None and accounted["603"].node is None


def test_the_merged_record_keeps_accountings_node_once_terminal_else_the_live_one() -> None:
    from workflows.slurm.cli import merge_live_and_accounted

    def job(job_id: str, state: JobState, node: str | None, accounted: bool = False) -> SlurmJob:
        return SlurmJob(job_id=job_id, name="n", state=state, raw_state=state.name, node=node, accounted=accounted)

    merged = merge_live_and_accounted(
        {"1": job("1", JobState.COMPLETED, "emgnode1"), "2": job("2", JobState.RUNNING, "emgnode2")},
        {"1": job("1", JobState.COMPLETED, "emgnode3", accounted=True), "2": job("2", JobState.RUNNING, None)},
    )
    assert (merged["1"].node, merged["2"].node) == ("emgnode3", "emgnode2")
    # accounting has no node yet for a terminal job squeue still shows: the controller's word stands
    merged = merge_live_and_accounted(
        {"3": job("3", JobState.FAILED, "emgnode1")}, {"3": job("3", JobState.FAILED, None, accounted=True)}
    )
    assert merged["3"].node == "emgnode1"
    # gone from squeue: accounting's node
    assert merge_live_and_accounted({}, {"4": job("4", JobState.COMPLETED, "emgnode2")})["4"].node == "emgnode2"
