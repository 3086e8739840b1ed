"""On the real dev cluster (``task slurm:up``): the client's record of a job names the node it ran on."""

from __future__ import annotations

import subprocess
import time

import pytest

from workflows.slurm import JobSpec, JobState, SlurmClient

pytestmark = pytest.mark.slurm


def _cluster_nodes() -> set[str]:
    out = subprocess.run(["sinfo", "-h", "-N", "-o", "%N"], capture_output=True, text=True, check=True, timeout=10)
    return {line.strip() for line in out.stdout.splitlines() if line.strip()}


def test_a_jobs_record_names_the_node_it_ran_on(slurm_client: SlurmClient) -> None:
    job_id = slurm_client.submit(JobSpec(name="test-node", command="hostname; sleep 2", stdout="/dev/null"))
    try:
        seen_running: str | None = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            job = slurm_client.states([job_id])[job_id]
            if job.state is JobState.PENDING:
                assert job.node is None  # waiting: no node yet, not a guess
            elif not job.state.is_terminal and job.node:
                seen_running = job.node
            if job.state.is_terminal and job.accounted:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"job {job_id} did not finish and reach accounting: {job}")
        assert job.state.is_success, job
        assert job.node in _cluster_nodes(), (job.node, _cluster_nodes())
        if seen_running is not None:
            assert seen_running == job.node  # squeue and sacct name the same node
    finally:
        slurm_client.cancel([job_id])
