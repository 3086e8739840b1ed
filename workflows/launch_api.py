"""Authenticated endpoints that launch automation: ``/api/v2/private/...``.

A staff user (Django session, or HTTP Basic with the same credentials) may start an
``analyse-study`` flow run; the answer comes at once with the flow run id and its UI link.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.security import HttpBasicAuth
from ninja.security.session import SessionAuthIsStaff

from analyses.models import Study
from ena.accessions import AccessionKind, validate_accession
from workflows.prefect_utils.launch import FlowLaunchError, read_flow_run, start_deployment


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


class ErrorOut(Schema):
    detail: str


def _find_study(request: HttpRequest, accession: str) -> Study | None:
    validate_accession(
        accession,
        {AccessionKind.MGNIFY_STUDY, AccessionKind.PROJECT, AccessionKind.STUDY},
        expected="MGYS or ENA study",
    )
    queryset = Study.objects.visible_to(request.user)
    if accession.startswith("MGYS"):
        return queryset.filter(accession=accession).first()
    return queryset.by_accession(accession).first()


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
    study = _find_study(request, accession)
    if accession.startswith("MGYS"):
        if study is None:
            return 404, {"detail": f"No study {accession}"}
        ena_accession = study.ena_study.accession if study.ena_study_id else study.first_ena_accession
        if not ena_accession:
            return 400, {"detail": f"{accession} has no ENA study to analyse"}
    else:
        ena_accession = accession
    config = settings.EMG_CONFIG.prefect
    try:
        run = start_deployment(
            config.analyse_study_deployment,
            parameters={
                "study_accession": ena_accession,
                "rerun_failed": payload.rerun_failed,
                "sample_limit": payload.sample_limit,
            },
            api_url=str(config.api_url),
            ui_url=str(config.ui_url),
            tags=[ena_accession, f"requested-by:{request.user.get_username()}"],
        )
    except FlowLaunchError as error:
        return 503, {"detail": str(error)}
    return 202, FlowRunOut(
        flow_run_id=run.id,
        flow_run_name=run.name,
        state_type=run.state_type,
        state_name=run.state_name,
        ui_url=run.ui_url,
        study_accession=ena_accession,
    )


@router.get(
    "/flow-runs/{flow_run_id}",
    response={200: FlowRunOut, 404: ErrorOut, 503: ErrorOut},
    summary="The state of a flow run started through the API",
)
def flow_run_state(request: HttpRequest, flow_run_id: UUID):
    config = settings.EMG_CONFIG.prefect
    try:
        run = read_flow_run(flow_run_id, api_url=str(config.api_url), ui_url=str(config.ui_url))
    except FlowLaunchError as error:
        return 503, {"detail": str(error)}
    if run is None:
        return 404, {"detail": f"No flow run {flow_run_id}"}
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
