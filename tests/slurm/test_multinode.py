"""The multi-node dev cluster (``task slurm:up NODES=3``, which ``task test`` starts): jobs spread over
nodes, a lost node's jobs are requeued, jobs on a node reach the controller, accounting and this
machine's 127.0.0.1 services. No mocks: real slurmds in network namespaces (slurm-dev-environment/).
"""

from __future__ import annotations

import http.server
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.slurm.nodes import (
    NodeControlError,
    job_node,
    kill_node,
    link_down,
    link_up,
    node_names,
    node_state,
    restore_all_nodes,
    resume_node,
    start_node,
    wait_node_state,
)
from workflows.slurm import JobSpec, JobState, SlurmClient

pytestmark = pytest.mark.slurm

WAIT = {"timeout_seconds": 90, "poll": 0.25}
LOST = "emgnode2"


@pytest.fixture(scope="module")
def nodes(slurm_client: SlurmClient) -> Iterator[list[str]]:
    """The three nodes, all in service before and after each test of this module."""
    names = node_names()
    if len(names) < 3:
        pytest.skip(f"needs the 3-node cluster (task slurm:up NODES=3); this one has {names}")
    restore_all_nodes()
    yield names
    restore_all_nodes()


@pytest.fixture
def restore(nodes: list[str], slurm_client: SlurmClient) -> Iterator[list[str]]:
    """Jobs to cancel; whatever happens, every node is back in service afterwards."""
    jobs: list[str] = []
    yield jobs
    if jobs:
        slurm_client.cancel(jobs)
    restore_all_nodes()


def _wait_running(client: SlurmClient, job_ids: list[str], timeout: float = 60) -> dict[str, str]:
    """Wait until every job runs; return job id -> its node."""
    deadline = time.monotonic() + timeout
    while True:
        where = {job_id: job_node(job_id) for job_id in job_ids}
        if all(where.values()):
            return {job_id: node for job_id, node in where.items() if node}
        states = {job_id: client.state(job_id).raw_state for job_id in job_ids}
        assert time.monotonic() < deadline, f"not all running after {timeout} s: {states}"
        time.sleep(0.25)


def _spread(client: SlurmClient, tmp_path: Path, command: str, name: str) -> dict[str, str]:
    """Three 2-CPU jobs submitted together; with LLN and 2 CPUs per node, one lands on each node."""
    return {
        client.submit(
            JobSpec(name=f"{name}-{index}", command=command, cpus=2, stdout=tmp_path / f"{name}-{index}.out")
        ): str(tmp_path / f"{name}-{index}.out")
        for index in range(3)
    }


def test_jobs_submitted_together_run_on_different_nodes(
    slurm_client: SlurmClient, nodes: list[str], restore: list[str], tmp_path: Path
) -> None:
    outputs = _spread(slurm_client, tmp_path, "hostname; sleep 3", "spread")
    restore.extend(outputs)

    where = _wait_running(slurm_client, list(outputs))
    jobs = slurm_client.wait(list(outputs), **WAIT)

    assert sorted(where.values()) == sorted(nodes)
    for job_id, output in outputs.items():
        assert jobs[job_id].state is JobState.COMPLETED
        # Each slurmd has its own UTS namespace: a job's hostname is its node's name.
        assert Path(output).read_text() == f"{where[job_id]}\n"


def test_lost_node_is_down_and_its_job_is_requeued_elsewhere(
    slurm_client: SlurmClient, nodes: list[str], restore: list[str], tmp_path: Path
) -> None:
    # The first run sleeps; the rerun after the requeue prints where it runs and ends.
    command = 'if [ "${SLURM_RESTART_COUNT:-0}" = 0 ]; then sleep 300; fi; echo "$(hostname) $SLURM_RESTART_COUNT"'
    outputs = _spread(slurm_client, tmp_path, command, "lose")
    restore.extend(outputs)
    where = _wait_running(slurm_client, list(outputs))
    # The job on emgnode2 (on any node if other jobs made LLN place them otherwise).
    victim = next((job_id for job_id, node in where.items() if node == LOST), next(iter(where)))
    lost = where[victim]

    killed_at = time.monotonic()
    assert kill_node(lost).startswith(f"{lost}: killed ")
    # Not responding after ~7 s, DOWN after 15-23 s (SlurmdTimeout=10, MessageTimeout=5).
    assert wait_node_state(lost, {"down*"}, timeout=45) == "down*"
    down_after = time.monotonic() - killed_at

    # Slurm requeues the batch job (JobRequeue=1): pending again, with BeginTime = now + 31 s
    # (cred_expire=30), never NODE_FAIL for the client; the other nodes' jobs are untouched.
    deadline = time.monotonic() + 20
    while (requeued := slurm_client.state(victim)).state is not JobState.PENDING:
        assert time.monotonic() < deadline, f"job {victim} not requeued: {requeued}"
        time.sleep(0.25)
    assert not requeued.state.is_terminal
    others = [job_id for job_id in outputs if job_id != victim]
    assert all(slurm_client.state(job_id).state is JobState.RUNNING for job_id in others)
    assert all(job_node(job_id) in set(nodes) - {lost} for job_id in others)

    # It runs again, on a node still in service, as restart 1, and completes.
    rerun = slurm_client.wait([victim], timeout_seconds=90, poll=0.5)[victim]
    assert rerun.state is JobState.COMPLETED and rerun.exit_code == 0
    rerun_node, restarts = Path(outputs[victim]).read_text().split()
    assert rerun_node in set(nodes) - {lost} and restarts == "1"

    # The node comes back by itself once its slurmd registers again (ReturnToService=2).
    started_at = time.monotonic()
    assert start_node(lost).startswith(f"{lost}: slurmd started")
    assert wait_node_state(lost, {"idle", "mix", "alloc"}, timeout=20) in ("idle", "mix", "alloc")
    back_after = time.monotonic() - started_at
    print(f"kill -> down* {down_after:.1f} s; start -> in service {back_after:.1f} s")


