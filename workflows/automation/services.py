"""Start and stop analyses: the one way the API, the admin and scripts launch, re-run and cancel work.

Launching is an ``analyse-study`` flow run; a re-run puts chosen failed analyses back in the work
ledger and starts an ``analyse-study`` flow run restricted to them; a cancellation stops one analysis
in the ledger, on the analysis and on Slurm. The admin and ``/api/v2/`` both call these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.conf import settings

from analyses import selectors
from analyses.models import Analysis, Study
from core.errors import Conflict, InvalidInput, NotFound
from ena.accessions import AccessionKind, validate_accession
from workflows import analysis_ledger
from workflows.analysis_ledger import Cancelled, Requeued, StudyPlan
from workflows.prefect_utils.deployments import FlowLaunchError, FlowRunInfo, read_flow_run, start_deployment

__all__ = [
    "Cancelled",
    "FlowLaunchError",
    "FlowRunInfo",
    "MAX_SAMPLE_LIMIT",
    "RerunReport",
    "StudyPlan",
    "actor_of",
    "cancel_analysis",
    "ena_study_accession_of",
    "flow_run_status",
    "launch_analyse_study",
    "plan_launch",
    "rerun_analyses",
    "resolve_ena_study",
    "runs_cap",
    "visible_analysis",
]

#: The largest sample limit a caller may ask for (then capped by :func:`runs_cap`).
MAX_SAMPLE_LIMIT = 1_000_000

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
    *,
    ena_study_accession: str,
    requested_by: str,
    rerun_failed: bool = False,
    sample_limit: int | None = None,
    analysis_accessions: Sequence[str] | None = None,
    pipeline_name: str | None = None,
    pipeline_version: str | None = None,
) -> FlowRunInfo:
    """Create an ``analyse-study`` flow run for one ENA study and return at once.

    :param ena_study_accession: ``PRJEB…`` or ``ERP…``; the flow imports it from ENA if needed
    :param requested_by: who asked (a username), recorded as a flow-run tag
    :param rerun_failed: also re-run analyses that failed before
    :param sample_limit: analyse at most this many runs
    :param analysis_accessions: only these analyses (a re-run; they must be queued already)
    :param pipeline_name: the analyses' pipeline (default: the bundled one)
    :param pipeline_version: and its version
    :raises FlowLaunchError: Prefect did not answer, or has no such deployment
    """
    config = settings.EMG_CONFIG.prefect
    parameters: dict[str, Any] = {
        "study_accession": ena_study_accession,
        "rerun_failed": rerun_failed,
        "sample_limit": sample_limit,
    }
    tags = [ena_study_accession, f"requested-by:{requested_by}"]
    if analysis_accessions:
        parameters["analysis_accessions"] = list(analysis_accessions)
        tags += ["rerun", *analysis_accessions[:10]]
    if pipeline_name:
        parameters |= {"pipeline_name": pipeline_name, "pipeline_version": pipeline_version}
    return start_deployment(
        config.analyse_study_deployment,
        parameters=parameters,
        api_url=str(config.api_url),
        ui_url=str(config.ui_url),
        tags=tags,
    )


def actor_of(user: Any, *, via: str = "admin") -> str:
    """How a person appears on the ledger's events and the analysis' flags, e.g. ``admin:alice``."""
    return f"{via}:{user.get_username()}"


def bundled_pipeline() -> tuple[str, str]:
    pipelines = settings.EMG_CONFIG.pipelines
    return pipelines.bundled_pipeline_name, pipelines.bundled_pipeline_version


def plan_launch(*, study: Study, rerun_failed: bool, sample_limit: int | None) -> StudyPlan:
    """How many analyses :func:`launch_analyse_study` would start for ``study`` now (the flow's own rule).

    :param sample_limit: as it will be passed to the flow (after :func:`runs_cap`)
    """
    name, version = bundled_pipeline()
    return analysis_ledger.plan_study_work(
        study=study, pipeline_name=name, pipeline_version=version, run_limit=sample_limit, rerun_failed=rerun_failed
    )


def visible_analysis(accession: str, *, user: Any) -> Analysis:
    """The active analysis ``accession`` if ``user`` may see it and its study.

    :raises ena.accessions.InvalidAccessionError: not an MGYA accession (400)
    :raises NotFound: missing, superseded, or private to someone else (reported as missing)
    """
    analysis = (
        selectors.visible_analyses_by_accession(user, accession)
        .active()
        .select_related("study", "study__ena_study")
        .first()
    )
    if analysis is None:
        raise NotFound(f"No analysis {accession}")
    return analysis


@dataclass
class RerunReport:
    """What a re-run request did: analyses queued, those refused and why, the flow runs started."""

    requeued: list[Requeued] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    flow_runs: list[FlowRunInfo] = field(default_factory=list)
    #: analyses queued whose flow run could not be started (they run with the study's next launch)
    launch_errors: dict[str, str] = field(default_factory=dict)


def rerun_analyses(*, analyses: Iterable[Analysis], requested_by: str, actor: str) -> RerunReport:
    """Re-run failed analyses: each back to pending in the ledger (exactly once), then one flow run per study.

    Each analysis is requeued in its own transaction (:func:`analysis_ledger.requeue_for_rerun`):
    one that is not failed, or already queued or running, is refused with the reason and the rest
    go on. After the commits, one ``analyse-study`` flow run per (study, pipeline, version) runs
    exactly the requeued analyses. If Prefect does not answer, they stay queued (a later launch of
    their study runs them) and ``launch_errors`` says so.

    :param analyses: the analyses (the caller checked that the user may see them and re-run)
    :param requested_by: the username, tagged on the flow run
    :param actor: recorded on the ledger and the analyses, e.g. ``admin:alice``
    """
    report = RerunReport()
    studies: dict[int, Study] = {}
    for analysis in analyses:
        try:
            report.requeued.append(analysis_ledger.requeue_for_rerun(analysis=analysis, actor=actor))
            studies[analysis.study_id] = analysis.study
        except Conflict as refusal:
            report.refused[analysis.accession] = str(refusal)
    groups: dict[tuple[int, str, str], list[str]] = {}
    for requeued in report.requeued:
        key = (requeued.study_id, requeued.pipeline_name, requeued.pipeline_version)
        groups.setdefault(key, []).append(requeued.accession)
    for (study_id, pipeline_name, pipeline_version), accessions in groups.items():
        ena_accession = ena_study_accession_of(studies[study_id])
        try:
            if not ena_accession:
                raise InvalidInput(f"{studies[study_id].accession} has no ENA study")
            report.flow_runs.append(
                launch_analyse_study(
                    ena_study_accession=ena_accession,
                    requested_by=requested_by,
                    analysis_accessions=accessions,
                    pipeline_name=pipeline_name,
                    pipeline_version=pipeline_version,
                )
            )
        except (FlowLaunchError, InvalidInput) as error:
            for accession in accessions:
                report.launch_errors[accession] = str(error)
    return report


def cancel_analysis(*, analysis: Analysis, actor: str) -> Cancelled:
    """Cancel one pending or running analysis: ledger, analysis and Slurm (see :func:`analysis_ledger.cancel_analysis`).

    The flow run that runs it is not cancelled: it runs the study's other analyses too, and lets go
    of this one by itself (its poll sees the job cancelled, its lease is gone).

    :raises Conflict: the analysis is not pending or running
    """
    return analysis_ledger.cancel_analysis(analysis=analysis, actor=actor)


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
