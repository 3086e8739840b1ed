"""``/api/v2/work/``: the work ledger over HTTP (a thin layer over ``workflows.ledger``).

Writes need ``Authorization: Bearer emgl_...``: an admin token, or a pipeline token for its own
pipeline's work (403 elsewhere). Reads need nothing, but show only what the caller may see: every
item with a valid ledger token (pipelines' machines), else what ``WorkItem.objects.visible_to(user)``
shows the request's user (private items of private studies to their Webin owner); a hidden item is a
404 like a missing one. Refusals of the lifecycle are 409 with a message naming both states.
"""

from datetime import timedelta
from typing import Annotated, TypedDict

from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from core.api import ErrorOut
from core.errors import InvalidInput
from core.pagination import BoundedLimitOffsetPagination
from workflows.ledger import selectors, services
from workflows.ledger.errors import LeaseConflict
from workflows.ledger.models import APIToken, Pipeline, TokenRole, WorkItem, WorkState
from workflows.ledger.schemas import (
    MAX_EVENT_LIMIT,
    MAX_FAILURE_HOURS,
    BulkHeartbeatIn,
    ClaimIn,
    ClaimOut,
    EventOut,
    FailureOut,
    HeartbeatIn,
    HeartbeatOut,
    IssuedTokenOut,
    LeaseOut,
    MessageIn,
    PipelineIn,
    PipelineOut,
    ReapedOut,
    RegisterWorkIn,
    RegisterWorkOut,
    RegistrationOut,
    StateCountOut,
    StateIn,
    TokenIn,
    TokenOut,
    WorkInputIn,
    WorkItemDetailOut,
    WorkItemOut,
)
from workflows.ledger.tokens import (
    issue_token,
    ledger_auth,
    require_admin,
    require_items_access,
    require_pipeline_access,
    revoke_token,
    token_actor,
)

#: A pipeline's name and version as URL path segments: never empty, never holding a slash (which
#: would route the request elsewhere); the lengths are the model's.
PipelineName = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^/]+$", description="Pipeline name")]
PipelineVersion = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^/]+$", description="Pipeline version")]

router = Router(tags=["work ledger"])


ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409)}


def _token(request: HttpRequest) -> APIToken:
    return request.auth  # type: ignore[attr-defined]


def _pipeline(name: str, version: str) -> Pipeline:
    return selectors.pipeline_by_name(name=name, version=version)


class _Reader(TypedDict):
    viewer: object
    sees_all: bool


def _reader(request: HttpRequest) -> _Reader:
    """Who reads (keyword arguments of the selectors' reads): a valid ledger token sees every item.

    Anyone else sees what the request's user may see; a malformed, unknown, expired or revoked
    token counts as none (the reads need none), so it never shows more.
    """
    if ledger_auth(request) is not None:
        return {"viewer": None, "sees_all": True}
    return {"viewer": getattr(request, "user", None), "sees_all": False}


def _item_for_write(request: HttpRequest, item_id: int) -> WorkItem:
    """The item, if the request's token may act on it (403 otherwise)."""
    item = selectors.work_item(item_id=item_id)
    require_pipeline_access(_token(request), item.pipeline)
    return item


# --- pipelines ------------------------------------------------------------------------------


@router.get("/pipelines", response=list[PipelineOut], summary="List pipelines")
def list_pipelines(request: HttpRequest):
    return selectors.pipelines()


@router.post(
    "/pipelines",
    auth=ledger_auth,
    response={200: PipelineOut, 201: PipelineOut, **ERRORS},
    summary="Register a pipeline",
)
def register_pipeline(request: HttpRequest, payload: PipelineIn):
    """Admin token. Idempotent: 201 when created, 200 when (name, version) exists (settings updated)."""
    require_admin(_token(request))
    pipeline, created = services.register_pipeline(
        name=payload.name,
        version=payload.version,
        repository_uri=payload.repository_uri,
        description=payload.description,
        input_schema=payload.input_schema,
        expected_duration=timedelta(seconds=payload.expected_duration_seconds)
        if payload.expected_duration_seconds
        else None,
        long_running_factor=payload.long_running_factor,
        max_attempts=payload.max_attempts,
        lease_seconds=payload.lease_seconds,
    )
    return Status(201 if created else 200, pipeline)


@router.get("/pipelines/{name}/{version}", response={200: PipelineOut, 404: ErrorOut}, summary="One pipeline")
def get_pipeline(request: HttpRequest, name: PipelineName, version: PipelineVersion):
    return _pipeline(name, version)


# --- tokens ---------------------------------------------------------------------------------


