"""Authenticated endpoints that launch automation: ``/api/v2/private/...``.

A user holding ``accounts.launch_analyses`` (a token with the ``launch`` scope, HTTP Basic, or a
session with its CSRF token) may start an ``analyse-study`` flow run; the answer comes at once with
the flow run id and its UI link. Nobody identified: 401. Launches are limited per user per hour
(429), and one launch analyses at most ``EMG_AUTH__MAX_ANALYSES_PER_LAUNCH`` runs.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from accounts.auth import require_scope, signed_in
from accounts.models import TokenScope
from accounts.permissions import Capability, require_capability
from accounts.throttle import count_launch
from core.api import ErrorOut
from workflows.automation.services import flow_run_status, launch_analyse_study, resolve_ena_study, runs_cap

router = Router(auth=signed_in, tags=["automation"])


class AnalyseStudyIn(Schema):
    rerun_failed: bool = Field(False, description="Also re-run failed analyses (needs accounts.rerun_analyses)")
    sample_limit: int | None = Field(
        None, ge=1, le=1_000_000, description="Analyse at most this many runs (the server caps it)"
    )


class FlowRunOut(Schema):
    flow_run_id: UUID
    flow_run_name: str
    state_type: str | None
    state_name: str | None
    ui_url: str
    study_accession: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None


@router.post(
    "/studies/{accession}/analyse",
    response={202: FlowRunOut, **{code: ErrorOut for code in (400, 401, 403, 404, 422, 429, 503)}},
    summary="Analyse a study: start an analyse-study flow run",
)
def analyse_study(request: HttpRequest, accession: str, payload: AnalyseStudyIn | None = None):
    """Start the ``analyse-study`` flow for an ENA study (``PRJEB…``/``ERP…``) or an MGYS study.

    The study need not be in the database yet: the flow imports it from ENA. Work that is done or
    in progress is not started again (exactly once), unless ``rerun_failed`` asks for failed runs.
    """
    payload = payload or AnalyseStudyIn()
    require_scope(request, TokenScope.LAUNCH)
    require_capability(request.user, Capability.LAUNCH_ANALYSES)
    if payload.rerun_failed:
        require_capability(request.user, Capability.RERUN_ANALYSES)
    ena_accession = resolve_ena_study(accession, user=request.user)
    count_launch(request.user.pk)
    run = launch_analyse_study(
        ena_study_accession=ena_accession,
        requested_by=request.user.get_username(),
        rerun_failed=payload.rerun_failed,
        sample_limit=runs_cap(payload.sample_limit),
    )
    return Status(
        202,
        FlowRunOut(
            flow_run_id=run.id,
            flow_run_name=run.name,
            state_type=run.state_type,
            state_name=run.state_name,
            ui_url=run.ui_url,
            study_accession=ena_accession,
        ),
    )


@router.get(
    "/flow-runs/{flow_run_id}",
    response={200: FlowRunOut, **{code: ErrorOut for code in (401, 403, 404, 422, 503)}},
    summary="The state of a flow run started through the API",
)
def flow_run_state(request: HttpRequest, flow_run_id: UUID):
    require_capability(request.user, Capability.LAUNCH_ANALYSES)
    run = flow_run_status(flow_run_id)
    return FlowRunOut(
        flow_run_id=run.id,
        flow_run_name=run.name,
        state_type=run.state_type,
        state_name=run.state_name,
        ui_url=run.ui_url,
        study_accession=run.parameters.get("study_accession"),
        start_time=run.start_time,
        end_time=run.end_time,
    )
