"""The chaos tests' platform: a real Prefect server with the analyse-study deployment, a worker that
can be killed and replaced, the local ENA mirror, the 3-node Slurm cluster and the test database.

Every test gets fresh storage and its own worker (whose environment is the flow runs'), and leaves
no Slurm job of its own running and every node back in service.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import SyncPrefectClient

from devtools.ena_mirror.generator import SYNTHETIC_STUDY_ACCESSION
from devtools.ena_mirror.server import MirrorHandle
from tests.flows.chaos.observe import our_live_jobs
from tests.flows.conftest import platform_env
from tests.slurm import nodes
from workflows.automation.services import launch_analyse_study
from workflows.prefect_utils.local_server import LocalPrefect, kill_process_tree, local_prefect

#: Short leases, so a crashed worker's work is adoptable within seconds (production: minutes).
LEASE_SECONDS = 15
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture(scope="session")
def three_nodes() -> Iterator[list[str]]:
    names = nodes.node_names()
    if len(names) < 3:
        pytest.fail(f"the chaos tests need the 3-node cluster (task slurm:up NODES=3); this one has {names}")
    yield names
    nodes.restore_all_nodes()


@pytest.fixture(scope="module")
def chaos_prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrefect]:
    with local_prefect(tmp_path_factory.mktemp("prefect")) as server:
        server.deploy("analyse_study")
        yield server


@dataclass
class ChaosPlatform:
    """The platform under test and the levers the tests pull."""

    prefect: LocalPrefect
    mirror: MirrorHandle
    storage: dict[str, Path]
    env: dict[str, str]
    workers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def work_root(self) -> Path:
        return self.storage["work_root"]

    def start_worker(self, **extra_env: str) -> subprocess.Popen:
        worker = self.prefect.start_worker(extra_env={**self.env, **extra_env})
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen) -> None:
        """SIGKILL the worker and every process it started, as a host crash does.

        Its flow runs run in sessions of their own (Prefect starts them so), so killing the
        worker's process group is not enough: every descendant is killed by pid.
        """
        kill_process_tree(worker.pid)
        worker.wait(timeout=30)

    def analyse(self, *, sample_limit: int | None = None, rerun_failed: bool = False) -> UUID:
        """Launch analyse-study of the synthetic study the way the API and the admin do."""
        launched = launch_analyse_study(
            ena_study_accession=SYNTHETIC_STUDY_ACCESSION,
            requested_by="chaos-test",
            rerun_failed=rerun_failed,
            sample_limit=sample_limit,
        )
        return launched.id

    def wait_for_flow_run(self, flow_run_id: UUID, timeout: float = 900) -> str:
        deadline = time.monotonic() + timeout
        with SyncPrefectClient(api=self.prefect.api_url) as client:
            while time.monotonic() < deadline:
                state = client.read_flow_run(flow_run_id).state
                if state is not None and state.type.value in FINAL_STATES:
                    return state.type.value
                time.sleep(2)
        raise TimeoutError(f"flow run {flow_run_id} did not finish in {timeout}s")

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                self.kill_worker(worker)
        leftover = our_live_jobs(self.work_root)
        if leftover:
            subprocess.run(["scancel", *leftover], check=False, timeout=30)


def wait_until(condition, *, timeout: float, what: str, every: float = 1.0):
    """Poll ``condition`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f}s")


@pytest.fixture
def chaos(
    three_nodes,
    chaos_prefect: LocalPrefect,
    mirror: MirrorHandle,
    storage,
    platform_config,
    settings,
) -> Iterator[ChaosPlatform]:
    settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(
        update={
            "prefect": settings.EMG_CONFIG.prefect.model_copy(
                update={"api_url": chaos_prefect.api_url, "ui_url": chaos_prefect.ui_url}
            )
        }
    )
    env = {
        **platform_env(mirror, storage),
        "EMG_PIPELINES__LEASE_SECONDS": str(LEASE_SECONDS),
        # Chaos is about losing a step's node, a step's job, a head job with steps out on the
        # cluster: the placement production uses for real inputs, whatever the demo reads' size.
        "EMG_SLURM__STEP_PLACEMENT": "own-jobs",
    }
    platform = ChaosPlatform(prefect=chaos_prefect, mirror=mirror, storage=storage, env=env)
    try:
        yield platform
    finally:
        platform.stop()
        nodes.restore_all_nodes()
        leftover = our_live_jobs(platform.work_root)
        assert leftover == [], f"Slurm jobs of this test still queued or running: {leftover}"
