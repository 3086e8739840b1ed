"""A curator re-runs a failed analysis from its admin page, end to end on the real thing.

The path the curator's browser test walks: the failed analysis' page → *Re-run this analysis* → the
confirmation page → *Re-run 1* → back on the page with a message linking the flow run → the flow run
(a real Prefect server, a process worker in the ``slurm`` pool) runs the bundled pipeline on the
real Slurm cluster for exactly that analysis → the analysis is completed, its work item done, its
provenance naming the flow run and the Slurm head job.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from django.urls import reverse

from analyses.ena_sync import import_ena_study
from analyses.models import Analysis, Study
from devtools.ena_mirror.generator import SYNTHETIC_STUDY_ACCESSION
from tests.admin.test_console_actions import fail
from tests.flows.conftest import prefect_platform
from workflows import analysis_ledger
from workflows.ledger.models import WorkItem, WorkState
from workflows.prefect_utils.deployments import FlowRunInfo, read_flow_run
from workflows.prefect_utils.local_server import LocalPrefect
from workflows.slurm import SlurmClient

pytestmark = [pytest.mark.e2e, pytest.mark.slurm, pytest.mark.prefect, pytest.mark.django_db(transaction=True)]

TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture
def prefect(tmp_path: Path, platform_config, mirror, storage, settings) -> Iterator[LocalPrefect]:
    with prefect_platform(tmp_path / "prefect", settings, mirror, storage, ("analyse_study",)) as server:
        yield server


def wait_for_flow_run(server: LocalPrefect, flow_run_id: UUID, timeout: float = 900) -> FlowRunInfo:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = read_flow_run(flow_run_id, api_url=server.api_url, ui_url=server.ui_url)
        if run is not None and run.state_type in TERMINAL:
            return run
        time.sleep(2)
    raise TimeoutError(f"flow run {flow_run_id} did not finish in {timeout}s")


def test_rerun_a_failed_analysis_from_its_page_to_completion_on_slurm(admin_client, prefect, platform_config) -> None:
    import_ena_study(SYNTHETIC_STUDY_ACCESSION)
    study = Study.objects.by_accession(SYNTHETIC_STUDY_ACCESSION).get()
    pipelines = platform_config.pipelines
    [work] = analysis_ledger.register_study_work(
        study=study,
        pipeline_name=pipelines.bundled_pipeline_name,
        pipeline_version=pipelines.bundled_pipeline_version,
        actor="test",
        run_limit=1,
    ).work
    analysis = Analysis.objects.get(accession=work.accession)
    item = WorkItem.objects.select_related("pipeline").get(pk=work.item_id)
    fail(item, analysis, "fetch_reads: connection reset")

    page = admin_client.get(reverse("admin:analyses_analysis_change", args=[analysis.pk])).content.decode()
    rerun_url = re.search(r'href="([^"]+/rerun/)"[^>]*id="automation-rerun"', page).group(1)
    confirm = admin_client.get(rerun_url)
    assert "1 analysis/analyses will be re-run in 1 flow run(s)" in re.sub(r"\s+", " ", confirm.content.decode())
    done = admin_client.post(rerun_url, {"apply": "1"}, follow=True)
    messages = [str(message) for message in done.context["messages"]]
    link = next(message for message in messages if "/runs/flow-run/" in message)
    flow_run_id = UUID(re.search(r"/runs/flow-run/([0-9a-f-]{36})", link).group(1))
    assert link.startswith(f'<a href="{prefect.ui_url}/runs/flow-run/{flow_run_id}"')

    again = admin_client.post(rerun_url, {"apply": "1"}, follow=True)  # a second click while it is queued
    assert any("not re-run" in str(message) for message in again.context["messages"])

    final = wait_for_flow_run(prefect, flow_run_id)
    assert final.state_type == "COMPLETED", final
    assert final.parameters["analysis_accessions"] == [analysis.accession]
    analysis.refresh_from_db()
    item.refresh_from_db()
    assert analysis.state == Analysis.State.COMPLETED and item.state == WorkState.DONE
    assert analysis.provenance["prefect_flow_run_id"] == str(flow_run_id)
    [head] = [job["job_id"] for job in analysis.provenance["slurm_jobs"] if job["step"] == "head"]
    assert SlurmClient().state(head).state.is_success
    assert item.attempts == 2  # the failed attempt and the re-run: one claim each, no second start
