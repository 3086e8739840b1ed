"""The ledger's services against real Postgres: idempotent registration, claims, leases, lifecycle."""

from __future__ import annotations

import itertools
import time

import pytest
from django.db import IntegrityError

from workflows.ledger import services
from workflows.ledger.errors import AttemptsExhausted, IllegalTransition, InvalidInput, LeaseConflict, PipelineConflict
from workflows.ledger.models import EventKind, WorkEvent, WorkItem, WorkState
from workflows.ledger.services import ALLOWED_TRANSITIONS

pytestmark = pytest.mark.django_db


def register(pipeline, *runs):
    return services.register_work(pipeline=pipeline, inputs=[{"run": run} for run in runs], actor="test")


def test_registration_is_idempotent_and_canonical(pipeline):
    [(first, created)] = services.register_work(
        pipeline=pipeline, inputs=[{"run": "ERR1", "min_read_length": "50"}], actor="t"
    )
    assert created and first.state == WorkState.PENDING
    again = services.register_work(
        pipeline=pipeline,
        inputs=[{"min_read_length": 50.0, "run": "ERR1"}, {"run": "ERR1"}, {"run": "ERR2"}, {"run": "ERR2"}],
        actor="t",
    )
    assert [(item.pk == first.pk, created) for item, created in again[:2]] == [(True, False), (True, False)]
    assert again[2].created and not again[3].created and again[2].item.pk == again[3].item.pk
    assert WorkItem.objects.count() == 2
    assert WorkEvent.objects.filter(message=services.MESSAGE_REGISTERED).count() == 2


def test_identity_is_a_database_constraint(pipeline):
    [(item, _)] = register(pipeline, "ERR1")
    with pytest.raises(IntegrityError):
        WorkItem.objects.create(pipeline=pipeline, input={"run": "x"}, input_hash=item.input_hash)


def test_invalid_input_registers_nothing(pipeline):
    with pytest.raises(InvalidInput, match="Input #1"):
        services.register_work(pipeline=pipeline, inputs=[{"run": "a"}, {"run": "b", "bogus": 1}], actor="t")
    assert not WorkItem.objects.exists()


def test_pipeline_registration_is_idempotent_and_guards_the_schema(pipeline):
    same, created = services.register_pipeline(name="raw-reads", version="6.0.1", lease_seconds=99)
    assert not created and same.pk == pipeline.pk and same.lease_seconds == 99
    with pytest.raises(PipelineConflict):
        services.register_pipeline(name="raw-reads", version="6.0.1", input_schema={"type": "object"})


def test_claim_takes_oldest_first_with_leases_and_events(pipeline):
    registered = [register(pipeline, f"ERR{n}")[0].item for n in range(5)]  # five calls: five ages
    first = services.claim(pipeline=pipeline, holder="w1", limit=3, lease_seconds=60)
    assert [item.pk for item in first] == [item.pk for item in registered[:3]]
    assert all(i.state == WorkState.CLAIMED and i.attempts == 1 and i.lease_holder == "w1" for i in first)
    assert all(i.lease_expires_at is not None for i in first)
    second = services.claim(pipeline=pipeline, holder="w2", limit=10)
    assert [item.pk for item in second] == [item.pk for item in registered[3:]]
    assert services.claim(pipeline=pipeline, holder="w3", limit=10) == []
    assert WorkEvent.objects.filter(to_state=WorkState.CLAIMED).count() == 5


def test_claim_among_given_items_only(pipeline):
    a, b, c = (register(pipeline, f"ERR{n}")[0].item for n in range(3))
    assert services.claim(pipeline=pipeline, holder="w", limit=5, among=[]) == []
    assert [i.pk for i in services.claim(pipeline=pipeline, holder="w", limit=5, among=[c.pk, b.pk])] == [b.pk, c.pk]
    assert services.claim(pipeline=pipeline, holder="w2", among=[b.pk]) == []  # already claimed
    assert [i.pk for i in services.claim(pipeline=pipeline, holder="w2")] == [a.pk]


def test_claim_only_takes_its_own_pipeline(pipeline, other_pipeline):
    register(pipeline, "ERR1")
    assert services.claim(pipeline=other_pipeline, holder="w", limit=5) == []


def test_heartbeat_renews_only_the_holders_leases(pipeline):
    register(pipeline, "ERR1", "ERR2")
    a, b = services.claim(pipeline=pipeline, holder="w1", limit=2, lease_seconds=5)
    result = services.heartbeat(item_ids=[a.pk, b.pk], holder="w1", lease_seconds=600)
    assert set(result.renewed) == {a.pk, b.pk} and result.lost == []
    assert result.renewed[a.pk] > a.lease_expires_at
    assert services.heartbeat(item_ids=[a.pk], holder="intruder").lost == [a.pk]


def test_expired_lease_goes_back_to_pending_counted_as_an_attempt(pipeline):
    register(pipeline, "ERR1")
    [item] = services.claim(pipeline=pipeline, holder="w1", lease_seconds=1)
    services.transition(item=item, to_state=WorkState.RUNNING, actor="w1", holder="w1")
    time.sleep(1.2)
    [again] = services.claim(pipeline=pipeline, holder="w2")  # the claim reaps first
    assert again.pk == item.pk and again.attempts == 2 and again.lease_holder == "w2"
    expiry = WorkEvent.objects.get(item=item, from_state=WorkState.RUNNING, to_state=WorkState.PENDING)
    assert expiry.actor == services.SYSTEM_ACTOR and expiry.data["reason"] == services.REASON_LEASE_EXPIRED
    assert services.heartbeat(item_ids=[item.pk], holder="w1").lost == [item.pk]
    with pytest.raises(LeaseConflict):
        services.transition(item=item, to_state=WorkState.DONE, actor="w1", holder="w1")