@router.post("/tokens", auth=ledger_auth, response={201: IssuedTokenOut, **ERRORS}, summary="Mint a token")
def create_token(request: HttpRequest, payload: TokenIn):
    """Admin token. The response holds the token once; only its hash is stored."""
    token = _token(request)
    require_admin(token)
    pipeline = None
    if payload.role == TokenRole.PIPELINE:
        if not (payload.pipeline_name and payload.pipeline_version):
            raise InvalidInput("A pipeline token needs pipeline_name and pipeline_version")
        pipeline = _pipeline(payload.pipeline_name, payload.pipeline_version)
    elif payload.pipeline_name or payload.pipeline_version:
        raise InvalidInput("An admin token is not limited to a pipeline")
    if payload.expires_at is not None and payload.expires_at <= timezone.now():
        raise InvalidInput("expires_at is in the past")
    issued = issue_token(
        name=payload.name,
        role=payload.role,
        pipeline=pipeline,
        expires_at=payload.expires_at,
        created_by=token_actor(token),
    )
    issued.token.token = issued.plaintext  # shown in this response only
    return Status(201, issued.token)


@router.get(
    "/tokens", auth=ledger_auth, response={200: list[TokenOut], 403: ErrorOut}, summary="List tokens (no secrets)"
)
def list_tokens(request: HttpRequest):
    require_admin(_token(request))
    return selectors.tokens()


@router.post(
    "/tokens/{prefix}/revoke",
    auth=ledger_auth,
    response={200: TokenOut, 403: ErrorOut, 404: ErrorOut},
    summary="Revoke a token",
)
def revoke(request: HttpRequest, prefix: str):
    require_admin(_token(request))
    return revoke_token(token=selectors.token_by_prefix(prefix=prefix))


# --- registering and claiming work ----------------------------------------------------------


def _registration_out(item: WorkItem, created: bool) -> dict:
    return {
        "id": item.pk,
        "input_hash": item.input_hash,
        "state": item.state,
        "external_ref": item.external_ref,
        "created": created,
        "private_to": item.webin_submitter if item.is_private else None,
    }


@router.post(
    "/pipelines/{name}/{version}/items",
    auth=ledger_auth,
    response={200: RegistrationOut, 201: RegistrationOut, **ERRORS},
    summary="Register one unit of work",
)
def register_one(request: HttpRequest, name: PipelineName, version: PipelineVersion, payload: WorkInputIn):
    """201 when the input is new, 200 with the existing item when it is already registered."""
    pipeline = _pipeline(name, version)
    token = _token(request)
    require_pipeline_access(token, pipeline)
    [(item, created)] = services.register_work(
        pipeline=pipeline,
        inputs=[payload.input],
        external_refs=[payload.external_ref],
        owners=[payload.private_to],
        keep_private=True,  # a client that omits private_to never publishes a private item
        actor=token_actor(token),
    )
    return Status(201 if created else 200, _registration_out(item, created))


@router.post(
    "/pipelines/{name}/{version}/items/bulk",
    auth=ledger_auth,
    response={200: RegisterWorkOut, 201: RegisterWorkOut, **ERRORS},
    summary="Register units of work in bulk",
)
def register_bulk(request: HttpRequest, name: PipelineName, version: PipelineVersion, payload: RegisterWorkIn):
    """Idempotent; each result says whether it was created. 201 if anything was created, else 200."""
    pipeline = _pipeline(name, version)
    token = _token(request)
    require_pipeline_access(token, pipeline)
    registrations = services.register_work(
        pipeline=pipeline,
        inputs=[entry.input for entry in payload.items],
        external_refs=[entry.external_ref for entry in payload.items],
        owners=[entry.private_to for entry in payload.items],
        keep_private=True,  # a client that omits private_to never publishes a private item
        actor=token_actor(token),
    )
    created = sum(1 for _item, was_created in registrations if was_created)
    body = {
        "created": created,
        "existing": len(registrations) - created,
        "items": [_registration_out(item, was_created) for item, was_created in registrations],
    }
    return Status(201 if created else 200, body)


@router.post(
    "/pipelines/{name}/{version}/claim", auth=ledger_auth, response={200: ClaimOut, **ERRORS}, summary="Claim work"
)
def claim(request: HttpRequest, name: PipelineName, version: PipelineVersion, payload: ClaimIn):
    """Up to ``limit`` pending items, oldest first, each leased to ``holder``; none is given to two claimers."""
    pipeline = _pipeline(name, version)
    token = _token(request)
    require_pipeline_access(token, pipeline)
    items = services.claim(
        pipeline=pipeline,
        holder=payload.holder,
        limit=payload.limit,
        lease_seconds=payload.lease_seconds,
        actor=token_actor(token, payload.holder),
        among=payload.item_ids,
    )
    return {"items": items}


@router.post(
    "/items/{item_id}/heartbeat", auth=ledger_auth, response={200: LeaseOut, **ERRORS}, summary="Renew a lease"
)
def heartbeat_one(request: HttpRequest, item_id: int, payload: HeartbeatIn):
    """409 when the lease is lost (expired and reaped, cancelled, or held by someone else)."""
    item = _item_for_write(request, item_id)
    result = services.heartbeat(item_ids=[item.pk], holder=payload.holder, lease_seconds=payload.lease_seconds)
    if result.lost:
        item.refresh_from_db(fields=["state", "lease_holder"])
        raise LeaseConflict(
            f"Work item {item.pk} is not leased to '{payload.holder}' (it is {item.state}"
            + (f", held by '{item.lease_holder}'" if item.lease_holder else "")
            + "); stop working on it",
        )
    return {"id": item.pk, "lease_expires_at": result.renewed[item.pk]}


