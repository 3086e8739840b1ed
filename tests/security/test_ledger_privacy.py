"""Issue 13: the work ledger's reads show a private item only to its Webin owner and to ledger tokens.

A work item's input names its run and its failure messages quote it, so an item of a private
analysis (or of a private study) is as private as the analysis. Every read of ``/api/v2/work/``
(list, detail with events, failures, long-running, summary counts) is checked for each kind of
caller: what it may not see is missing from lists and counts, and a 404 like a missing item.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analyses.models import Analysis, Run, Sample, Study
from ena.models import Run as ENARun
from ena.models import Sample as ENASample
from ena.models import Study as ENAStudy
from workflows.analysis_ledger import register_study_work
from workflows.ledger import services
from workflows.ledger.models import Pipeline, TokenRole, WorkItem, WorkState
from workflows.ledger.tokens import issue_token, revoke_token

pytestmark = pytest.mark.django_db

BASE = "/api/v2/work"
OWNER = "Webin-777"
OTHER = "Webin-888"
PUBLIC_RUN = "ERR1000001"
PRIVATE_RUN = "ERR7770001"
PUBLIC_REF = "MGYA00000001"
PRIVATE_REF = "MGYA00000777"
RUN_SCHEMA = {
    "type": "object",
    "properties": {"run": {"type": "string"}},
    "required": ["run"],
    "additionalProperties": False,
}
#: Whether each kind of caller sees the private item (everyone sees the public one).
SEES_PRIVATE = {
    "anonymous": False,
    "other submitter": False,
    "revoked ledger token": False,
    "owner": True,
    "superuser": True,
    "ledger admin token": True,
    "ledger pipeline token": True,
}


@dataclass
class Reader:
    """One kind of caller: a client (logged in or not) and the headers it sends."""

    client: Client
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, **params: Any):
        return self.client.get(f"{BASE}{path}", params, headers=self.headers)

    def refs(self, path: str, **params: Any) -> list[str]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.content
        return [item["external_ref"] for item in response.json()["items"]]


@dataclass
class Work:
    pipeline: Pipeline
    public: WorkItem
    private: WorkItem


@pytest.fixture
def pipeline(db) -> Pipeline:
    return services.ensure_pipeline(
        name="raw-reads", version="6.0.1", repository_uri="https://example.org/raw-reads", input_schema=RUN_SCHEMA
    )


@pytest.fixture
def work(pipeline) -> Work:
    """A public item and one private to ``OWNER``, both pending."""
    (public, _), (private, _) = services.register_work(
        pipeline=pipeline,
        inputs=[{"run": PUBLIC_RUN}, {"run": PRIVATE_RUN}],
        external_refs=[PUBLIC_REF, PRIVATE_REF],
        owners=[None, OWNER],
        actor="test",
    )
    return Work(pipeline, public, private)


@pytest.fixture
def readers(db, pipeline) -> dict[str, Reader]:
    users = get_user_model().objects

    def logged_in(user) -> Reader:
        client = Client()
        client.force_login(user)
        return Reader(client)

    def bearer(token: str) -> Reader:
        return Reader(Client(), {"Authorization": f"Bearer {token}"})

    revoked = issue_token(name="old", role=TokenRole.ADMIN)
    revoke_token(token=revoked.token)
    readers = {
        "anonymous": Reader(Client()),
        "other submitter": logged_in(users.create_user(OTHER, password="x")),
        "revoked ledger token": bearer(revoked.plaintext),
        "owner": logged_in(users.create_user(OWNER, password="x")),
        "superuser": logged_in(users.create_superuser("curator", "curator@example.org", "x")),
        "ledger admin token": bearer(issue_token(name="ops", role=TokenRole.ADMIN).plaintext),
        "ledger pipeline token": bearer(
            issue_token(name="wrapper", role=TokenRole.PIPELINE, pipeline=pipeline).plaintext
        ),
    }
    assert readers.keys() == SEES_PRIVATE.keys()
    return readers


def expected_refs(name: str) -> list[str]:
    return [PUBLIC_REF, PRIVATE_REF] if SEES_PRIVATE[name] else [PUBLIC_REF]


def fail(item: WorkItem, message: str) -> None:
    [claimed] = services.claim(pipeline=item.pipeline, holder="w1", among=[item.pk])
    services.transition(item=claimed, to_state=WorkState.RUNNING, actor="w1", holder="w1")
    services.transition(item=claimed, to_state=WorkState.FAILED, actor="w1", holder="w1", message=message)


def run_long(item: WorkItem) -> None:
    """Running for a day, far beyond the pipeline's usual hour x 3."""
    [claimed] = services.claim(pipeline=item.pipeline, holder="w1", among=[item.pk], lease_seconds=86400 * 2)
    services.transition(item=claimed, to_state=WorkState.RUNNING, actor="w1", holder="w1")
    WorkItem.objects.filter(pk=item.pk).update(started_at=timezone.now() - timedelta(days=1))


