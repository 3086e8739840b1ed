"""Start an ``analyse-study`` flow run: the one way the API, the admin and scripts launch work."""

from __future__ import annotations

from django.conf import settings

from analyses.models import Study
from workflows.prefect_utils.launch import FlowLaunchError, FlowRunInfo, read_flow_run, start_deployment

__all__ = ["FlowLaunchError", "FlowRunInfo", "ena_study_accession_of", "launch_analyse_study", "flow_run_status"]


def ena_study_accession_of(study: Study) -> str | None:
    """The ENA study an MGYS study mirrors (its primary accession), if any."""
    if study.ena_study_id:
        return study.ena_study.accession
    return study.first_ena_accession


def launch_analyse_study(
    *, ena_study_accession: str, requested_by: str, rerun_failed: bool = False, sample_limit: int | None = None
) -> FlowRunInfo:
    """Create an ``analyse-study`` flow run for one ENA study and return at once.

    :param ena_study_accession: ``PRJEB…`` or ``ERP…``; the flow imports it from ENA if needed
    :param requested_by: who asked (a username), recorded as a flow-run tag
    :param rerun_failed: also re-run analyses that failed before
    :param sample_limit: analyse at most this many runs
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


def flow_run_status(flow_run_id) -> FlowRunInfo | None:
    config = settings.EMG_CONFIG.prefect
    return read_flow_run(flow_run_id, api_url=str(config.api_url), ui_url=str(config.ui_url))
