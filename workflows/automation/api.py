"""Authenticated endpoints that launch automation: ``/api/v2/private/...``.

A staff user (Django session, or HTTP Basic with the same credentials) may start an
``analyse-study`` flow run; the answer comes at once with the flow run id and its UI link.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.contrib.auth import authenticate
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.security import HttpBasicAuth
from ninja.security.session import SessionAuthIsStaff

from core.api import ErrorOut
from workflows.automation.services import flow_run_status, launch_analyse_study, resolve_ena_study


class StaffBasicAuth(HttpBasicAuth):
    def authenticate(self, request: HttpRequest, username: str, password: str):
        user = authenticate(request, username=username, password=password)
        if user is not None and user.is_active and user.is_staff:
            request.user = user
            return user
        return None


router = Router(auth=[StaffBasicAuth(), SessionAuthIsStaff()], tags=["automation"])


class AnalyseStudyIn(Schema):
    rerun_failed: bool = False
    sample_limit: int | None = None


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
    response={202: FlowRunOut, 400: ErrorOut, 404: ErrorOut, 503: ErrorOut},
    summary="Analyse a study: start an analyse-study flow run",
)
def analyse_study(request: HttpRequest, accession: str, payload: AnalyseStudyIn | None = None):
    """Start the ``analyse-study`` flow for an ENA study (``PRJEB…``/``ERP…``) or an MGYS study.

    The study need not be in the database yet: the flow imports it from ENA. Work that is done or
    in progress is not started again (exactly once), unless ``rerun_failed`` asks for failed runs.
    """
    payload = payload or AnalyseStudyIn()
    ena_accession = resolve_ena_study(accession, user=request.user)
    run = launch_analyse_study(
        ena_study_accession=ena_accession,
        requested_by=request.user.get_username(),
        rerun_failed=payload.rerun_failed,
        sample_limit=payload.sample_limit,
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
    response={200: FlowRunOut, 404: ErrorOut, 503: ErrorOut},
    summary="The state of a flow run started through the API",
)
def flow_run_state(request: HttpRequest, flow_run_id: UUID):
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
