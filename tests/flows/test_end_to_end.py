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
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from uuid import UUID

import pytest
from django.test import Client
from prefect.client.orchestration import SyncPrefectClient
from prefect.flow_runs import resume_flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings

from analyses.charts import AnalysisChart, StudyChart
from devtools.ena_mirror.generator import (
    LAYOUT_BLANKS_RUN,
    LAYOUT_BROKEN_RUN,
    LAYOUT_ILLUMINA_NAMES,
    LAYOUT_ILLUMINA_NAMES_RUN,
    LAYOUT_PAIRS,
    LAYOUT_SINGLE_RUN,
    LAYOUT_THREE_FILE_RUN,
    LAYOUT_UNTAKEABLE_RUN,
    LAYOUTS_STUDY_ACCESSION,
    PRIVATE_STUDY_ACCESSION,
    PRIVATE_STUDY_RUN,
    SYNTHETIC_STUDY_ACCESSION,
)
from tests.browser_charts import artifacts_dir, chromium, screenshot_charts
from tests.flows.conftest import prefect_platform
from tests.pipelines.independent_search import independent_hmmsearch
from workflows.prefect_utils.local_server import LocalPrefect

#: The Pfam models whose real proteins the mirror plants (devtools/ena_mirror/real_genes.py)
PLANTED_PFAM_MODELS = {"PF00069.17", "PF00041.13", "globins4"}

pytestmark = [pytest.mark.e2e, pytest.mark.slurm, pytest.mark.prefect, pytest.mark.django_db(transaction=True)]

BAD_MD5_RUN = "ERR9000004"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture
def prefect(tmp_path: Path, platform_config, mirror, storage, settings) -> Iterator[LocalPrefect]:
    with prefect_platform(
        tmp_path / "prefect", settings, mirror, storage, ("analyse_study", "move_data", "realistic_example")
    ) as server:
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


def test_post_analyses_study_on_worker_and_slurm_exactly_once(
    client, superuser, prefect, mirror, storage, live_server, tmp_path
) -> None:
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
    completed = {run: analysis for run, analysis in by_run.items() if run != BAD_MD5_RUN}
    first_jobs = slurm_jobs_in(storage["work_root"], started)
    # The demo's reads are small: each run's steps ran inside its head job (step placement "auto"),
    # one Slurm job per analysis, and the provenance names that job for every step.
    assert len(first_jobs) == 3, first_jobs
    for run, analysis in by_run.items():
        if run == BAD_MD5_RUN:
            continue
        jobs = client.get(f"/api/v2/analyses/{analysis['accession']}").json()["provenance"]["slurm_jobs"]
        [head] = [job["job_id"] for job in jobs if job["step"] == "head"]
        assert head in first_jobs
        assert {job["step"] for job in jobs} >= {"fastp", "megahit", "prodigal", "pfam", "rrna"}, jobs
        assert {job["job_id"] for job in jobs} == {head}, jobs

    # Real annotations (issue 15): each analysis' Pfam counts, through the API, are those of hmmsearch run
    # here on its published proteins with the pipeline's models and cut-offs; the models found are among
    # those planted from real proteins; rRNA genes are only of the kingdoms planted (bacteria, archaea).
    for run, analysis in completed.items():
        accession = analysis["accession"]
        pfam = client.get(f"/api/v2/analyses/{accession}/annotations/pfam", {"page_size": 100}).json()["items"]
        proteins = storage["results_root"] / study["accession"] / accession / "genes/proteins.faa"
        (tmp_path / accession).mkdir()
        independent = independent_hmmsearch(proteins, tmp_path / accession)
        assert {count["accession"]: count["domains"] for count in pfam} == {
            model: len(rows) for model, rows in independent.items()
        }, run
        assert PLANTED_PFAM_MODELS & {count["accession"] for count in pfam}, (run, pfam)
        assert {count["accession"] for count in pfam} <= PLANTED_PFAM_MODELS, (run, pfam)
        rrna = client.get(f"/api/v2/analyses/{accession}/rrna").json()
        assert rrna["genes"] and {gene["kingdom"] for gene in rrna["genes"]} <= {"bacteria", "archaea"}, (run, rrna)

    # The charts of a real analysis and of its study, drawn by a real browser and kept as screenshots
    shot_analysis = next(iter(completed.values()))["accession"]
    with chromium() as browser:
        shots = screenshot_charts(
            browser,
            live_server.url,
            shot_analysis,
            study["accession"],
            artifacts_dir() / "e2e",
            expected_labels={"pfam": ["PF00069.17 Pkinase"], "rrna": ["bacteria", "archaea"]},
        )
    assert len(shots) == 2 * (len(AnalysisChart) + len(StudyChart)) + 1, shots

    second_started = datetime.now()
    again = client.post(
        f"/api/v2/private/studies/{SYNTHETIC_STUDY_ACCESSION}/analyse", {}, content_type="application/json", **headers
    )
    assert again.status_code == 202
    assert wait_for_flow_run(client, again.json()["flow_run_id"], headers)["state_type"] == "COMPLETED"
    assert slurm_jobs_in(storage["work_root"], second_started) == []
    assert len(client.get(f"/api/v2/studies/{study['accession']}/analyses").json()["items"]) == 4