@router.post("/heartbeat", auth=ledger_auth, response={200: HeartbeatOut, **ERRORS}, summary="Renew many leases")
def heartbeat_many(request: HttpRequest, payload: BulkHeartbeatIn):
    """One statement for all the holder's items; ``lost`` lists those it must stop working on."""
    require_items_access(_token(request), payload.item_ids)
    result = services.heartbeat(item_ids=payload.item_ids, holder=payload.holder, lease_seconds=payload.lease_seconds)
    return {
        "renewed": [{"id": item_id, "lease_expires_at": at} for item_id, at in result.renewed.items()],
        "lost": result.lost,
    }


@router.post("/items/{item_id}/state", auth=ledger_auth, response={200: WorkItemOut, **ERRORS}, summary="Change state")
def update_state(request: HttpRequest, item_id: int, payload: StateIn):
    """running / done / failed / cancelled, or pending for a re-run of a failed item.

    While the item is claimed or running, ``holder`` must be its lease holder (409 otherwise); an
    admin token may omit it to act as an operator (e.g. cancel).
    """
    item = _item_for_write(request, item_id)
    token = _token(request)
    updated = services.transition(
        item=item,
        to_state=payload.to_state,
        actor=token_actor(token, payload.holder),
        holder=payload.holder,
        message=payload.message,
        data=payload.data,
        override_lease=token.role == TokenRole.ADMIN and payload.holder is None,
        reset_attempts=payload.reset_attempts,
    )
    updated.pipeline = item.pipeline
    return updated


@router.post(
    "/items/{item_id}/messages", auth=ledger_auth, response={201: EventOut, **ERRORS}, summary="Post a message"
)
def post_message(request: HttpRequest, item_id: int, payload: MessageIn):
    """Progress, errors or anything a wrapper wants kept on the item's event log."""
    item = _item_for_write(request, item_id)
    event = services.post_message(
        item=item,
        actor=token_actor(_token(request), payload.holder),
        kind=payload.kind,
        message=payload.message,
        data=payload.data,
    )
    return Status(201, event)


@router.post("/reap", auth=ledger_auth, response={200: list[ReapedOut], 403: ErrorOut}, summary="Reap expired leases")
def reap(request: HttpRequest):
    """Admin token. Claims reap their own pipeline anyway; this is for operators and cron."""
    require_admin(_token(request))
    return [vars(row) for row in services.reap_expired_leases()]


# --- reads (each caller sees what it may) ---------------------------------------------------


class ItemFilters(Schema):
    pipeline: str | None = None
    version: str | None = None
    state: WorkState | None = None
    external_ref: str | None = None
    input_hash: str | None = None
    holder: str | None = None


@router.get("/items", response=list[WorkItemOut], summary="List work items")
@paginate(BoundedLimitOffsetPagination)
def list_items(request: HttpRequest, filters: Query[ItemFilters]):
    """By pipeline, version and state (and external ref, input hash, holder), oldest first.

    Only the items the caller may see (all of them with a ledger token).
    """
    return selectors.work_items(
        **_reader(request),
        pipeline_name=filters.pipeline,
        pipeline_version=filters.version,
        state=filters.state,
        external_ref=filters.external_ref,
        input_hash=filters.input_hash,
        lease_holder=filters.holder,
    )


@router.get("/items/{item_id}", response={200: WorkItemDetailOut, 404: ErrorOut}, summary="A work item and its events")
def get_item(
    request: HttpRequest,
    item_id: int,
    event_limit: int = Query(
        selectors.DEFAULT_EVENT_LIMIT, ge=1, le=MAX_EVENT_LIMIT, description="Latest events to show"
    ),
):
    item, events = selectors.work_item_with_events(item_id=item_id, event_limit=event_limit, **_reader(request))
    item.recent_events = events
    return item


@router.get("/long-running", response=list[WorkItemOut], summary="Items running far beyond the usual duration")
@paginate(BoundedLimitOffsetPagination)
def long_running(request: HttpRequest, pipeline: str | None = None):
    """Claimed or running for longer than the pipeline's usual duration (median of recent items) x its factor."""
    return selectors.long_running_items(pipeline_name=pipeline, **_reader(request))


@router.get("/failures", response=list[FailureOut], summary="Recent failures")
@paginate(BoundedLimitOffsetPagination)
def failures(
    request: HttpRequest,
    pipeline: str | None = None,
    hours: float = Query(
        24,
        gt=0,
        le=MAX_FAILURE_HOURS,
        allow_inf_nan=False,
        description=f"How far back, at most {MAX_FAILURE_HOURS} (365 days)",
    ),
):
    """Items that failed in the last ``hours``, newest first, with their last message."""
    return selectors.recent_failures(
        pipeline_name=pipeline, since=timezone.now() - timedelta(hours=hours), **_reader(request)
    )


@router.get("/summary", response=list[StateCountOut], summary="Counts of items by pipeline and state")
def summary(request: HttpRequest, pipeline: str | None = None):
    """Counts of the items the caller may see."""
    return selectors.state_counts(pipeline_name=pipeline, **_reader(request))
