"""Authenticated endpoints that launch and stop automation: ``/api/v2/private/...`` and two analysis actions.

A user holding ``accounts.launch_analyses`` (a token with the ``launch`` scope, HTTP Basic, or a
session with its CSRF token) may start an ``analyse-study`` flow run; the answer comes at once with
the flow run id and its UI link. Nobody identified: 401. Launches are limited per user per hour
(429), and one launch analyses at most ``EMG_AUTH__MAX_ANALYSES_PER_LAUNCH`` runs.

``POST /api/v2/analyses/{accession}/rerun`` (``accounts.rerun_analyses``) and ``.../cancel``
(``accounts.launch_analyses``) act on one analysis through the same services as the admin. They are
on their own router (:data:`analysis_actions`), which ``emgapiv2.api`` mounts at ``/analyses/``, so that
they sit beside the analysis they act on while the analyses app knows nothing of the automation.
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
from analyses.api_schemas import AnalysisAccession
from analyses.models import Analysis
from core.api import ErrorOut
from core.errors import Conflict
from workflows.automation.services import (
    MAX_SAMPLE_LIMIT,
    actor_of,
    cancel_analysis,
    flow_run_status,
    launch_analyse_study,
    rerun_analyses,
    resolve_ena_study,
    runs_cap,
    visible_analysis,
)

router = Router(auth=signed_in, tags=["automation"])
#: ``/api/v2/analyses/{accession}/rerun`` and ``.../cancel``: mounted at ``/analyses/`` by ``emgapiv2.api``.
analysis_actions = Router(auth=signed_in, tags=["automation"])


class AnalyseStudyIn(Schema):
    rerun_failed: bool = Field(False, description="Also re-run failed analyses (needs accounts.rerun_analyses)")
    sample_limit: int | None = Field(
        None, ge=1, le=MAX_SAMPLE_LIMIT, description="Analyse at most this many runs (the server caps it)"
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


# ---------------------------------------------------------------------------------------- one analysis

#: Who acts through the API, as the ledger's events and the analysis' flags name them.
API_ACTOR = "api"


class RerunOut(Schema):
    accession: str
    state: str = Field(description="The analysis' state now: pending, queued for the flow run")
    work_item_id: int
    flow_run: FlowRunOut | None = Field(description="The flow run that runs it (null: Prefect did not answer)")
    detail: str | None = Field(None, description="Why no flow run was started, if none was: the analysis stays queued")


class CancelOut(Schema):
    accession: str
    state: str = Field(description="failed: an analysis cancelled ends failed, at the step 'cancelled'")
    work_item_id: int | None
    slurm_jobs_cancelled: list[str] = Field(description="The Slurm jobs asked to stop (finished ones are ignored)")
    slurm_error: str | None = Field(None, description="Slurm's answer if it refused; the flow run stops them later")


ACTION_ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409, 422, 429, 503)}


@analysis_actions.post(
    "/{accession}/rerun",
    response={202: RerunOut, **ACTION_ERRORS},
    summary="Re-run a failed analysis: queue it again and start a flow run for it",
)
def rerun_analysis(request: HttpRequest, accession: AnalysisAccession):
    """Put a failed (or cancelled) analysis back in the work ledger and start an ``analyse-study`` flow run
    restricted to it (parameter ``analysis_accessions``); answered at once with the flow run.

    Exactly once: while the re-run is queued or running, another request is refused (409), and no
    second flow run starts. 403 without ``accounts.rerun_analyses``; 404 for an analysis missing or
    private to someone else; 409 when it is not failed (pending, running or completed).
    """
    require_scope(request, TokenScope.LAUNCH)
    require_capability(request.user, Capability.RERUN_ANALYSES)
    analysis = visible_analysis(accession, user=request.user)
    if analysis.state != Analysis.State.FAILED:  # refused before it counts as a launch (checked again under lock)
        raise Conflict(f"{accession} is {analysis.state}: only failed analyses are re-run")
    count_launch(request.user.pk)
    report = rerun_analyses(
        analyses=[analysis],
        requested_by=request.user.get_username(),
        actor=actor_of(request.user, via=API_ACTOR),
    )
    if accession in report.refused:
        raise Conflict(report.refused[accession])
    [requeued] = report.requeued
    analysis.refresh_from_db(fields=["state"])
    run = report.flow_runs[0] if report.flow_runs else None
    return Status(
        202,
        RerunOut(
            accession=accession,
            state=analysis.state,
            work_item_id=requeued.item_id,
            flow_run=FlowRunOut(
                flow_run_id=run.id,
                flow_run_name=run.name,
                state_type=run.state_type,
                state_name=run.state_name,
                ui_url=run.ui_url,
                study_accession=run.parameters.get("study_accession"),
            )
            if run
            else None,
            detail=report.launch_errors.get(accession),
        ),
    )


@analysis_actions.post(
    "/{accession}/cancel",
    response={200: CancelOut, **ACTION_ERRORS},
    summary="Cancel a pending or running analysis: ledger, analysis and its Slurm jobs",
)
def cancel_running_analysis(request: HttpRequest, accession: AnalysisAccession):
    """Cancel one analysis: its work item CANCELLED, the analysis failed at the step ``cancelled`` (saying
    who), its Slurm head job and running steps cancelled.

    The flow run that runs it goes on with its other analyses and lets go of this one. It can be
    re-run afterwards. 403 without ``accounts.launch_analyses``; 404 for an analysis missing or
    private to someone else; 409 when it is not pending or running.
    """
    require_scope(request, TokenScope.LAUNCH)
    require_capability(request.user, Capability.LAUNCH_ANALYSES)
    analysis = visible_analysis(accession, user=request.user)
    cancelled = cancel_analysis(analysis=analysis, actor=actor_of(request.user, via=API_ACTOR))
    analysis.refresh_from_db(fields=["state"])
    return CancelOut(
        accession=accession,
        state=analysis.state,
        work_item_id=cancelled.item_id,
        slurm_jobs_cancelled=cancelled.job_ids,
        slurm_error=cancelled.slurm_error,
    )