# --- the reads, for each kind of caller -------------------------------------------------------


@pytest.mark.parametrize("name", SEES_PRIVATE)
def test_list_by_external_ref_and_state(work, readers, name):
    reader = readers[name]
    assert reader.refs("/items", external_ref=PRIVATE_REF) == ([PRIVATE_REF] if SEES_PRIVATE[name] else [])
    assert reader.refs("/items", external_ref=PUBLIC_REF) == [PUBLIC_REF]
    assert sorted(reader.refs("/items", state="pending")) == expected_refs(name)
    assert sorted(reader.refs("/items")) == expected_refs(name)
    response = reader.get("/items", input_hash=work.private.input_hash)
    assert response.json()["count"] == (1 if SEES_PRIVATE[name] else 0)
    assert (PRIVATE_RUN in response.content.decode()) is SEES_PRIVATE[name]


@pytest.mark.parametrize("name", SEES_PRIVATE)
def test_detail_is_404_like_a_missing_item(work, readers, name):
    reader = readers[name]
    public = reader.get(f"/items/{work.public.pk}")
    assert public.status_code == 200 and public.json()["input"] == {"run": PUBLIC_RUN}
    private = reader.get(f"/items/{work.private.pk}")
    missing = reader.get("/items/999999999")
    assert missing.status_code == 404
    if SEES_PRIVATE[name]:
        assert private.status_code == 200, private.content
        body = private.json()
        assert body["input"] == {"run": PRIVATE_RUN} and [e["to_state"] for e in body["events"]] == ["pending"]
    else:
        assert private.status_code == 404
        assert private.json() == {"detail": f"No work item {work.private.pk}"}
        assert missing.json() == {"detail": "No work item 999999999"}
        assert PRIVATE_RUN not in private.content.decode()


@pytest.mark.parametrize("name", SEES_PRIVATE)
def test_failures_leave_out_hidden_items_and_their_messages(work, readers, name):
    fail(work.public, f"fastp failed on {PUBLIC_RUN}")
    fail(work.private, f"fastp failed on {PRIVATE_RUN}: truncated gzip")
    response = readers[name].get("/failures")
    assert response.status_code == 200
    failures = {item["external_ref"]: item["last_message"] for item in response.json()["items"]}
    expected = {PUBLIC_REF: f"fastp failed on {PUBLIC_RUN}"}
    if SEES_PRIVATE[name]:
        expected[PRIVATE_REF] = f"fastp failed on {PRIVATE_RUN}: truncated gzip"
    assert failures == expected
    assert response.json()["count"] == len(expected)
    assert (PRIVATE_RUN in response.content.decode()) is SEES_PRIVATE[name]
    assert sorted(readers[name].refs("/items", state="failed")) == expected_refs(name)


@pytest.mark.parametrize("name", SEES_PRIVATE)
def test_long_running_leaves_out_hidden_items(work, readers, name):
    run_long(work.public)
    run_long(work.private)
    assert sorted(readers[name].refs("/long-running")) == expected_refs(name)
    assert sorted(readers[name].refs("/long-running", pipeline="raw-reads")) == expected_refs(name)


@pytest.mark.parametrize("name", SEES_PRIVATE)
def test_summary_counts_only_visible_items(work, readers, name):
    fail(work.private, "boom")
    response = readers[name].get("/summary")
    assert response.status_code == 200
    pending = {"pipeline": "raw-reads", "version": "6.0.1", "state": "pending", "count": 1}
    failed = {"pipeline": "raw-reads", "version": "6.0.1", "state": "failed", "count": 1}
    expected = [failed, pending] if SEES_PRIVATE[name] else [pending]
    assert response.json() == expected
    assert readers[name].get("/summary", pipeline="raw-reads").json() == expected