def test_partitioned_node_goes_down_and_comes_back_with_its_link(nodes: list[str], restore: list[str]) -> None:
    assert link_down(LOST) == f"{LOST}: link emgv2 down (10.77.0.12)"
    assert wait_node_state(LOST, {"down*"}, timeout=45) == "down*"

    assert link_up(LOST) == f"{LOST}: link emgv2 up (10.77.0.12)"
    # slurmctld does not ping a DOWN node: it would come back at the next periodic registration
    # request (~50 s); a RESUME brings it back as soon as its slurmd, which never stopped, answers.
    resume_node(LOST)
    assert wait_node_state(LOST, {"idle"}, timeout=30) == "idle"


def test_a_job_on_a_node_can_submit_and_query_accounting(
    slurm_client: SlurmClient, nodes: list[str], restore: list[str], tmp_path: Path
) -> None:
    """The head-job situation (Snakemake's slurm executor): sbatch, squeue and sacct from inside a job,
    without SLURM_CONF (the executor strips SLURM_*; /etc/slurm/slurm.conf must do)."""
    child_out = tmp_path / "child.out"
    command = (
        "unset SLURM_CONF; "
        f"child=$(sbatch --parsable --output={child_out} --wrap hostname) || exit 10; "
        'echo "child $child"; '
        'squeue -h -j "$child" -o %i >/dev/null || exit 11; '
        # Accounting may get the job's record a moment after the job starts.
        'for try in 1 2 3 4 5; do id=$(sacct -n -P -X -j "$SLURM_JOB_ID" -o JobID) || exit 12; '
        '[ -n "$id" ] && break; sleep 1; done; echo "$id"; '
        'echo "host $(hostname)"'
    )
    job_id = slurm_client.submit(JobSpec(name="head-job", command=command, stdout=tmp_path / "head.out"))
    restore.append(job_id)

    head = slurm_client.wait([job_id], **WAIT)[job_id]

    assert head.state is JobState.COMPLETED, (tmp_path / "head.out").read_text()
    lines = (tmp_path / "head.out").read_text().split("\n")
    child_id = lines[0].removeprefix("child ")
    assert lines[1] == job_id
    assert lines[2].removeprefix("host ") in nodes
    child = slurm_client.wait([child_id], **WAIT)[child_id]
    assert child.state is JobState.COMPLETED
    assert child_out.read_text().strip() in nodes


class _PeerHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.client_address[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_jobs_on_every_node_reach_services_on_this_machines_loopback(
    slurm_client: SlurmClient, nodes: list[str], restore: list[str], tmp_path: Path
) -> None:
    """The platform's services listen on 127.0.0.1 (ENA mirror, Prefect, Postgres): jobs on the nodes
    reach them at the same URL, and the services see a loopback client."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PeerHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    fetch = f"{sys.executable} -c \"import urllib.request as r; print(r.urlopen('{url}', timeout=10).read().decode())\""
    try:
        outputs = {
            slurm_client.submit(
                JobSpec(
                    name=f"loopback-{node}",
                    command=f'echo "$(hostname) $({fetch})"',
                    stdout=tmp_path / f"{node}.out",
                    extra_args=[f"--nodelist={node}"],
                )
            ): tmp_path / f"{node}.out"
            for node in nodes
        }
        restore.extend(outputs)
        jobs = slurm_client.wait(list(outputs), **WAIT)
    finally:
        server.shutdown()
        server.server_close()

    assert all(job.state is JobState.COMPLETED for job in jobs.values())
    seen = sorted(output.read_text().split() for output in outputs.values())
    assert seen == [[node, "127.0.0.1"] for node in sorted(nodes)]


def test_node_controls_refuse_bad_input(nodes: list[str]) -> None:
    with pytest.raises(NodeControlError, match="unknown node 'emgnode99'"):
        kill_node("emgnode99")
    with pytest.raises(NodeControlError, match="unknown node"):
        start_node("")
    assert node_state(nodes[0]) in ("idle", "mix", "alloc", "comp")
