"""End to end on the real thing: a Prefect server and a process worker in the ``slurm`` pool, the API,
the local ENA mirror over HTTP, the bundled pipeline on the real Slurm cluster, and Postgres.

POST /api/v2/private/studies/{accession}/analyse -> flow run on the worker -> pipelines on Slurm ->
the API shows completed analyses with results; a second POST starts no pipeline job; a run whose
reads fail their md5 ends failed with that message while the others complete. Also the
suspend/resume of realistic-example with the curator's input given through the Prefect client.
"""

from __future__ import annotations

import base64
import subprocess
import time
from datetime import datetime
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.flow_runs import resume_flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings

from devtools.ena_mirror.generator import SYNTHETIC_STUDY_ACCESSION
from tests.flows.conftest import platform_env
from workflows.prefect_utils.local_server import LocalPrefect, local_prefect

pytestmark = [pytest.mark.e2e, pytest.mark.slurm, pytest.mark.prefect, pytest.mark.django_db(transaction=True)]

BAD_MD5_RUN = "ERR9000004"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture
def prefect(tmp_path: Path, platform_config, mirror, storage, settings) -> LocalPrefect:
    with local_prefect(tmp_path / "prefect") as server:
        env = platform_env(mirror, storage)
        server.deploy("analyse_study", "move_data", "realistic_example", extra_env=env)
        server.start_worker(extra_env=env)
        settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(
            update={
                "prefect": settings.EMG_CONFIG.prefect.model_copy(
                    update={"api_url": server.api_url, "ui_url": server.ui_url}
                )
            }
        )
        yield server


def basic_auth(username: str, password: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def wait_for_flow_run(client, flow_run_id: str, headers: dict, timeout: float = 900) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/v2/private/flow-runs/{flow_run_id}", **headers).json()
        if state["state_type"] in TERMINAL:
            return state
        time.sleep(2)
    raise TimeoutError(f"flow run {flow_run_id} did not finish in {timeout}s")


def slurm_jobs_in(work_root: Path, since: datetime) -> list[str]:
    """Slurm jobs (from accounting) started since ``since`` whose working directory is under ``work_root``."""
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-a", "-S", since.strftime("%Y-%m-%dT%H:%M:%S"), "-o", "JobID,WorkDir"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split("|")[0] for line in out.splitlines() if str(work_root) in line]


def test_post_analyses_study_on_worker_and_slurm_exactly_once(client, superuser, prefect, mirror, storage) -> None:
    headers = basic_auth("admin", "admin-password")
    mirror.faults.wrong_md5(BAD_MD5_RUN)
    started = datetime.now()

    response = client.post(
        f"/api/v2/private/studies/{SYNTHETIC_STUDY_ACCESSION}/analyse", {}, content_type="application/json", **headers
    )
    assert response.status_code == 202, response.content
    launched = response.json()
    assert launched["ui_url"].endswith(f"/runs/flow-run/{launched['flow_run_id']}")
    final = wait_for_flow_run(client, launched["flow_run_id"], headers)
    assert final["state_type"] == "COMPLETED", final

    study = client.get(f"/api/v2/studies/{SYNTHETIC_STUDY_ACCESSION}").json()
    analyses = client.get(f"/api/v2/studies/{study['accession']}/analyses").json()["items"]
    assert len(analyses) == 4
    by_run = {analysis["run_accession"]: analysis for analysis in analyses}
    assert by_run[BAD_MD5_RUN]["state"] == "failed"
    failure = client.get(f"/api/v2/analyses/{by_run[BAD_MD5_RUN]['accession']}").json()
    assert "md5" in failure["status"]["analysis_failed"]["message"]
    for run, analysis in by_run.items():
        if run == BAD_MD5_RUN:
            continue
        assert analysis["state"] == "completed", (run, analysis)
        results = client.get(f"/api/v2/analyses/{analysis['accession']}/results").json()
        assert results["assembly"]["n50"] > 0 and results["predicted_proteins"] > 0
        downloads = client.get(f"/api/v2/analyses/{analysis['accession']}/downloads").json()
        assert downloads and all(download["drs_object_id"] for download in downloads)
    first_jobs = slurm_jobs_in(storage["work_root"], started)
    assert len(first_jobs) >= 3 * 5, first_jobs  # a head job and its steps for each of the 3 good runs

    second_started = datetime.now()
    again = client.post(
        f"/api/v2/private/studies/{SYNTHETIC_STUDY_ACCESSION}/analyse", {}, content_type="application/json", **headers
    )
    assert again.status_code == 202
    assert wait_for_flow_run(client, again.json()["flow_run_id"], headers)["state_type"] == "COMPLETED"
    assert slurm_jobs_in(storage["work_root"], second_started) == []
    assert len(client.get(f"/api/v2/studies/{study['accession']}/analyses").json()["items"]) == 4


def test_realistic_example_suspends_for_a_curators_sample_limit(prefect, storage) -> None:
    with SyncPrefectClient(api=prefect.api_url) as prefect_client:
        deployment = prefect_client.read_deployment_by_name("realistic-example/realistic-example")
        flow_run = prefect_client.create_flow_run_from_deployment(
            deployment.id, parameters={"study_accession": SYNTHETIC_STUDY_ACCESSION}
        )

        state = wait_for_state(prefect_client, flow_run.id, {"Suspended"})
        assert state.name == "Suspended"
        with temporary_settings({PREFECT_API_URL: prefect.api_url}):
            resume_flow_run(flow_run.id, run_input={"sample_limit": 1})

        state = wait_for_state(prefect_client, flow_run.id, {"Completed", "Failed", "Crashed"})
        assert state.name == "Completed", state.message

    moved = sorted(
        path.name for path in (storage["work_root"] / "realistic-example" / str(flow_run.id)).glob("ERR*/*.gz")
    )
    assert moved == ["ERR9000001_1.fastq.gz", "ERR9000001_2.fastq.gz"]


def wait_for_state(prefect_client, flow_run_id: UUID, names: set[str], timeout: float = 300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = prefect_client.read_flow_run(flow_run_id).state
        if state is not None and state.name in names:
            return state
        time.sleep(1)
    raise TimeoutError(f"flow run {flow_run_id} never reached {names}")
