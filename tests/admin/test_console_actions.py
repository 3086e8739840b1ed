"""The curator's console actions: analyse studies (with a count by the flow's own rule), re-run failed
analyses, cancel running ones, and a work item's re-run and cancel; the same services as the API.

Real Postgres; the ledger and the analyses in real states made through their services. Prefect is
either a real local server (marked ``prefect``) or a port where none listens (the launch fails and
says so). Slurm is not needed here: analyses whose jobs are all finished are cancelled without
asking it (the real ``scancel`` path is in ``tests/flows/test_rerun_and_cancel.py``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connections
from django.test import Client
from django.urls import reverse
from prefect.client.orchestration import SyncPrefectClient

from analyses import recording
from analyses.models import Analysis, Run, Sample, Study
from analyses.schemas import Provenance, SlurmJobRecord
from analyses.services import CANCELLED_STEP, analysis_is_cancelled
from core.errors import Conflict
from ena.models import Run as ENARun
from ena.models import Sample as ENASample
from ena.models import Study as ENAStudy
from workflows import analysis_ledger
from workflows.ledger import services as ledger
from workflows.ledger.models import WorkEvent, WorkItem, WorkState
from workflows.prefect_utils.local_server import LocalPrefect, free_port, local_prefect

PIPELINE = ("raw-reads", "2.0.0")
STUDY_URL = "/admin/analyses/study/"
ANALYSIS_URL = "/admin/analyses/analysis/"
ITEM_URL = "/admin/workflows/workitem/"


# ------------------------------------------------------------------------------------------------ data


@dataclass
class Console:
    """A study of five runs: one done, one failed, one running, one pending, one never registered."""

    study: Study
    analyses: dict[str, Analysis]
    items: dict[str, WorkItem]


def make_study(n: int, runs: int, *, private: bool = False, owner: str = "") -> Study:
    """An ENA study with ``runs`` runs and its MGYS study (as the ENA import makes them)."""
    privacy = {"is_private": private, "webin_submitter": owner}
    ena_study = ENAStudy.objects.create(accession=f"PRJEB7{n:04d}", ena_accessions=[f"PRJEB7{n:04d}"])
    study = Study.objects.create(
        ena_study=ena_study, title=f"console study {n}", ena_accessions=[ena_study.accession], **privacy
    )
    for index in range(runs):
        accession = f"ERR7{n:03d}{index:03d}"
        ena_sample = ENASample.objects.create(accession=f"SAMEA7{n:03d}{index:03d}", study=ena_study)
        ena_run = ENARun.objects.create(accession=accession, study=ena_study, sample=ena_sample)
        sample = Sample.objects.create(ena_sample=ena_sample, ena_accessions=[ena_sample.accession], **privacy)
        sample.studies.add(study)
        Run.objects.create(ena_run=ena_run, study=study, sample=sample, ena_accessions=[accession], **privacy)
    return study


def claim_and_run(item: WorkItem, holder: str = "flow:test") -> WorkItem:
    [claimed] = ledger.claim(pipeline=item.pipeline, holder=holder, among=[item.pk], lease_seconds=3600)
    return ledger.transition(item=claimed, to_state=WorkState.RUNNING, actor=holder, holder=holder)


def start_analysis(analysis: Analysis, jobs: list[SlurmJobRecord] | None = None) -> None:
    recording.mark_started(
        analysis=analysis,
        provenance=Provenance(
            pipeline_name=analysis.pipeline_name,
            pipeline_version=analysis.pipeline_version,
            slurm_jobs=jobs or [],
            prefect_flow_run_id="00000000-0000-0000-0000-000000000001",
        ),
    )


def fail(item: WorkItem, analysis: Analysis, message: str = "head job ended FAILED") -> None:
    claim_and_run(item)
    start_analysis(analysis)
    recording.mark_failed(analysis=analysis, failed_step="pipeline", message=message)
    ledger.transition(item=item, to_state=WorkState.FAILED, actor="flow:test", holder="flow:test", message=message)


def build_console(n: int = 1) -> Console:
    study = make_study(n, 5)
    registration = analysis_ledger.register_study_work(
        study=study, pipeline_name=PIPELINE[0], pipeline_version=PIPELINE[1], actor="test", run_limit=4
    )
    analyses = {
        name: Analysis.objects.select_related("study").get(accession=work.accession)
        for name, work in zip(("done", "failed", "running", "pending"), registration.work, strict=True)
    }
    items = {name: WorkItem.objects.get(external_ref=analysis.accession) for name, analysis in analyses.items()}
    claim_and_run(items["done"])
    ledger.transition(item=items["done"], to_state=WorkState.DONE, actor="flow:test", holder="flow:test")
    Analysis.objects.filter(pk=analyses["done"].pk).update(state=Analysis.State.COMPLETED)
    fail(items["failed"], analyses["failed"])
    claim_and_run(items["running"])
    start_analysis(
        analyses["running"], [SlurmJobRecord(job_id="1", step="head", state="COMPLETED")]
    )  # a finished job: scancel is not asked
    for analysis in analyses.values():
        analysis.refresh_from_db()
    for item in items.values():
        item.refresh_from_db()
    return Console(study=study, analyses=analyses, items=items)


@pytest.fixture
def console(db) -> Console:
    return build_console()


def user_with(*codenames: str, username: str = "curator") -> object:
    user = get_user_model().objects.create_user(username, password="pw", is_staff=True)
    perms = [
        Permission.objects.get(content_type__app_label=app, codename=name)
        for app, name in (("analyses", "view_study"), ("analyses", "view_analysis"), ("workflows", "view_workitem"))
    ]
    perms += [Permission.objects.get(content_type__app_label="accounts", codename=name) for name in codenames]
    user.user_permissions.add(*perms)
    return get_user_model().objects.get(pk=user.pk)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def prefect_down(settings) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    config = settings.EMG_CONFIG
    settings.EMG_CONFIG = config.model_copy(
        update={"prefect": config.prefect.model_copy(update={"api_url": f"{dead}/api", "ui_url": dead})}
    )


def action(client: Client, url: str, name: str, pks: list[int], **data) -> object:
    return client.post(url, {"action": name, "_selected_action": pks, **data}, follow=True)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


# ------------------------------------------------------------------------------- analyse selected studies


def test_the_count_is_the_flows_own(console: Console) -> None:
    """The preview says what the flow then starts: registering and claiming start exactly those."""
    plain = analysis_ledger.plan_study_work(
        study=console.study, pipeline_name=PIPELINE[0], pipeline_version=PIPELINE[1], run_limit=None, rerun_failed=False
    )
    rerun = analysis_ledger.plan_study_work(
        study=console.study, pipeline_name=PIPELINE[0], pipeline_version=PIPELINE[1], run_limit=None, rerun_failed=True
    )
    limited = analysis_ledger.plan_study_work(
        study=console.study, pipeline_name=PIPELINE[0], pipeline_version=PIPELINE[1], run_limit=2, rerun_failed=True
    )
    assert (plain.new, plain.pending, plain.rerun, plain.to_start) == (1, 1, 0, 2)
    assert plain.not_starting == {WorkState.DONE: 1, WorkState.FAILED: 1, WorkState.RUNNING: 1}
    assert rerun.to_start == 3 and limited.to_start == 1  # the first two runs: done, failed

    registration = analysis_ledger.register_study_work(
        study=console.study, pipeline_name=PIPELINE[0], pipeline_version=PIPELINE[1], actor="flow:x", rerun_failed=True
    )
    leases = analysis_ledger.claim_many(item_ids=[work.item_id for work in registration.work], holder="flow:x")
    assert len(leases) == rerun.to_start


def test_analyse_selected_studies_asks_first_and_counts(admin_client, console: Console) -> None:
    response = action(admin_client, STUDY_URL, "analyse_selected_studies", [console.study.pk])
    page = text_of(response)
    assert response.templates[0].name == "admin/automation/confirm.html"
    assert "2 will start" in page and "2 analyses will start in 1 flow run(s)" in page
    assert 'name="rerun_failed"' in response.content.decode()
    recount = action(
        admin_client, STUDY_URL, "analyse_selected_studies", [console.study.pk], rerun_failed="on", preview="1"
    )
    assert "3 analyses will start" in text_of(recount)
    limited = action(
        admin_client, STUDY_URL, "analyse_selected_studies", [console.study.pk], sample_limit="2", preview="1"
    )
    assert "0 analyses will start" in text_of(limited)
    assert WorkItem.objects.filter(state=WorkState.PENDING).count() == 1  # nothing was written


def test_sample_limit_is_validated_like_the_api(admin_client, console: Console, prefect_down) -> None:
    for bad in ("0", "-3", "1000001", "many"):
        response = action(
            admin_client, STUDY_URL, "analyse_selected_studies", [console.study.pk], sample_limit=bad, apply="1"
        )
        assert response.templates[0].name == "admin/automation/confirm.html", bad
        assert "errorlist" in response.content.decode(), bad
        assert not page_messages(response), bad  # nothing launched (Prefect down would have said so)


def test_rerun_checkbox_needs_the_rerun_capability(console: Console, settings) -> None:
    launcher = logged_in(user_with("launch_analyses", username="launcher"))
    response = action(launcher, STUDY_URL, "analyse_selected_studies", [console.study.pk])
    assert response.status_code == 200 and 'name="rerun_failed"' not in response.content.decode()
    posted = action(launcher, STUDY_URL, "analyse_selected_studies", [console.study.pk], rerun_failed="on", preview="1")
    assert "2 analyses will start" in text_of(posted)  # the posted box is ignored
    reader = logged_in(user_with(username="reader"))
    listing = reader.get(STUDY_URL)
    assert "analyse_selected_studies" not in listing.content.decode()


def test_admin_action_reports_prefect_unreachable(admin_client, console: Console, prefect_down) -> None:
    response = action(admin_client, STUDY_URL, "analyse_selected_studies", [console.study.pk], apply="1")
    assert response.status_code == 200
    assert any("Could not reach Prefect" in message for message in page_messages(response))


# --------------------------------------------------------------------------------- re-run failed analyses


def test_rerun_page_lists_what_is_rerun_and_what_is_skipped(admin_client, console: Console) -> None:
    pks = [console.analyses["failed"].pk, console.analyses["done"].pk]
    page = text_of(action(admin_client, ANALYSIS_URL, "rerun_selected_analyses", pks))
    assert "1 analysis/analyses will be re-run in 1 flow run(s); 1 skipped" in page
    assert "skipped: it is completed" in page
    assert console.items["failed"].state == WorkState.FAILED  # asking changed nothing


def test_rerun_queues_once_and_a_second_click_is_refused(admin_client, console: Console, prefect_down) -> None:
    failed, item = console.analyses["failed"], console.items["failed"]
    first = action(admin_client, ANALYSIS_URL, "rerun_selected_analyses", [failed.pk], apply="1")
    messages = page_messages(first)
    assert any(f"queued again: {failed.accession}" in message for message in messages), messages
    assert any("no flow run was started" in message for message in messages), messages
    item.refresh_from_db()
    failed.refresh_from_db()
    assert item.state == WorkState.PENDING and failed.state == Analysis.State.PENDING
    assert WorkEvent.objects.filter(
        item=item, from_state=WorkState.FAILED, to_state=WorkState.PENDING, actor="admin:admin"
    ).exists()
    assert failed.status["analysis_created"]["message"] == "re-run requested by admin:admin"
    assert "analysis_failed" in failed.status  # the failure stays in the history

    second = action(admin_client, ANALYSIS_URL, "rerun_selected_analyses", [failed.pk], apply="1")
    assert any("not re-run" in message for message in page_messages(second))
    assert WorkEvent.objects.filter(item=item, to_state=WorkState.PENDING).count() == 2  # registered + one re-run


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_reruns_queue_the_analysis_once() -> None:
    console = build_console(2)
    failed = console.analyses["failed"]
    barrier = threading.Barrier(4)
    results: list[str] = []

    def rerun() -> None:
        try:
            barrier.wait()
            analysis_ledger.requeue_for_rerun(analysis=failed, actor="admin:racer")
            results.append("queued")
        except Conflict:
            results.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=rerun) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["queued", "refused", "refused", "refused"]
    assert WorkEvent.objects.filter(item=console.items["failed"], actor="admin:racer").count() == 1


def test_rerun_needs_the_capability(console: Console) -> None:
    launcher = logged_in(user_with("launch_analyses", username="launcher"))
    listing = launcher.get(ANALYSIS_URL).content.decode()
    assert "rerun_selected_analyses" not in listing and "cancel_selected_analyses" in listing
    failed = console.analyses["failed"]
    assert launcher.get(reverse("admin:analyses_analysis_rerun", args=[failed.pk])).status_code == 403
    page = launcher.get(reverse("admin:analyses_analysis_change", args=[failed.pk])).content.decode()
    assert 'id="automation-rerun"' not in page


def test_a_failed_analysis_page_has_the_rerun_button_and_its_confirmation(
    admin_client, console: Console, prefect_down
) -> None:
    failed, running = console.analyses["failed"], console.analyses["running"]
    page = admin_client.get(reverse("admin:analyses_analysis_change", args=[failed.pk])).content.decode()
    rerun_url = reverse("admin:analyses_analysis_rerun", args=[failed.pk])
    assert f'href="{rerun_url}"' in page and 'id="automation-cancel"' not in page
    running_page = admin_client.get(reverse("admin:analyses_analysis_change", args=[running.pk])).content.decode()
    assert 'id="automation-cancel"' in running_page and 'id="automation-rerun"' not in running_page

    confirm = admin_client.get(rerun_url)
    assert "1 analysis/analyses will be re-run" in text_of(confirm)
    done = admin_client.post(rerun_url, {"apply": "1"}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("admin:analyses_analysis_change", args=[failed.pk])
    failed.refresh_from_db()
    assert failed.state == Analysis.State.PENDING


# -------------------------------------------------------------------------------------------- cancel


def test_cancel_a_running_analysis_from_the_list(admin_client, console: Console) -> None:
    running, item = console.analyses["running"], console.items["running"]
    pks = [running.pk, console.analyses["done"].pk]
    page = text_of(action(admin_client, ANALYSIS_URL, "cancel_selected_analyses", pks))
    assert "1 analysis/analyses will be cancelled; 1 skipped" in page
    response = action(admin_client, ANALYSIS_URL, "cancel_selected_analyses", pks, apply="1")
    messages = page_messages(response)
    assert any(f"{running.accession} cancelled" in message for message in messages), messages
    assert any("not cancelled" in message and "completed" in message for message in messages), messages

    item.refresh_from_db()
    running.refresh_from_db()
    assert item.state == WorkState.CANCELLED and item.lease_expires_at is None
    event = WorkEvent.objects.get(item=item, to_state=WorkState.CANCELLED)
    assert event.actor == "admin:admin" and event.data == {"lease_holder": "flow:test"}
    assert running.state == Analysis.State.FAILED and analysis_is_cancelled(running)
    assert running.provenance["failed_step"] == CANCELLED_STEP
    assert running.status["analysis_failed"]["message"] == "cancelled: cancelled by admin:admin"
    # the holder's lease is gone: its next heartbeat finds it lost
    assert ledger.heartbeat(item_ids=[item.pk], holder="flow:test").lost == [item.pk]

    again = action(admin_client, ANALYSIS_URL, "cancel_selected_analyses", [running.pk], apply="1")
    assert any("not cancelled" in message for message in page_messages(again))


def test_a_cancelled_analysis_can_be_rerun(admin_client, console: Console, prefect_down) -> None:
    running, item = console.analyses["running"], console.items["running"]
    analysis_ledger.cancel_analysis(analysis=running, actor="admin:admin")
    action(admin_client, ANALYSIS_URL, "rerun_selected_analyses", [running.pk], apply="1")
    item.refresh_from_db()
    running.refresh_from_db()
    assert item.state == WorkState.PENDING and running.state == Analysis.State.PENDING


def test_cancel_a_pending_analysis_never_claimed(admin_client, console: Console) -> None:
    pending, item = console.analyses["pending"], console.items["pending"]
    admin_client.post(reverse("admin:analyses_analysis_cancel", args=[pending.pk]), {"apply": "1"})
    item.refresh_from_db()
    assert item.state == WorkState.CANCELLED
    assert ledger.claim(pipeline=item.pipeline, holder="flow:later", among=[item.pk]) == []


# ---------------------------------------------------------------------------------------- work items


def test_work_item_rerun_reruns_its_analysis(admin_client, console: Console, prefect_down) -> None:
    item, failed = console.items["failed"], console.analyses["failed"]
    page = text_of(action(admin_client, ITEM_URL, "rerun", [item.pk, console.items["done"].pk]))
    assert f"re-run analysis {failed.accession} by a new flow run" in page and "skipped: it is done" in page
    action(admin_client, ITEM_URL, "rerun", [item.pk], apply="1")
    item.refresh_from_db()
    failed.refresh_from_db()
    assert item.state == WorkState.PENDING and failed.state == Analysis.State.PENDING  # not left FAILED


def test_work_item_cancel_cancels_its_analysis(admin_client, console: Console) -> None:
    item, running = console.items["running"], console.analyses["running"]
    action(admin_client, ITEM_URL, "cancel", [item.pk], apply="1")
    item.refresh_from_db()
    running.refresh_from_db()
    assert item.state == WorkState.CANCELLED and analysis_is_cancelled(running)


def test_work_item_of_no_analysis_changes_in_the_ledger_alone(admin_client, console: Console) -> None:
    [(item, _)] = ledger.register_work(
        pipeline=console.items["done"].pipeline, inputs=[{"run": "ERR0000001"}], actor="w"
    )
    action(admin_client, ITEM_URL, "cancel", [item.pk], apply="1")
    item.refresh_from_db()
    assert item.state == WorkState.CANCELLED


# ----------------------------------------------------------------------------------------------- API


def rerun_url(accession: str) -> str:
    return f"/api/v2/analyses/{accession}/rerun"


def cancel_url(accession: str) -> str:
    return f"/api/v2/analyses/{accession}/cancel"


def test_api_refusals(client, console: Console, prefect_down) -> None:
    failed, done = console.analyses["failed"], console.analyses["done"]
    assert client.post(rerun_url(failed.accession)).status_code == 401
    launcher = logged_in(user_with("launch_analyses", username="launcher"))
    refused = launcher.post(rerun_url(failed.accession))
    assert refused.status_code == 403 and "accounts.rerun_analyses" in refused.json()["detail"]
    curator = logged_in(user_with("launch_analyses", "rerun_analyses", username="curator2"))
    assert curator.post(rerun_url("MGYA99999999")).status_code == 404
    assert curator.post(rerun_url(done.accession)).status_code == 409
    assert curator.post(cancel_url(done.accession)).status_code == 409
    assert curator.post(rerun_url("not-an-accession")).status_code == 400


def test_api_hides_private_analyses(console: Console, prefect_down) -> None:
    private = make_study(3, 1, private=True, owner="Webin-1")
    analyses, _ = recording.ensure_run_analyses(
        study=private, runs=private.runs.all(), pipeline_name=PIPELINE[0], pipeline_version=PIPELINE[1]
    )
    Analysis.objects.filter(pk=analyses[0].pk).update(state=Analysis.State.FAILED)
    curator = user_with("launch_analyses", "rerun_analyses", username="curator3")
    response = logged_in(curator).post(rerun_url(analyses[0].accession))
    assert response.status_code == 404
    assert logged_in(curator).post(cancel_url(analyses[0].accession)).status_code == 404


def test_api_rerun_and_cancel(admin_client, console: Console, prefect_down) -> None:
    failed, running = console.analyses["failed"], console.analyses["running"]
    response = admin_client.post(rerun_url(failed.accession))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["state"] == "pending" and body["flow_run"] is None and "Could not reach Prefect" in body["detail"]
    assert body["work_item_id"] == console.items["failed"].pk
    assert admin_client.post(rerun_url(failed.accession)).status_code == 409  # queued: not twice

    cancelled = admin_client.post(cancel_url(running.accession))
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["state"] == "failed" and cancelled.json()["slurm_jobs_cancelled"] == []
    event = WorkEvent.objects.get(item=console.items["running"], to_state=WorkState.CANCELLED)
    assert event.actor == "api:admin"


def test_openapi_documents_the_actions(client) -> None:
    schema = client.get("/api/v2/openapi.json").json()
    for path, code in (("/api/v2/analyses/{accession}/rerun", "202"), ("/api/v2/analyses/{accession}/cancel", "200")):
        operation = schema["paths"][path]["post"]
        assert {code, "403", "404", "409"} <= set(operation["responses"]), path
        assert operation["summary"]


# ------------------------------------------------------------------------------- with a Prefect server


@pytest.fixture
def prefect(tmp_path: Path, settings) -> Iterator[LocalPrefect]:
    with local_prefect(tmp_path / "prefect") as server:
        server.deploy("analyse_study")
        settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(
            update={
                "prefect": settings.EMG_CONFIG.prefect.model_copy(
                    update={"api_url": server.api_url, "ui_url": server.ui_url}
                )
            }
        )
        yield server


def flow_runs(server: LocalPrefect) -> list:
    with SyncPrefectClient(api=server.api_url) as client:
        return client.read_flow_runs()


@pytest.mark.prefect
def test_actions_start_flow_runs_and_link_them(admin_client, console: Console, prefect: LocalPrefect) -> None:
    launched = action(
        admin_client,
        STUDY_URL,
        "analyse_selected_studies",
        [console.study.pk],
        rerun_failed="on",
        sample_limit="3",
        apply="1",
    )
    [message] = page_messages(launched)
    assert "/runs/flow-run/" in message and prefect.ui_url in message
    failed = console.analyses["failed"]
    rerun = action(admin_client, ANALYSIS_URL, "rerun_selected_analyses", [failed.pk], apply="1")
    assert any("/runs/flow-run/" in message for message in page_messages(rerun))
    again = action(admin_client, ANALYSIS_URL, "rerun_selected_analyses", [failed.pk], apply="1")
    assert any("not re-run" in message for message in page_messages(again))

    runs = {run.id: run.parameters for run in flow_runs(prefect)}
    assert len(runs) == 2  # one launch, one re-run: the second click started nothing
    by_kind = {"rerun" if params.get("analysis_accessions") else "launch": params for params in runs.values()}
    assert by_kind["launch"] == {"study_accession": "PRJEB70001", "rerun_failed": True, "sample_limit": 3}
    assert by_kind["rerun"]["analysis_accessions"] == [failed.accession]
    assert (by_kind["rerun"]["pipeline_name"], by_kind["rerun"]["pipeline_version"]) == PIPELINE
    link = re.search(r"/runs/flow-run/([0-9a-f-]{36})", next(m for m in page_messages(rerun) if "flow-run" in m))
    assert UUID(link.group(1)) in runs
