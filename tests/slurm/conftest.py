"""Fixtures for tests against the real single-node cluster (``task slurm:up``). No database needed."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from workflows.slurm import JobSpec, SlurmClient


@pytest.fixture(scope="session")
def slurm_client() -> SlurmClient:
    """A client on the CLI backend; fails (not skips) when the cluster is not up."""
    try:
        answer = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        pytest.fail("Slurm is not installed: run `task slurm:up`")
    if "is UP" not in answer.stdout:
        pytest.fail(f"slurmctld does not answer (run `task slurm:up`): {answer.stdout}{answer.stderr}")
    return SlurmClient()


@pytest.fixture(scope="session")
def timeout_job(slurm_client: SlurmClient) -> Iterator[str]:
    """A job that outlives its 1-minute limit, submitted as early as possible: Slurm enforces time
    limits on a ~30 s cycle, so the timeout test, which runs last, waits for it the least.
    """
    job_id = slurm_client.submit(
        JobSpec(name="test-timeout", command="sleep 300", time_limit_minutes=1, stdout="/dev/null")
    )
    yield job_id
    slurm_client.cancel([job_id])


@pytest.fixture(autouse=True)
def _start_timeout_job_early(request: pytest.FixtureRequest) -> None:
    """Submit the timeout job with the first slurm test, so its minute overlaps the other tests."""
    if request.node.get_closest_marker("slurm"):
        request.getfixturevalue("timeout_job")
