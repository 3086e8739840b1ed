"""Start an ``analyse-study`` flow run: the one way the API, the admin and scripts launch work."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings

from analyses.models import Study
from core.errors import InvalidInput, NotFound
from ena.accessions import AccessionKind, validate_accession
from workflows.prefect_utils.deployments import FlowLaunchError, FlowRunInfo, read_flow_run, start_deployment

__all__ = [
    "FlowLaunchError",
    "FlowRunInfo",
    "ena_study_accession_of",
    "flow_run_status",
    "launch_analyse_study",
    "resolve_ena_study",
    "runs_cap",
]

#: What a study to analyse may be named by.
ANALYSABLE_STUDY_KINDS = {AccessionKind.MGNIFY_STUDY, AccessionKind.PROJECT, AccessionKind.STUDY}


def ena_study_accession_of(study: Study) -> str | None:
    """The ENA study an MGYS study mirrors (its primary accession), if any."""
    if study.ena_study_id:
        return study.ena_study.accession
    return study.first_ena_accession


def resolve_ena_study(accession: str, *, user: Any) -> str:
    """The ENA study to analyse for ``accession``: an ENA study as it is, or the one an MGYS study mirrors.

    The ENA study need not be in the database yet (the flow imports it).

    :param accession: ``PRJEB…``, ``ERP…`` or ``MGYS…``
    :param user: who asks; an MGYS study they may not see is reported as missing
    :raises ena.accessions.InvalidAccessionError: not a study accession
    :raises NotFound: no such MGYS study (visible to ``user``)
    :raises InvalidInput: the MGYS study mirrors no ENA study
    """
    kind = validate_accession(accession, ANALYSABLE_STUDY_KINDS, expected="MGYS or ENA study")
    if kind != AccessionKind.MGNIFY_STUDY:
        known = Study.objects.by_accession(accession)
        if known.exists() and not known.visible_to(user).exists():
            raise NotFound(f"No study {accession}")
        return accession
    study = Study.objects.visible_to(user).select_related("ena_study").filter(accession=accession).first()
    if study is None:
        raise NotFound(f"No study {accession}")
    ena_accession = ena_study_accession_of(study)
    if not ena_accession:
        raise InvalidInput(f"{accession} has no ENA study to analyse")
    return ena_accession


def runs_cap(requested: int | None) -> int:
    """How many runs one launch may analyse: what was asked, at most ``EMG_AUTH__MAX_ANALYSES_PER_LAUNCH``."""
    cap = settings.EMG_CONFIG.auth.max_analyses_per_launch
    return min(requested or cap, cap)


def launch_analyse_study(
    *, ena_study_accession: str, requested_by: str, rerun_failed: bool = False, sample_limit: int | None = None
) -> FlowRunInfo:
    """Create an ``analyse-study`` flow run for one ENA study and return at once.

    :param ena_study_accession: ``PRJEB…`` or ``ERP…``; the flow imports it from ENA if needed
    :param requested_by: who asked (a username), recorded as a flow-run tag
    :param rerun_failed: also re-run analyses that failed before
    :param sample_limit: analyse at most this many runs
    :raises FlowLaunchError: Prefect did not answer, or has no such deployment
    """
    config = settings.EMG_CONFIG.prefect
    return start_deployment(
        config.analyse_study_deployment,
        parameters={
            "study_accession": ena_study_accession,
            "rerun_failed": rerun_failed,
            "sample_limit": sample_limit,
        },
        api_url=str(config.api_url),
        ui_url=str(config.ui_url),
        tags=[ena_study_accession, f"requested-by:{requested_by}"],
    )


def flow_run_status(flow_run_id: UUID) -> FlowRunInfo:
    """The flow run's current state.

    :raises NotFound: Prefect does not know the flow run
    :raises FlowLaunchError: Prefect did not answer
    """
    config = settings.EMG_CONFIG.prefect
    run = read_flow_run(flow_run_id, api_url=str(config.api_url), ui_url=str(config.ui_url))
    if run is None:
        raise NotFound(f"No flow run {flow_run_id}")
    return run