@pytest.mark.parametrize("name", ["anonymous", "owner", "ledger admin token"])
def test_list_items_query_count_does_not_grow_with_the_page(pipeline, readers, name):
    """1 and 20 visible items (half of them private to the owner) take the same number of queries."""
    reader = readers[name]

    def register(first: int, count: int) -> None:
        runs = range(first, first + count)
        services.register_work(
            pipeline=pipeline,
            inputs=[{"run": f"ERR{2000000 + n}"} for n in runs],
            external_refs=[f"MGYA{n:08d}" for n in runs],
            owners=[OWNER if n % 2 else None for n in runs],
            actor="test",
        )

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = reader.get("/items", limit=100)
        assert response.status_code == 200
        return len(captured), response.json()["count"]

    register(0, 1)
    queries()  # a token's first use records last_used_at; not counted
    one, seen_one = queries()
    register(1, 19)
    twenty, seen_twenty = queries()
    assert seen_one == 1 and seen_twenty == (20 if SEES_PRIVATE[name] else 10)
    assert one == twenty


# --- registering privacy ---------------------------------------------------------------------


def test_api_registration_takes_private_to(pipeline, readers):
    wrapper = issue_token(name="w", role=TokenRole.PIPELINE, pipeline=pipeline).plaintext
    client = Client()

    def post(path: str, body: dict):
        return client.post(
            f"{BASE}/pipelines/raw-reads/6.0.1{path}",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {wrapper}"},
        )

    created = post("/items", {"input": {"run": PRIVATE_RUN}, "external_ref": PRIVATE_REF, "private_to": OWNER})
    assert created.status_code == 201 and created.json()["private_to"] == OWNER
    item = WorkItem.objects.get(pk=created.json()["id"])
    assert (item.is_private, item.webin_submitter) == (True, OWNER)
    assert readers["anonymous"].refs("/items") == [] and readers["owner"].refs("/items") == [PRIVATE_REF]

    # A client that omits private_to (e.g. one that predates it) never publishes a private item.
    again = post("/items", {"input": {"run": PRIVATE_RUN}, "external_ref": PRIVATE_REF})
    assert again.status_code == 200 and again.json()["private_to"] == OWNER
    assert readers["anonymous"].refs("/items") == []

    bulk = post(
        "/items/bulk",
        {
            "items": [
                {"input": {"run": PUBLIC_RUN}, "external_ref": PUBLIC_REF},
                {"input": {"run": "ERR8880001"}, "private_to": OTHER},
            ]
        },
    )
    assert bulk.status_code == 201
    assert [entry["private_to"] for entry in bulk.json()["items"]] == [None, OTHER]
    assert readers["anonymous"].refs("/items") == [PUBLIC_REF]
    assert sorted(readers["owner"].refs("/items")) == [PUBLIC_REF, PRIVATE_REF]
    assert sorted(readers["other submitter"].refs("/items")) == ["", PUBLIC_REF]  # its own private item

    for bad in ("webin-777", "Webin-", "Webin-777 ", "alice", "Webin-1" + "0" * 40):
        refused = post("/items", {"input": {"run": "ERR9"}, "private_to": bad})
        assert refused.status_code == 422, (bad, refused.content)
    assert not WorkItem.objects.filter(input={"run": "ERR9"}).exists()


def test_reregistration_sets_the_privacy_it_is_given(work):
    def register(owner: str | None, **kwargs: Any) -> WorkItem:
        [(item, created)] = services.register_work(
            pipeline=work.pipeline, inputs=[{"run": PRIVATE_RUN}], owners=[owner], actor="test", **kwargs
        )
        assert not created and item.pk == work.private.pk
        stored = WorkItem.objects.get(pk=item.pk)
        assert (stored.is_private, stored.webin_submitter) == (item.is_private, item.webin_submitter)
        return stored

    assert register(None, keep_private=True).is_private  # an API client that omits private_to
    public = register(None)  # the study was made public
    assert (public.is_private, public.webin_submitter) == (False, "")
    private = register(OWNER)
    assert (private.is_private, private.webin_submitter) == (True, OWNER)
    [(unchanged, _)] = services.register_work(pipeline=work.pipeline, inputs=[{"run": PRIVATE_RUN}], actor="test")
    assert (unchanged.is_private, unchanged.webin_submitter) == (True, OWNER)  # no owners: kept
    assert WorkItem.objects.count() == 2


