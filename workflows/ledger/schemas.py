"""Request and response schemas of ``/api/v2/work/`` (ninja/pydantic), with OpenAPI examples."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import ConfigDict

from workflows.ledger.models import EventKind, Pipeline, TokenRole, WorkItem, WorkState
from workflows.ledger.services import MAX_CLAIM_BATCH, MAX_REGISTER_BATCH

EXAMPLE_SCHEMA = {
    "type": "object",
    "properties": {
        "run": {"type": "string"},
        "study": {"type": "string"},
        "min_read_length": {"type": "integer", "default": 50},
    },
    "required": ["run"],
    "additionalProperties": False,
}


#: Postgres ``bigint`` (ids) holds at most this.
BIGINT_MAX = 2**63 - 1
#: Sensible maxima of a pipeline's settings, each well inside its column (``integer``, at most 2**31 - 1, for
#: the counts; ``interval``, and Python's ``timedelta``, for the durations; usual duration x factor included).
MAX_ATTEMPTS = 1000
MAX_LEASE_SECONDS = 30 * 24 * 3600
MAX_EXPECTED_DURATION_SECONDS = 365 * 24 * 3600
MAX_LONG_RUNNING_FACTOR = 1000.0
#: ``GET /items/{id}?event_limit=`` and ``GET /failures?hours=`` at most.
MAX_EVENT_LIMIT = 1000
MAX_FAILURE_HOURS = 365 * 24

#: A work item id in a request body: a positive ``bigint``.
ItemId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


# --- pipelines and tokens -------------------------------------------------------------------


class PipelineIn(Schema):
    model_config = _examples(
        {
            "name": "raw-reads",
            "version": "6.0.1",
            "repository_uri": "https://github.com/EBI-Metagenomics/raw-reads",
            "input_schema": EXAMPLE_SCHEMA,
            "expected_duration_seconds": 7200,
            "max_attempts": 3,
            "lease_seconds": 600,
        }
    )

    # Both are URL path segments of the pipeline's endpoints: never empty, never holding a slash.
    name: str = Field(min_length=1, max_length=128, pattern=r"^[^/]+$")
    version: str = Field(min_length=1, max_length=64, pattern=r"^[^/]+$")
    repository_uri: str = Field("", max_length=1024)
    description: str | None = None
    input_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema (subset) of a work item's input; decides its canonical form"
    )
    expected_duration_seconds: int | None = Field(None, ge=1, le=MAX_EXPECTED_DURATION_SECONDS)
    long_running_factor: float | None = Field(None, gt=1, le=MAX_LONG_RUNNING_FACTOR, allow_inf_nan=False)
    max_attempts: int | None = Field(None, ge=1, le=MAX_ATTEMPTS)
    lease_seconds: int | None = Field(None, ge=1, le=MAX_LEASE_SECONDS)


class PipelineOut(Schema):
    id: int
    name: str
    version: str
    repository_uri: str
    description: str
    input_schema: dict[str, Any] | None
    expected_duration_seconds: float
    long_running_factor: float
    max_attempts: int
    lease_seconds: int
    created_at: datetime

    @staticmethod
    def resolve_expected_duration_seconds(obj: Pipeline) -> float:
        return obj.expected_duration.total_seconds()


class TokenIn(Schema):
    model_config = _examples(
        {
            "name": "raw-reads-wrapper-codon",
            "role": "pipeline",
            "pipeline_name": "raw-reads",
            "pipeline_version": "6.0.1",
        },
        {"name": "ops-admin", "role": "admin", "expires_at": "2030-01-01T00:00:00Z"},
    )

    name: str = Field(max_length=128)
    role: TokenRole
    pipeline_name: str | None = None
    pipeline_version: str | None = None
    expires_at: datetime | None = None


class TokenOut(Schema):
    name: str
    prefix: str
    role: TokenRole
    pipeline: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @staticmethod
    def resolve_pipeline(obj) -> str | None:
        return str(obj.pipeline) if obj.pipeline_id else None


class IssuedTokenOut(TokenOut):
    token: str = Field(description="The bearer token; shown once, only its hash is stored")


# --- work items -----------------------------------------------------------------------------


class WorkInputIn(Schema):
    model_config = _examples({"input": {"run": "ERR1234567", "study": "MGYS00001234"}, "external_ref": "MGYA00012345"})

    input: dict[str, Any]
    external_ref: str = Field("", max_length=64)
    private_to: str | None = Field(
        None,
        pattern=r"^Webin-\d+$",
        max_length=32,
        description="The Webin account whose private data this is: the item is shown to it (and to ledger tokens) "
        "only. Omitted: public when new; an existing private item stays private.",
    )


class RegisterWorkIn(Schema):
    model_config = _examples(
        {
            "items": [
                {"input": {"run": "ERR1234567", "min_read_length": "50"}, "external_ref": "MGYA00012345"},
                {"input": {"run": "ERR1234568"}},
            ]
        }
    )

    items: list[WorkInputIn] = Field(max_length=MAX_REGISTER_BATCH)


class RegistrationOut(Schema):
    id: int
    input_hash: str
    state: WorkState
    external_ref: str
    created: bool
    private_to: str | None = Field(None, description="The Webin account the item is private to; null when public")


class RegisterWorkOut(Schema):
    created: int
    existing: int
    items: list[RegistrationOut]


class WorkItemOut(Schema):
    id: int
    pipeline: str
    pipeline_version: str
    input: Any
    input_hash: str
    external_ref: str
    state: WorkState
    attempts: int
    max_attempts: int
    lease_holder: str
    lease_expires_at: datetime | None
    claimed_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_pipeline(obj: WorkItem) -> str:
        return obj.pipeline.name

    @staticmethod
    def resolve_pipeline_version(obj: WorkItem) -> str:
        return obj.pipeline.version


class EventOut(Schema):
    id: int
    at: datetime
    actor: str
    kind: EventKind
    from_state: str
    to_state: str
    message: str
    data: dict[str, Any]


class WorkItemDetailOut(WorkItemOut):
    events: list[EventOut]

    @staticmethod
    def resolve_events(obj: WorkItem) -> list:
        return obj.recent_events


class FailureOut(WorkItemOut):
    last_message: str | None = None


class ClaimIn(Schema):
    model_config = _examples({"holder": "codon-login-1:4242", "limit": 10, "lease_seconds": 600})

    holder: str = Field(min_length=1, max_length=255, description="Who does the work; needed for later updates")
    limit: int = Field(1, ge=1, le=MAX_CLAIM_BATCH)
    lease_seconds: int | None = Field(
        None, ge=1, le=MAX_LEASE_SECONDS, description="Default: the pipeline's lease_seconds"
    )
    item_ids: list[ItemId] | None = Field(
        None, max_length=MAX_CLAIM_BATCH * 10, description="Only among these items (e.g. the ones you registered)"
    )


class ClaimOut(Schema):
    items: list[WorkItemOut]


class HeartbeatIn(Schema):
    model_config = _examples({"holder": "codon-login-1:4242", "lease_seconds": 600})

    holder: str = Field(min_length=1, max_length=255)
    lease_seconds: int | None = Field(None, ge=1, le=MAX_LEASE_SECONDS)


class BulkHeartbeatIn(HeartbeatIn):
    model_config = _examples({"holder": "codon-login-1:4242", "item_ids": [41, 42, 43]})

    item_ids: list[ItemId] = Field(max_length=MAX_CLAIM_BATCH * 10)


class LeaseOut(Schema):
    id: int
    lease_expires_at: datetime


class HeartbeatOut(Schema):
    renewed: list[LeaseOut]
    lost: list[int] = Field(description="Items no longer leased to the holder: stop working on them")


class StateIn(Schema):
    model_config = _examples(
        {"to_state": "running", "holder": "codon-login-1:4242", "message": "sbatch job 991 started"},
        {"to_state": "failed", "holder": "codon-login-1:4242", "message": "fastp exited 1", "data": {"exit": 1}},
        {"to_state": "pending", "message": "re-run requested by curator", "reset_attempts": True},
    )

    to_state: WorkState
    holder: str | None = Field(None, max_length=255, description="The lease holder; required while leased")
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    reset_attempts: bool = Field(False, description="Re-run an item that used all its attempts (admin or pipeline)")


class MessageIn(Schema):
    model_config = _examples(
        {"kind": "progress", "message": "step 3/7: taxonomy", "data": {"step": 3, "of": 7}},
        {"kind": "error", "message": "MGnify DB timeout, retrying", "holder": "codon-login-1:4242"},
    )

    kind: EventKind = EventKind.MESSAGE
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
    holder: str | None = Field(None, max_length=255)


class StateCountOut(Schema):
    pipeline: str
    version: str
    state: WorkState
    count: int


class ReapedOut(Schema):
    item_id: int
    from_state: str
    to_state: str
    holder: str
    attempts: int
