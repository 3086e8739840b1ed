"""The work ledger's write paths: the one implementation of "each unit of work runs exactly once".

Flows, the API (``/api/v2/work/``) and management commands all call these functions, so the
guarantee is the same code wherever work comes from. Every function is keyword-only.

Example, as a flow uses it::

    from workflows.ledger import services as ledger
    from workflows.ledger.models import WorkState

    pipeline = ledger.ensure_pipeline(
        name="raw-reads", version="6.0.1", repository_uri="https://github.com/EBI-Metagenomics/raw-reads"
    )
    registrations = ledger.register_work(
        pipeline=pipeline,
        inputs=[{"run": "ERR123", "study": "MGYS00000001"}, {"run": "ERR124", "study": "MGYS00000001"}],
        external_refs=["MGYA00000010", "MGYA00000011"],
        actor="flow:analyse_study/<flow run id>",
    )
    new_items = [item for item, created in registrations if created]
    holder = "flow:analyse_study/<flow run id>"
    for item in ledger.claim(pipeline=pipeline, holder=holder, limit=10, lease_seconds=3600):
        ledger.transition(item=item, to_state=WorkState.RUNNING, actor=holder, holder=holder)
        ledger.heartbeat(item_ids=[item.pk], holder=holder)  # while it works, well within the lease
        ledger.post_message(item=item, actor=holder, message="sbatch job 1234 submitted", data={"job_id": 1234})
        ledger.transition(item=item, to_state=WorkState.DONE, actor=holder, holder=holder)

Lifecycle (``ALLOWED_TRANSITIONS``; anything else is :class:`IllegalTransition`, HTTP 409)::

    pending -> claimed        only by claim(), which sets a lease and counts an attempt
    claimed -> running | failed | cancelled
    running -> done | failed | cancelled
    failed  -> pending (a re-run) | cancelled
    cancelled -> pending    a re-run of cancelled work (an operator stopped it, then wants it after all)
    claimed/running -> pending  only by expiry of the lease (reap_expired_leases); -> failed when
                                the item has used max_attempts attempts
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pydantic import BaseModel

from workflows.ledger.canonical import InputError, SchemaDefinitionError, canonicalise_and_hash, schema_from
from workflows.ledger.errors import (
    AttemptsExhausted,
    IllegalTransition,
    InvalidInput,
    LeaseConflict,
    PipelineConflict,
)
from workflows.ledger.models import LEASED_STATES, EventKind, Pipeline, WorkEvent, WorkItem, WorkState

SYSTEM_ACTOR = "system"
MAX_CLAIM_BATCH = 1000
MAX_REGISTER_BATCH = 50_000
REAP_BATCH = 1000

# Keys of WorkEvent.data
DATA_ATTEMPT = "attempt"
DATA_LEASE_EXPIRES_AT = "lease_expires_at"
DATA_HOLDER = "holder"
DATA_REASON = "reason"
REASON_LEASE_EXPIRED = "lease_expired"
REASON_ATTEMPTS_EXHAUSTED = "attempts_exhausted"
MESSAGE_REGISTERED = "registered"

_S = WorkState
#: The transitions a caller may ask for with :func:`transition`. Claiming and lease expiry are
#: done by :func:`claim` and :func:`reap_expired_leases` only.
ALLOWED_TRANSITIONS: dict[WorkState, frozenset[WorkState]] = {
    _S.PENDING: frozenset({_S.CANCELLED}),
    _S.CLAIMED: frozenset({_S.RUNNING, _S.FAILED, _S.CANCELLED}),
    _S.RUNNING: frozenset({_S.DONE, _S.FAILED, _S.CANCELLED}),
    _S.FAILED: frozenset({_S.PENDING, _S.CANCELLED}),
    _S.DONE: frozenset(),
    _S.CANCELLED: frozenset({_S.PENDING}),
}
#: States from which a requested re-run puts an item back to pending.
RERUNNABLE_STATES = (_S.FAILED, _S.CANCELLED)
MESSAGE_KINDS = (EventKind.MESSAGE, EventKind.PROGRESS, EventKind.ERROR)


class Registration(NamedTuple):
    item: WorkItem
    created: bool


@dataclass(frozen=True)
class HeartbeatResult:
    renewed: dict[int, datetime]
    lost: list[int]


@dataclass(frozen=True)
class ReapedItem:
    item_id: int
    from_state: str
    to_state: str
    holder: str
    attempts: int


# --- pipelines ------------------------------------------------------------------------------


def register_pipeline(
    *,
    name: str,
    version: str,
    repository_uri: str = "",
    description: str | None = None,
    input_schema: Mapping[str, Any] | type[BaseModel] | None = None,
    expected_duration: timedelta | None = None,
    long_running_factor: float | None = None,
    max_attempts: int | None = None,
    lease_seconds: int | None = None,
) -> tuple[Pipeline, bool]:
    """Create the pipeline (name, version), or return the existing one (idempotent, race-safe).

    Settings given for an existing pipeline update it, except the input schema: it decides the
    identity of work items, so a different schema for an existing pipeline is refused.

    :param input_schema: a JSON Schema (subset) or a pydantic model of a work item's input
    :returns: ``(pipeline, created)``
    :raises PipelineConflict: if the pipeline exists with a different input schema
    :raises SchemaDefinitionError: if the schema cannot be compiled (the message starts ``input_schema:``)
    """
    try:
        schema = schema_from(input_schema)
    except SchemaDefinitionError as error:
        raise SchemaDefinitionError(f"input_schema: {error}") from None
    settings: dict[str, Any] = {
        key: value
        for key, value in {
            "repository_uri": repository_uri or None,
            "description": description,
            "expected_duration": expected_duration,
            "long_running_factor": long_running_factor,
            "max_attempts": max_attempts,
            "lease_seconds": lease_seconds,
        }.items()
        if value is not None
    }
    try:
        with transaction.atomic():
            pipeline, created = Pipeline.objects.get_or_create(
                name=name, version=version, defaults={**settings, "input_schema": schema}
            )
    except IntegrityError:  # lost a race with a concurrent registration
        pipeline, created = Pipeline.objects.get(name=name, version=version), False
    if created:
        return pipeline, True
    if input_schema is not None and pipeline.input_schema != schema:
        raise PipelineConflict(
            f"Pipeline {name} {version} is registered with a different input schema; register a new version."
        )
    changed = [key for key, value in settings.items() if getattr(pipeline, key) != value]
    if changed:
        for key in changed:
            setattr(pipeline, key, settings[key])
        pipeline.save(update_fields=[*changed, "updated_at"])
    return pipeline, False


def ensure_pipeline(
    *,
    name: str,
    version: str,
    repository_uri: str = "",
    input_schema: Mapping[str, Any] | type[BaseModel] | None = None,
    **settings: Any,
) -> Pipeline:
    """:func:`register_pipeline` for callers that do not care whether it was created."""
    pipeline, _created = register_pipeline(
        name=name, version=version, repository_uri=repository_uri, input_schema=input_schema, **settings
    )
    return pipeline


# --- registering work -----------------------------------------------------------------------

_REGISTER_SQL = """
WITH rows AS (
    SELECT r.input_hash, r.input, r.external_ref, r.ord, r.is_private, r.webin_submitter
    FROM jsonb_to_recordset(%(rows)s::jsonb)
        AS r(input_hash text, input jsonb, external_ref text, ord int, is_private bool, webin_submitter text)
    ORDER BY r.ord
), inserted AS (
    INSERT INTO workflows_workitem
        (pipeline_id, input, input_hash, external_ref, state, attempts, max_attempts, lease_holder,
         is_private, webin_submitter)
    SELECT %(pipeline_id)s, rows.input, rows.input_hash, rows.external_ref, 'pending', 0, %(max_attempts)s, '',
           rows.is_private, rows.webin_submitter
    FROM rows ORDER BY rows.input_hash
    ON CONFLICT (pipeline_id, input_hash) DO NOTHING
    RETURNING id, input_hash
), events AS (
    INSERT INTO workflows_workevent (item_id, actor, kind, from_state, to_state, message, data)
    SELECT inserted.id, %(actor)s, 'transition', '', 'pending', %(message)s, '{}'::jsonb FROM inserted
)
SELECT input_hash FROM inserted
"""

# Existing items take the privacy they are registered with now. Only rows whose privacy changes are
# locked, in id order, so concurrent registrars of one study cannot deadlock; with ``keep_private``
# a public registration leaves a private item private.
_REPRIVATISE_SQL = """
WITH rows AS (
    SELECT r.input_hash, r.is_private, r.webin_submitter
    FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(input_hash text, is_private bool, webin_submitter text)
), target AS (
    SELECT w.id, rows.is_private, rows.webin_submitter
    FROM workflows_workitem AS w JOIN rows ON rows.input_hash = w.input_hash
    WHERE w.pipeline_id = %(pipeline_id)s
      AND (w.is_private, w.webin_submitter) IS DISTINCT FROM (rows.is_private, rows.webin_submitter)
      AND (rows.is_private OR NOT %(keep_private)s)
    ORDER BY w.id
    FOR UPDATE OF w
)
UPDATE workflows_workitem AS w
SET is_private = target.is_private, webin_submitter = target.webin_submitter, updated_at = statement_timestamp()
FROM target WHERE w.id = target.id
"""

#: The longest Webin account id an item can be private to (``PrivacyMixin.webin_submitter``).
MAX_OWNER_LENGTH = 32


def canonical_inputs(*, pipeline: Pipeline, inputs: Sequence[Mapping[str, Any]]) -> list[tuple[Any, str]]:
    """``(canonical input, hash)`` of each input, in order.

    :raises InvalidInput: naming the first input (by position) that does not match the schema
    """
    result = []
    for position, raw in enumerate(inputs):
        try:
            result.append(
                canonicalise_and_hash(
                    raw, schema=pipeline.input_schema, pipeline_name=pipeline.name, pipeline_version=pipeline.version
                )
            )
        except InputError as error:
            raise InvalidInput(f"Input #{position}: {error}") from None
    return result


def register_work(
    *,
    pipeline: Pipeline,
    inputs: Sequence[Mapping[str, Any]],
    actor: str,
    external_refs: Sequence[str] | None = None,
    owners: Sequence[str | None] | None = None,
    keep_private: bool = False,
) -> list[Registration]:
    """Register units of work, idempotently: one ``INSERT ... ON CONFLICT DO NOTHING``, then a select.

    An input that is already registered (under the pipeline's canonical form) returns the existing
    item with ``created=False``, also when another process registers it at the same moment; an
    input repeated within ``inputs`` is created once and reported as not created the second time.

    Rows are inserted in hash order, so registrars of overlapping batches take the unique-index
    locks in the same order and cannot deadlock; items of one call share ``created_at``, so claims
    take them in that (hash) order after all older work.

    Privacy: items whose input is private data are hidden from the ledger's reads but for their
    owner (see :mod:`workflows.ledger.selectors`). With ``owners``, each input's privacy is the one
    given now, for new and existing items alike: the registrar knows the data's current privacy (a
    study made public makes its items public on their next registration). Without ``owners``,
    new items are public and existing ones keep their privacy.

    :param inputs: the raw inputs; each is canonicalised with the pipeline's input schema
    :param actor: who registers (recorded on the ``registered`` event of each new item)
    :param external_refs: optional, one per input (e.g. the MGYA accession each item produces)
    :param owners: optional, one per input: the Webin account (e.g. ``Webin-777``) the item is private
        to, ``""`` for private data of no known owner (seen only by those who see all), or ``None`` for
        a public item (an input repeated in one call takes its first entry's)
    :param keep_private: a ``None`` owner does not make an existing private item public (for callers
        that may not know the item's privacy, e.g. API clients that omit ``private_to``)
    :returns: one :class:`Registration` ``(item, created)`` per input, in the same order
    :raises InvalidInput: if an input does not match the schema or an owner is too long (nothing is
        registered)
    """
    if len(inputs) > MAX_REGISTER_BATCH:
        raise InvalidInput(f"At most {MAX_REGISTER_BATCH} inputs per call, got {len(inputs)}")
    if external_refs is not None and len(external_refs) != len(inputs):
        raise InvalidInput("external_refs must have one entry per input")
    if owners is not None:
        if len(owners) != len(inputs):
            raise InvalidInput("owners must have one entry per input")
        for position, owner in enumerate(owners):
            if owner is not None and len(owner) > MAX_OWNER_LENGTH:
                raise InvalidInput(
                    f"Input #{position}: an owner is a Webin account of at most {MAX_OWNER_LENGTH} characters"
                )
    canon = canonical_inputs(pipeline=pipeline, inputs=inputs)
    first_position: dict[str, int] = {}
    rows = []
    for position, (value, digest) in enumerate(canon):
        if digest in first_position:
            continue
        first_position[digest] = position
        ref = (external_refs[position] if external_refs is not None else "") or ""
        owner = owners[position] if owners is not None else None
        rows.append(
            {
                "input_hash": digest,
                "input": value,
                "external_ref": ref,
                "ord": position,
                "is_private": owner is not None,
                "webin_submitter": owner or "",
            }
        )
    if not rows:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _REGISTER_SQL,
            {
                "rows": json.dumps(rows, ensure_ascii=False),
                "pipeline_id": pipeline.pk,
                "max_attempts": pipeline.max_attempts,
                "actor": actor,
                "message": MESSAGE_REGISTERED,
            },
        )
        created_hashes = {row[0] for row in cursor.fetchall()}
        existing = [
            {key: row[key] for key in ("input_hash", "is_private", "webin_submitter")}
            for row in rows
            if row["input_hash"] not in created_hashes
        ]
        if owners is not None and existing:
            cursor.execute(
                _REPRIVATISE_SQL,
                {"rows": json.dumps(existing), "pipeline_id": pipeline.pk, "keep_private": keep_private},
            )
    items = {
        item.input_hash: item for item in WorkItem.objects.filter(pipeline=pipeline, input_hash__in=first_position)
    }
    for item in items.values():
        item.pipeline = pipeline
    missing = set(first_position) - set(items)
    if missing:  # only if an item was deleted between the two statements
        raise LeaseConflict(f"{len(missing)} work items vanished while they were being registered; try again")
    return [
        Registration(items[digest], digest in created_hashes and first_position[digest] == position)
        for position, (_value, digest) in enumerate(canon)
    ]


# --- claiming, leases -----------------------------------------------------------------------

_CLAIM_SQL = """
WITH picked AS (
    SELECT id FROM workflows_workitem
    WHERE pipeline_id = %(pipeline_id)s AND state = 'pending' {among_filter}
    ORDER BY created_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE workflows_workitem AS w
    SET state = 'claimed', lease_holder = %(holder)s, attempts = w.attempts + 1,
        lease_expires_at = statement_timestamp() + make_interval(secs => %(lease_seconds)s),
        claimed_at = statement_timestamp(), started_at = NULL, finished_at = NULL, updated_at = statement_timestamp()
    FROM picked WHERE w.id = picked.id
    RETURNING w.*
), events AS (
    INSERT INTO workflows_workevent (item_id, actor, kind, from_state, to_state, message, data)
    SELECT id, %(actor)s, 'transition', 'pending', 'claimed', '',
           jsonb_build_object('attempt', attempts, 'holder', lease_holder, 'lease_expires_at', lease_expires_at)
    FROM claimed
)
SELECT * FROM claimed ORDER BY created_at, id
"""


def claim(
    *,
    pipeline: Pipeline,
    holder: str,
    limit: int = 1,
    lease_seconds: int | None = None,
    actor: str | None = None,
    among: Sequence[int] | None = None,
    reap: bool = True,
) -> list[WorkItem]:
    """Claim up to ``limit`` pending items of ``pipeline``, oldest first, each with a lease for ``holder``.

    One SQL statement (``UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED)`` with the events
    inserted in the same statement), so concurrent claimers never get the same item and never wait
    for each other; no row but the claimed items is locked. Expired leases of the pipeline are
    reaped first (cheap: a partial index, ``SKIP LOCKED``), so no cron job is needed.

    :param holder: who will do the work (e.g. ``host:pid`` or a flow run id); needed for updates
    :param limit: at most this many items (1..``MAX_CLAIM_BATCH``)
    :param lease_seconds: lease length; default the pipeline's ``lease_seconds``
    :param actor: recorded on the events; default ``holder``
    :param among: only these item ids (a flow claiming the items it registered, one by one)
    :returns: the claimed items (state ``claimed``), possibly fewer than ``limit`` or none
    """
    if not holder:
        raise InvalidInput("A claim needs a non-empty holder")
    if not 1 <= limit <= MAX_CLAIM_BATCH:
        raise InvalidInput(f"limit must be between 1 and {MAX_CLAIM_BATCH}, got {limit}")
    if reap:  # a claim of given items reaps only those, so claimers of other items never wait on its reaping
        reap_expired_leases(pipeline=pipeline, among=among)
    params = {
        "pipeline_id": pipeline.pk,
        "limit": limit,
        "holder": holder,
        "lease_seconds": float(lease_seconds or pipeline.lease_seconds),
        "actor": actor or holder,
        "among": [int(item_id) for item_id in among] if among is not None else None,
    }
    sql = _CLAIM_SQL.format(among_filter="AND id = ANY(%(among)s)" if among is not None else "")
    items = list(WorkItem.objects.raw(sql, params))
    for item in items:
        item.pipeline = pipeline
    return items


_HEARTBEAT_SQL = """
UPDATE workflows_workitem AS w
SET lease_expires_at = statement_timestamp() + make_interval(secs => COALESCE(%(lease_seconds)s, p.lease_seconds)),
    updated_at = statement_timestamp()
FROM workflows_pipeline AS p
WHERE p.id = w.pipeline_id AND w.id = ANY(%(ids)s) AND w.lease_holder = %(holder)s
  AND w.state IN ('claimed', 'running')
RETURNING w.id, w.lease_expires_at
"""


def heartbeat(*, item_ids: Sequence[int], holder: str, lease_seconds: int | None = None) -> HeartbeatResult:
    """Renew ``holder``'s leases on ``item_ids`` (one statement for all of them).

    An item is *lost* when it is no longer claimed or running for ``holder`` (its lease expired
    and it was reaped, or it was cancelled): the worker must stop working on it.

    :param lease_seconds: new lease length from now; default each item's pipeline ``lease_seconds``
    """
    ids = list(dict.fromkeys(int(item_id) for item_id in item_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            _HEARTBEAT_SQL,
            {"ids": ids, "holder": holder, "lease_seconds": float(lease_seconds) if lease_seconds else None},
        )
        renewed = dict(cursor.fetchall())
    return HeartbeatResult(renewed=renewed, lost=[item_id for item_id in ids if item_id not in renewed])


_REAP_SQL = """
WITH expired AS (
    SELECT id, state AS old_state, lease_holder AS old_holder FROM workflows_workitem
    WHERE state IN ('claimed', 'running') AND lease_expires_at < statement_timestamp() {pipeline_filter}
          {among_filter}
    ORDER BY lease_expires_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), reaped AS (
    UPDATE workflows_workitem AS w
    SET state = CASE WHEN w.attempts >= w.max_attempts THEN 'failed' ELSE 'pending' END,
        lease_holder = CASE WHEN w.attempts >= w.max_attempts THEN w.lease_holder ELSE '' END,
        lease_expires_at = NULL,
        finished_at = CASE WHEN w.attempts >= w.max_attempts THEN statement_timestamp() ELSE NULL END,
        updated_at = statement_timestamp()
    FROM expired WHERE w.id = expired.id
    RETURNING w.id, expired.old_state, w.state, expired.old_holder, w.attempts, w.max_attempts
), events AS (
    INSERT INTO workflows_workevent (item_id, actor, kind, from_state, to_state, message, data)
    SELECT id, %(actor)s, 'transition', old_state, state,
           CASE WHEN state = 'failed'
                THEN 'Lease of ' || old_holder || ' expired; all ' || max_attempts || ' attempts used'
                ELSE 'Lease of ' || old_holder || ' expired; back to pending after attempt ' || attempts END,
           jsonb_build_object('reason', CASE WHEN state = 'failed' THEN %(exhausted)s ELSE %(expired)s END,
                              'holder', old_holder, 'attempt', attempts)
    FROM reaped
)
SELECT id, old_state, state, old_holder, attempts FROM reaped
"""


def reap_expired_leases(
    *, pipeline: Pipeline | None = None, limit: int = REAP_BATCH, among: Sequence[int] | None = None
) -> list[ReapedItem]:
    """Return items whose lease expired to ``pending`` (or ``failed`` after ``max_attempts`` attempts).

    The attempt the crashed worker used stays counted. Rows another transaction holds are skipped
    (they are reaped by a later call), so this never waits.

    :param pipeline: only this pipeline's items; default all
    :param limit: at most this many items per call
    :param among: only these item ids
    """
    sql = _REAP_SQL.format(
        pipeline_filter="AND pipeline_id = %(pipeline_id)s" if pipeline else "",
        among_filter="AND id = ANY(%(among)s)" if among is not None else "",
    )
    params = {
        "limit": limit,
        "actor": SYSTEM_ACTOR,
        "exhausted": REASON_ATTEMPTS_EXHAUSTED,
        "expired": REASON_LEASE_EXPIRED,
        "pipeline_id": pipeline.pk if pipeline else None,
        "among": [int(item_id) for item_id in among] if among is not None else None,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [ReapedItem(*row) for row in cursor.fetchall()]


# --- lifecycle ------------------------------------------------------------------------------


def check_transition(*, item_id: int, from_state: str, to_state: str) -> None:
    """:raises IllegalTransition: unless ``from_state -> to_state`` is in :data:`ALLOWED_TRANSITIONS`."""
    try:
        allowed = ALLOWED_TRANSITIONS[WorkState(from_state)]
        target = WorkState(to_state)
    except ValueError:
        raise IllegalTransition(
            f"Cannot move work item {item_id} from '{from_state}' to '{to_state}': unknown state"
        ) from None
    if target not in allowed:
        hint = " (items are claimed with the claim operation)" if target == WorkState.CLAIMED else ""
        raise IllegalTransition(f"Cannot move work item {item_id} from '{from_state}' to '{to_state}'{hint}")


def transition(
    *,
    item: WorkItem | int,
    to_state: WorkState | str,
    actor: str,
    holder: str | None = None,
    message: str = "",
    data: Mapping[str, Any] | None = None,
    override_lease: bool = False,
    reset_attempts: bool = False,
) -> WorkItem:
    """Move one item to ``to_state``, under a lock on that item's row only, and log the event.

    :param holder: the lease holder making the change; required (and must match) while the item
        is claimed or running, unless ``override_lease`` (operators, admin tokens)
    :param reset_attempts: for a re-run (``failed -> pending``) of an item that used all its
        attempts: grant the pipeline's ``max_attempts`` again (the attempt count itself is kept)
    :raises IllegalTransition: for a change the lifecycle does not allow
    :raises LeaseConflict: if ``holder`` does not hold the lease
    :raises AttemptsExhausted: for a re-run of an exhausted item without ``reset_attempts``
    :raises WorkItem.DoesNotExist: if there is no such item
    """
    item_id = item.pk if isinstance(item, WorkItem) else int(item)
    with transaction.atomic():
        locked = WorkItem.objects.select_for_update(of=("self",)).get(pk=item_id)
        from_state = WorkState(locked.state)
        if from_state in LEASED_STATES and not override_lease and holder != locked.lease_holder:
            raise LeaseConflict(
                f"Work item {item_id} is {from_state} by '{locked.lease_holder}', not by '{holder or ''}'"
            )
        check_transition(item_id=item_id, from_state=from_state, to_state=to_state)
        target = WorkState(to_state)
        now = timezone.now()
        update_fields = ["state", "updated_at"]
        if target == WorkState.PENDING:
            if locked.attempts >= locked.max_attempts:
                if not reset_attempts:
                    raise AttemptsExhausted(
                        f"Work item {item_id} has used all {locked.max_attempts} attempts; "
                        "ask for the re-run with reset_attempts"
                    )
                locked.max_attempts = locked.attempts + Pipeline.objects.values_list("max_attempts", flat=True).get(
                    pk=locked.pipeline_id
                )
                update_fields.append("max_attempts")
            locked.lease_holder, locked.lease_expires_at = "", None
            locked.claimed_at = locked.started_at = locked.finished_at = None
            update_fields += ["lease_holder", "lease_expires_at", "claimed_at", "started_at", "finished_at"]
        elif target == WorkState.RUNNING:
            locked.started_at = now
            update_fields.append("started_at")
        else:  # done, failed, cancelled: final until a re-run
            locked.finished_at, locked.lease_expires_at = now, None
            update_fields += ["finished_at", "lease_expires_at"]
        locked.state = target
        locked.updated_at = now
        locked.save(update_fields=update_fields)
        WorkEvent.objects.create(
            item=locked,
            actor=actor,
            kind=EventKind.TRANSITION,
            from_state=from_state,
            to_state=target,
            message=message,
            data=dict(data or {}),
        )
    return locked


def post_message(
    *,
    item: WorkItem | int,
    actor: str,
    message: str,
    kind: EventKind | str = EventKind.MESSAGE,
    data: Mapping[str, Any] | None = None,
) -> WorkEvent:
    """Keep a wrapper's message (progress, an error, anything) on the item's event log.

    :param kind: ``message``, ``progress`` or ``error``
    :raises InvalidInput: for another kind
    """
    if kind not in MESSAGE_KINDS:
        raise InvalidInput(f"A message's kind is one of {', '.join(MESSAGE_KINDS)}, not '{kind}'")
    item_id = item.pk if isinstance(item, WorkItem) else int(item)
    if not WorkItem.objects.filter(pk=item_id).exists():
        raise WorkItem.DoesNotExist(f"No work item {item_id}")
    return WorkEvent.objects.create(item_id=item_id, actor=actor, kind=kind, message=message, data=dict(data or {}))
