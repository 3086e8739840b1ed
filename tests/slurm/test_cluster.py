"""The Slurm client against the real single-node cluster (``task slurm:up``): no mocks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workflows.slurm import (
    InvalidPartitionError,
    JobSpec,
    JobState,
    ResourceRequestError,
    SlurmClient,
    SlurmSubmissionError,
    SlurmWaitTimeout,
)

pytestmark = pytest.mark.slurm

WAIT = {"timeout_seconds": 60, "poll": 0.2}


def test_job_succeeds_with_accounting(slurm_client: SlurmClient, tmp_path: Path) -> None:
    command = (
        f'{sys.executable} -c "import os, time; block = bytearray(60_000_000); time.sleep(2.5); '
        "print(os.environ['GREETING'], os.getcwd())\""
    )
    job_id = slurm_client.submit(
        JobSpec(
            name="test-success",
            command=command,
            working_directory=tmp_path,
            stdout=tmp_path / "out.txt",
            stderr=tmp_path / "err.txt",
            environment={"GREETING": "hello, world"},
            memory_mb=500,
        )
    )
    assert job_id.isdigit()

    job = slurm_client.wait([job_id], **WAIT)[job_id]

    assert job.state is JobState.COMPLETED and job.state.is_success
    assert job.exit_code == 0
    assert job.accounted
    assert job.name == "test-success"
    assert job.elapsed_seconds is not None and job.elapsed_seconds >= 2
    assert job.start_time is not None and job.end_time is not None and job.end_time >= job.start_time
    assert job.max_rss_bytes is not None and job.max_rss_bytes > 50_000_000
    assert (tmp_path / "out.txt").read_text() == f"hello, world {tmp_path}\n"


def test_job_that_exits_non_zero_fails_and_keeps_its_exit_code(slurm_client: SlurmClient) -> None:
    job_id = slurm_client.submit(JobSpec(name="test-fail", command="echo oops >&2; exit 3", stderr=Path("/dev/null")))

    job = slurm_client.wait(job_id, **WAIT)[job_id]

    assert job.state is JobState.FAILED and not job.state.is_success
    assert job.exit_code == 3
    assert job.raw_state == "FAILED"


def test_cancelled_job(slurm_client: SlurmClient) -> None:
    job_id = slurm_client.submit(JobSpec(name="test-cancel", command="sleep 120", stdout=Path("/dev/null")))
    deadline = time.monotonic() + 30
    while slurm_client.state(job_id).state is not JobState.RUNNING:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.2)

    slurm_client.cancel([job_id])
    job = slurm_client.wait([job_id], **WAIT)[job_id]

    assert job.state is JobState.CANCELLED
    assert job.state.is_terminal and not job.state.is_success
    assert job.raw_state.startswith("CANCELLED")
    assert job.signal == 15  # SIGTERM


def test_array_tasks_report_individually(slurm_client: SlurmClient, tmp_path: Path) -> None:
    array_id = slurm_client.submit_array(
        JobSpec(
            name="test-array",
            command='echo "task $SLURM_ARRAY_TASK_ID"; exit $((SLURM_ARRAY_TASK_ID % 2))',
            stdout=tmp_path / "task-%a.out",
        ),
        range(4),
    )

    jobs = slurm_client.wait([array_id], **WAIT)

    assert sorted(jobs) == [f"{array_id}_{index}" for index in range(4)]
    for index in range(4):
        task = jobs[f"{array_id}_{index}"]
        assert task.array_job_id == array_id and task.array_task_id == index
        assert task.exit_code == index % 2
        assert task.state is (JobState.COMPLETED if index % 2 == 0 else JobState.FAILED)
        assert (tmp_path / f"task-{index}.out").read_text() == f"task {index}\n"
    # One task on its own, by its own id.
    assert slurm_client.state(f"{array_id}_1").state is JobState.FAILED


def test_dependency_chain_runs_in_order(slurm_client: SlurmClient, tmp_path: Path) -> None:
    log = tmp_path / "chain.log"
    first = slurm_client.submit(
        JobSpec(name="chain-1", command=f"sleep 1; echo one >> {log}", stdout=Path("/dev/null"))
    )
    second = slurm_client.submit(
        JobSpec(name="chain-2", command=f"echo two >> {log}", dependencies=[first], stdout=Path("/dev/null"))
    )
    third = slurm_client.submit(
        JobSpec(name="chain-3", command=f"echo three >> {log}", dependencies=[second], stdout=Path("/dev/null"))
    )
    assert slurm_client.state(third).reason == "Dependency"

    jobs = slurm_client.wait([first, second, third], **WAIT)

    assert all(job.state is JobState.COMPLETED for job in jobs.values())
    assert log.read_text() == "one\ntwo\nthree\n"
    assert jobs[first].end_time <= jobs[second].start_time
    assert jobs[second].end_time <= jobs[third].start_time


def test_failed_dependency_cancels_what_waits_for_it(slurm_client: SlurmClient) -> None:
    failing = slurm_client.submit(JobSpec(name="chain-fails", command="exit 1", stdout=Path("/dev/null")))
    waiting = slurm_client.submit(
        JobSpec(name="chain-never", command="true", dependencies=[failing], stdout=Path("/dev/null"))
    )

    jobs = slurm_client.wait([failing, waiting], **WAIT)

    assert jobs[failing].state is JobState.FAILED
    assert jobs[waiting].state is JobState.CANCELLED
    assert jobs[waiting].start_time is None or jobs[waiting].elapsed_seconds == 0


def test_refused_submissions_raise_typed_errors_with_slurms_message(slurm_client: SlurmClient) -> None:
    with pytest.raises(InvalidPartitionError) as bad_partition:
        slurm_client.submit(JobSpec(name="test-refused", command="true", partition="no-such-partition"))
    assert "Invalid partition name specified" in bad_partition.value.message
    assert bad_partition.value.command[0] == "sbatch"

    with pytest.raises(ResourceRequestError) as too_much_memory:
        slurm_client.submit(JobSpec(name="test-refused", command="true", memory_mb=10_000_000))
    assert "Memory specification can not be satisfied" in too_much_memory.value.message
    assert isinstance(too_much_memory.value, SlurmSubmissionError)


def test_full_batch_script_with_directives(slurm_client: SlurmClient, tmp_path: Path) -> None:
    script = f"#!/bin/bash\n#SBATCH --output={tmp_path}/script.out\n#SBATCH --comment=from-script\necho $PHASE\n"
    job_id = slurm_client.submit(JobSpec(name="test-script", script=script, environment={"PHASE": "qc"}))

    job = slurm_client.wait([job_id], **WAIT)[job_id]

    assert job.state is JobState.COMPLETED
    assert (tmp_path / "script.out").read_text() == "qc\n"


def test_states_of_many_jobs_in_one_squeue_and_one_sacct_call(
    slurm_client: SlurmClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_ids = [
        slurm_client.submit(JobSpec(name=f"test-many-{index}", command="true", stdout=Path("/dev/null")))
        for index in range(20)
    ]
    slurm_client.wait(job_ids, **WAIT)
    commands: list[str] = []
    real_run = subprocess.run

    def counting_run(command: list[str], *args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        commands.append(command[0])
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting_run)

    jobs = slurm_client.states([*job_ids, "999999999"])

    assert commands == ["squeue", "sacct"]
    assert all(jobs[job_id].state is JobState.COMPLETED for job_id in job_ids)
    assert jobs["999999999"].state is JobState.UNKNOWN


def test_wait_gives_up_with_the_last_states(slurm_client: SlurmClient) -> None:
    job_id = slurm_client.submit(JobSpec(name="test-wait", command="sleep 60", stdout=Path("/dev/null")))
    try:
        with pytest.raises(SlurmWaitTimeout) as timed_out:
            slurm_client.wait([job_id], timeout_seconds=1, poll=0.2)
        assert timed_out.value.jobs[job_id].state in (JobState.PENDING, JobState.RUNNING)
    finally:
        slurm_client.cancel(job_id)


def test_library_works_without_django(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    code = (
        "from workflows.slurm import SlurmClient, JobSpec\n"
        "client = SlurmClient()\n"
        "job = client.submit(JobSpec(name='no-django', command='true', stdout='/dev/null'))\n"
        "print(client.defaults.partition, client.wait(job, timeout_seconds=60, poll=0.2)[job].state)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, cwd=Path(__file__).parents[2]
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pipelines", "completed"]
    assert (
        "django.conf"
        not in subprocess.run(
            [sys.executable, "-c", "import sys, workflows.slurm; print(sorted(sys.modules))"],
            capture_output=True,
            text=True,
            env=environment,
            cwd=Path(__file__).parents[2],
        ).stdout
    )


# Last on purpose: its job was submitted with the first test of this module (see conftest.py).
def test_job_over_its_time_limit_times_out(slurm_client: SlurmClient, timeout_job: str) -> None:
    job = slurm_client.wait([timeout_job], timeout_seconds=150, poll=1.0, max_poll=2.0)[timeout_job]

    assert job.state is JobState.TIMEOUT
    assert not job.state.is_success
    assert 60 <= job.elapsed_seconds < 120
