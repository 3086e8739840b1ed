"""The lease of an analysis: a heartbeat keeps it whatever step runs, and a lost claim is noticed.

Real Postgres, real threads: the heartbeat renews from its own thread and connection.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from workflows.analysis_ledger import Lease
from workflows.analysis_runner import AnalysisOutcome, ClaimLost, Outcome
from workflows.ledger import services as ledger
from workflows.ledger.models import EventKind, WorkItem, WorkState

pytestmark = pytest.mark.django_db(transaction=True)

HOLDER = "flow:first"


def claimed_item(lease_seconds: int) -> WorkItem:
    pipeline = ledger.ensure_pipeline(name="lease-test", version="1", lease_seconds=lease_seconds)
    ledger.register_work(pipeline=pipeline, inputs=[{"run": "ERR1"}], external_refs=["MGYA1"], actor="test")
    [item] = ledger.claim(pipeline=pipeline, holder=HOLDER)
    ledger.transition(item=item, to_state=WorkState.RUNNING, actor=HOLDER, holder=HOLDER)
    return item


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_the_heartbeat_keeps_a_lease_far_past_its_length_and_nobody_else_can_claim() -> None:
    item = claimed_item(lease_seconds=2)
    lease = Lease(item, HOLDER, lease_seconds=2)
    lease.start_heartbeat()
    try:
        time.sleep(5)  # 2.5 leases, no call from the "work"
        assert not ledger.claim(pipeline=item.pipeline, holder="flow:second"), "the item was reaped"
        item.refresh_from_db()
        assert item.state == WorkState.RUNNING and item.lease_holder == HOLDER
        assert item.lease_expires_at > timezone.now()
        assert lease.renewals >= 6 and not lease.lost
    finally:
        lease.stop_heartbeat()
    time.sleep(2.5)  # without the heartbeat, the lease lapses: the next claim reaps and takes it
    [taken] = ledger.claim(pipeline=item.pipeline, holder="flow:second")
    assert taken.pk == item.pk and taken.attempts == 2


def test_a_lease_that_lapsed_and_was_claimed_by_another_holder_is_lost() -> None:
    item = claimed_item(lease_seconds=2)
    lease = Lease(item, HOLDER, lease_seconds=2)
    # as after a database outage longer than the lease: it lapsed, another holder claimed the item
    WorkItem.objects.filter(pk=item.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    [taken] = ledger.claim(pipeline=item.pipeline, holder="flow:second")
    lease.start_heartbeat()
    try:
        assert wait_until(lambda: lease.lost), "the heartbeat did not notice"
    finally:
        lease.stop_heartbeat()
    taken.refresh_from_db()
    assert taken.lease_holder == "flow:second"


def test_finishing_a_claim_that_is_gone_raises_claim_lost_and_writes_nothing() -> None:
    item = claimed_item(lease_seconds=600)
    lease = Lease(item, HOLDER, lease_seconds=600)
    ledger.transition(item=item, to_state=WorkState.CANCELLED, actor="admin:curator", override_lease=True)

    with pytest.raises(ClaimLost):
        lease.finish(AnalysisOutcome(accession="MGYA1", run_accession="ERR1", outcome=Outcome.COMPLETED))

    assert lease.lost
    item.refresh_from_db()
    assert item.state == WorkState.CANCELLED


def test_notes_go_on_the_items_event_log() -> None:
    item = claimed_item(lease_seconds=600)
    lease = Lease(item, HOLDER, lease_seconds=600)
    lease.note("adopted head job 42 (follow): head job 42 is RUNNING", {"head_job_id": "42"})
    event = item.events.filter(kind=EventKind.PROGRESS).get()
    assert event.actor == HOLDER and event.data == {"head_job_id": "42"}


def test_a_pipelines_lease_comes_from_its_expected_duration_within_bounds() -> None:
    from workflows.pipelines import get_pipeline

    raw_reads = get_pipeline("raw-reads", "2.0.0")
    assert raw_reads.expected_duration.total_seconds() == 20 * 60
    assert raw_reads.lease_seconds == 60  # a twentieth, and at least a minute