def test_max_attempts_fails_an_item_for_good(pipeline):
    pipeline.max_attempts = 2
    pipeline.save()
    [(item, _)] = register(pipeline, "ERR1")
    for _attempt in range(2):
        [claimed] = services.claim(pipeline=pipeline, holder="w", lease_seconds=0.2)
        time.sleep(0.3)
    reaped = services.reap_expired_leases(pipeline=pipeline)
    assert [(r.item_id, r.to_state) for r in reaped] == [(item.pk, WorkState.FAILED)]
    item.refresh_from_db()
    assert item.state == WorkState.FAILED and item.attempts == 2 and item.finished_at
    assert services.claim(pipeline=pipeline, holder="w") == []
    with pytest.raises(AttemptsExhausted):
        services.transition(item=item, to_state=WorkState.PENDING, actor="curator")
    rerun = services.transition(item=item, to_state=WorkState.PENDING, actor="curator", reset_attempts=True)
    assert rerun.state == WorkState.PENDING and rerun.max_attempts == 4
    assert services.claim(pipeline=pipeline, holder="w")[0].attempts == 3


def test_full_lifecycle_and_messages(pipeline):
    register(pipeline, "ERR1")
    [item] = services.claim(pipeline=pipeline, holder="w")
    services.transition(item=item, to_state=WorkState.RUNNING, actor="w", holder="w")
    services.post_message(item=item, actor="w", kind=EventKind.PROGRESS, message="step 1/2", data={"step": 1})
    services.post_message(item=item, actor="w", kind=EventKind.ERROR, message="transient")
    done = services.transition(item=item, to_state=WorkState.DONE, actor="w", holder="w", message="ok")
    assert done.state == WorkState.DONE and done.started_at and done.finished_at and done.lease_expires_at is None
    kinds = list(WorkEvent.objects.filter(item=item).values_list("kind", "to_state"))
    assert kinds == [
        ("transition", "pending"),
        ("transition", "claimed"),
        ("transition", "running"),
        ("progress", ""),
        ("error", ""),
        ("transition", "done"),
    ]
    with pytest.raises(InvalidInput):
        services.post_message(item=item, actor="w", kind=EventKind.TRANSITION, message="no")


def test_failed_item_can_be_rerun(pipeline):
    register(pipeline, "ERR1")
    [item] = services.claim(pipeline=pipeline, holder="w")
    services.transition(item=item, to_state=WorkState.FAILED, actor="w", holder="w", message="exit 1")
    rerun = services.transition(item=item, to_state=WorkState.PENDING, actor="curator", message="re-run")
    assert rerun.state == WorkState.PENDING and rerun.lease_holder == "" and rerun.finished_at is None
    assert services.claim(pipeline=pipeline, holder="w2")[0].attempts == 2


ALL_PAIRS = list(itertools.product(WorkState, WorkState))
ILLEGAL = [(a, b) for a, b in ALL_PAIRS if b not in ALLOWED_TRANSITIONS[a]]
LEGAL = [(a, b) for a, b in ALL_PAIRS if b in ALLOWED_TRANSITIONS[a]]


def put_in_state(pipeline, state: WorkState) -> WorkItem:
    [(item, _)] = register(pipeline, f"ERR-{state}")
    leased = state in (WorkState.CLAIMED, WorkState.RUNNING)
    WorkItem.objects.filter(pk=item.pk).update(
        state=state,
        attempts=1,
        lease_holder="w" if leased else "",
        lease_expires_at=item.created_at.replace(year=2999) if leased else None,
    )
    return item


@pytest.mark.parametrize(("from_state", "to_state"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_illegal_transition_is_refused_naming_both_states(pipeline, from_state, to_state):
    item = put_in_state(pipeline, from_state)
    with pytest.raises(IllegalTransition) as refused:
        services.transition(item=item, to_state=to_state, actor="w", holder="w")
    assert str(refused.value).startswith(f"Cannot move work item {item.pk} from '{from_state}' to '{to_state}'")
    item.refresh_from_db()
    assert item.state == from_state
    assert not WorkEvent.objects.filter(item=item, from_state=from_state).exists()


@pytest.mark.parametrize(("from_state", "to_state"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_every_legal_transition_is_allowed(pipeline, from_state, to_state):
    item = put_in_state(pipeline, from_state)
    moved = services.transition(item=item, to_state=to_state, actor="w", holder="w")
    assert moved.state == to_state
    assert WorkEvent.objects.filter(item=item, from_state=from_state, to_state=to_state).count() == 1


@pytest.mark.parametrize("state", [WorkState.CLAIMED, WorkState.RUNNING])
def test_only_the_lease_holder_may_move_a_leased_item(pipeline, state):
    item = put_in_state(pipeline, state)
    with pytest.raises(LeaseConflict, match="not by 'other'"):
        services.transition(item=item, to_state=WorkState.FAILED, actor="other", holder="other")
    with pytest.raises(LeaseConflict):
        services.transition(item=item, to_state=WorkState.FAILED, actor="nobody")
    cancelled = services.transition(item=item, to_state=WorkState.CANCELLED, actor="admin:op", override_lease=True)
    assert cancelled.state == WorkState.CANCELLED
