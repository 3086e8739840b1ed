"""Finding a user's active jobs by comment and name (the task jobs a killed Nextflow head job leaves)."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from workflows.slurm import JobSpec, SlurmClient
from workflows.slurm.parsing import ActiveJob, parse_active_jobs


@pytest.fixture(scope="module")
def slurm_client() -> SlurmClient:
    """A client on the CLI backend; skips (these tests are not the cluster's own) when it is not up."""
    try:
        answer = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=5)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        pytest.skip("Slurm is not installed or does not answer")
    if "is UP" not in answer.stdout:
        pytest.skip(f"slurmctld is not up: {answer.stdout}{answer.stderr}")
    return SlurmClient()


@pytest.fixture(autouse=True)
def _start_timeout_job_early() -> None:
    """These tests need no job timing out (overrides the conftest's)."""


def test_parse_active_jobs() -> None:
    output = "4242|RUNNING|emg-nf:MGYA1:ab12|nf-FASTP_(ERR1)\n4243|PENDING|(null)|a|name|with|bars\nbroken\n"
    assert parse_active_jobs(output) == [
        ActiveJob(job_id="4242", state="RUNNING", comment="emg-nf:MGYA1:ab12", name="nf-FASTP_(ERR1)"),
        ActiveJob(job_id="4243", state="PENDING", comment=None, name="a|name|with|bars"),
    ]


@pytest.mark.slurm
def test_active_jobs_by_comment_and_name(slurm_client: SlurmClient) -> None:
    comment = f"emg-nf:test:{uuid.uuid4().hex[:12]}"
    spec = JobSpec(
        name="nf-FASTP_(ERR9000001)",
        command="sleep 300",
        time_limit_minutes=10,
        stdout="/dev/null",
        extra_args=(f"--comment={comment}",),
    )
    tagged = slurm_client.submit(spec)
    other = slurm_client.submit(JobSpec(name="nf-FASTP_(ERR9000001)", command="sleep 300", stdout="/dev/null"))
    try:
        assert [job.job_id for job in slurm_client.active_jobs(comment=comment)] == [tagged]
        by_name = {job.job_id for job in slurm_client.active_jobs(name_prefix="nf-FASTP_(")}
        assert {tagged, other} <= by_name
        listed = next(job for job in slurm_client.active_jobs(comment=comment))
        assert (listed.name, listed.state in ("PENDING", "RUNNING")) == ("nf-FASTP_(ERR9000001)", True)
        slurm_client.cancel([tagged])
        slurm_client.wait([tagged], timeout_seconds=30)
        assert slurm_client.active_jobs(comment=comment) == []
    finally:
        slurm_client.cancel([tagged, other])