# --- analyse-study registers its analyses' privacy -------------------------------------------


def _study_with_run(n: int, *, study_private: bool, run_private: bool) -> Study:
    """An ENA study with one run and its platform counterparts; private parts belong to ``OWNER``."""

    def privacy(private: bool) -> dict[str, Any]:
        return {"is_private": private, "webin_submitter": OWNER if private else ""}

    ena_study = ENAStudy.objects.create(accession=f"PRJEB{98000 + n}", **privacy(study_private))
    ena_sample = ENASample.objects.create(accession=f"SAMEA{9800000 + n}", study=ena_study, **privacy(run_private))
    ena_run = ENARun.objects.create(
        accession=f"ERR{9800000 + n}", study=ena_study, sample=ena_sample, **privacy(run_private)
    )
    study = Study.objects.create(ena_study=ena_study, ena_accessions=[ena_study.accession], **privacy(study_private))
    sample = Sample.objects.create(ena_sample=ena_sample, **privacy(run_private))
    sample.studies.add(study)
    Run.objects.create(ena_run=ena_run, study=study, sample=sample, **privacy(run_private))
    return study


def _registered_item(study: Study) -> tuple[WorkItem, Analysis]:
    registration = register_study_work(study=study, pipeline_name="raw-reads", pipeline_version="2.0.0", actor="test")
    [work] = registration.work
    return WorkItem.objects.get(pk=work.item_id), Analysis.objects.get(accession=work.accession)


@pytest.mark.parametrize(
    ("study_private", "run_private", "expected"),
    [(False, False, (False, "")), (True, True, (True, OWNER)), (True, False, (True, OWNER))],
    ids=["public", "private analysis", "public analysis of a private study"],
)
def test_analysis_ledger_registers_the_analysis_privacy(db, study_private, run_private, expected):
    item, analysis = _registered_item(_study_with_run(1, study_private=study_private, run_private=run_private))
    assert analysis.is_private is run_private
    assert (item.is_private, item.webin_submitter) == expected
    assert item.external_ref == analysis.accession


def test_a_study_made_public_makes_its_items_public(db, readers: dict[str, Reader]):
    study = _study_with_run(2, study_private=True, run_private=True)
    item, analysis = _registered_item(study)
    assert readers["anonymous"].refs("/items", external_ref=analysis.accession) == []
    assert readers["owner"].refs("/items", external_ref=analysis.accession) == [analysis.accession]
    for model in (Study, Run, Analysis):  # as the ENA sync does when the study is published
        model.objects.update(is_private=False)
    study.refresh_from_db()
    again, _ = _registered_item(study)
    assert again.pk == item.pk and (again.is_private, again.webin_submitter) == (False, "")
    assert readers["anonymous"].refs("/items", external_ref=analysis.accession) == [analysis.accession]


def test_migration_backfill_makes_items_of_private_analyses_private(db, pipeline):
    """Items registered before privacy existed (all public) take their analysis' privacy on migrating."""
    backfill = importlib.import_module("workflows.ledger.migrations.0003_workitem_privacy").BACKFILL_SQL
    private_analysis = _registered_item(_study_with_run(3, study_private=True, run_private=True))[1]
    of_private_study = _registered_item(_study_with_run(4, study_private=True, run_private=False))[1]
    public_analysis = _registered_item(_study_with_run(5, study_private=False, run_private=False))[1]
    WorkItem.objects.update(is_private=False, webin_submitter="")  # as before the migration
    services.register_work(
        pipeline=pipeline, inputs=[{"run": "ERR5"}], external_refs=["not-an-analysis"], actor="wrapper"
    )
    with connection.cursor() as cursor:
        cursor.execute(backfill)
    privacy = {
        ref: (p, owner)
        for ref, p, owner in WorkItem.objects.values_list("external_ref", "is_private", "webin_submitter")
    }
    assert privacy == {
        private_analysis.accession: (True, OWNER),
        of_private_study.accession: (True, OWNER),
        public_analysis.accession: (False, ""),
        "not-an-analysis": (False, ""),
    }