def test_enas_real_run_layouts_and_a_private_study_through_the_api(client, superuser, prefect, mirror, storage):
    """Every run layout ENA has, one broken record, and a private study imported with Webin credentials."""
    headers = basic_auth("admin", "admin-password")
    launched = {}
    for accession in (LAYOUTS_STUDY_ACCESSION, PRIVATE_STUDY_ACCESSION):  # both at once: the worker runs them together
        response = client.post(
            f"/api/v2/private/studies/{accession}/analyse", {}, content_type="application/json", **headers
        )
        assert response.status_code == 202, response.content
        launched[accession] = response.json()["flow_run_id"]
    for accession, flow_run_id in launched.items():
        assert wait_for_flow_run(client, flow_run_id, headers)["state_type"] == "COMPLETED", accession

    # The broken record was skipped with its reason; the rest of the study was imported
    study = client.get(f"/api/v2/studies/{LAYOUTS_STUDY_ACCESSION}", **headers).json()
    [skipped] = study["ena_study"]["import_report"]["skipped"]
    assert (skipped["accession"], skipped["field"], skipped["file"]) == (
        LAYOUT_BROKEN_RUN,
        "fastq_md5",
        f"{LAYOUT_BROKEN_RUN}_2.fastq.gz",
    )
    analyses = client.get(f"/api/v2/studies/{study['accession']}/analyses", **headers).json()["items"]
    by_run = {analysis["run_accession"]: analysis for analysis in analyses}
    assert set(by_run) == {
        LAYOUT_SINGLE_RUN,
        LAYOUT_BLANKS_RUN,
        LAYOUT_THREE_FILE_RUN,
        LAYOUT_UNTAKEABLE_RUN,
        LAYOUT_ILLUMINA_NAMES_RUN,
    }
    states = {run: analysis["state"] for run, analysis in by_run.items()}
    assert states == {run: "failed" if run == LAYOUT_UNTAKEABLE_RUN else "completed" for run in by_run}, states

    # The run no pipeline can take failed before any download, saying why
    untakeable = client.get(f"/api/v2/analyses/{by_run[LAYOUT_UNTAKEABLE_RUN]['accession']}", **headers).json()
    message = untakeable["status"]["analysis_failed"]["message"]
    assert message.startswith(f"select_reads: {LAYOUT_UNTAKEABLE_RUN}: 2 files") and "read 1" in message
    fetched = [r.path for r in mirror.requests if r.path.startswith("/vol1/fastq/")]
    assert not any(LAYOUT_UNTAKEABLE_RUN in path for path in fetched)

    # The three-file run was analysed from its pair: the unpaired file was named, never fetched
    three = client.get(f"/api/v2/analyses/{by_run[LAYOUT_THREE_FILE_RUN]['accession']}", **headers).json()
    reads = three["provenance"]["reads"]
    assert reads["layout"] == "paired"
    assert reads["files"] == [f"{LAYOUT_THREE_FILE_RUN}_1.fastq.gz", f"{LAYOUT_THREE_FILE_RUN}_2.fastq.gz"]
    assert reads["unpaired_not_analysed"] == f"{LAYOUT_THREE_FILE_RUN}.fastq.gz"
    assert not any(path.endswith(f"/{LAYOUT_THREE_FILE_RUN}.fastq.gz") for path in fetched)
    qc = client.get(f"/api/v2/analyses/{three['accession']}/quality-control", **headers).json()
    assert qc["before_filtering"]["total_reads"] == 2 * LAYOUT_PAIRS  # the pair's reads, no orphans
    single = client.get(f"/api/v2/analyses/{by_run[LAYOUT_SINGLE_RUN]['accession']}", **headers).json()
    assert single["provenance"]["reads"]["layout"] == "single"
    illumina = client.get(f"/api/v2/analyses/{by_run[LAYOUT_ILLUMINA_NAMES_RUN]['accession']}", **headers).json()
    assert illumina["provenance"]["reads"]["files"] == list(LAYOUT_ILLUMINA_NAMES)
    for run in (LAYOUT_SINGLE_RUN, LAYOUT_BLANKS_RUN, LAYOUT_THREE_FILE_RUN, LAYOUT_ILLUMINA_NAMES_RUN):
        results = client.get(f"/api/v2/analyses/{by_run[run]['accession']}/results", **headers).json()
        assert results["predicted_proteins"] > 0, run

    # The private study: analysed with the Webin credentials, private, invisible to anonymous callers
    private = client.get(f"/api/v2/studies/{PRIVATE_STUDY_ACCESSION}", **headers).json()
    assert private["is_private"] and private["ena_study"]["import_report"]["private"]
    [analysis] = client.get(f"/api/v2/studies/{private['accession']}/analyses", **headers).json()["items"]
    assert analysis["state"] == "completed" and analysis["is_private"]
    downloads = client.get(f"/api/v2/analyses/{analysis['accession']}/downloads", **headers).json()
    assert downloads
    anonymous = Client()
    for path in (
        f"/api/v2/studies/{PRIVATE_STUDY_ACCESSION}",
        f"/api/v2/studies/{private['accession']}",
        f"/api/v2/runs/{PRIVATE_STUDY_RUN}",
        f"/api/v2/analyses/{analysis['accession']}",
        f"/api/v2/analyses/{analysis['accession']}/results",
        f"/ga4gh/drs/v1/objects/{downloads[0]['drs_object_id']}",
    ):
        assert anonymous.get(path).status_code == 404, path
    listed = anonymous.get("/api/v2/analyses", {"page_size": 100}).json()["items"]
    assert analysis["accession"] not in {item["accession"] for item in listed}
    assert PRIVATE_STUDY_ACCESSION not in anonymous.get("/api/v2/studies").content.decode()


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
