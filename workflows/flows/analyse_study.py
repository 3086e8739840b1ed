"""analyse-study: take an ENA study to finished analyses on Slurm, each (run, pipeline, version) exactly once.

Deployed as ``analyse-study/analyse-study`` in the ``slurm`` pool; launched by
``POST /api/v2/private/studies/{accession}/analyse``, the admin action, the Prefect UI or
``prefect deployment run analyse-study/analyse-study -p study_accession=PRJEB90001``.
"""

from __future__ import annotations

from django.db import connections
from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run
from pydantic import BaseModel

from workflows.django_activation import EMG_CONFIG

from analyses.ena_sync import import_ena_study
from analyses.models import Study
from ena.datamover import Datamover
from workflows import analysis_ledger
from workflows.analysis_runner import AnalysisOutcome, Outcome
from workflows.fanout import StudyFanOut
from workflows.pipelines import get_pipeline, launcher_for


class StudySummary(BaseModel):
    """What a run of the flow did, per analysis accession."""

    study: str
    ena_study: str
    pipeline: str
    created: int
    completed: list[str] = []
    failed: dict[str, str] = {}
    skipped: dict[str, str] = {}
    #: ENA records the import left out (run or sample accession -> why); also on the study's import report
    not_imported: dict[str, str] = {}

    def line(self) -> str:
        return (
            f"{self.study} ({self.ena_study}) {self.pipeline}: {len(self.completed)} done, "
            f"{len(self.failed)} failed, {len(self.skipped)} skipped, {self.created} new analyses, "
            f"{len(self.not_imported)} ENA records not imported"
        )


class ImportedStudy(BaseModel):
    mgys: str
    not_imported: dict[str, str] = {}


@task(retries=3, retry_delay_seconds=[2, 10, 30], task_run_name="import {study_accession} from ENA")
def import_study(study_accession: str) -> ImportedStudy:
    """Upsert the ENA study, its samples and runs, and the MGYS study (idempotent, so safe to retry).

    A study ENA does not show publicly is asked for with the Webin credentials (``EMG_WEBIN__*``) and
    imported private to that account; its analyses are private too.
    """
    summary = import_ena_study(study_accession)
    get_run_logger().info("ENA import of %s: %s", study_accession, "; ".join(summary.lines()))
    return ImportedStudy(
        mgys=summary.mgys_accession,
        not_imported={record.accession or f"({record.result})": record.reason for record in summary.skipped},
    )


@task(task_run_name="register analyses of {mgys}")
def register_analyses(
    mgys: str,
    pipeline_name: str,
    pipeline_version: str,
    sample_limit: int | None,
    rerun_failed: bool,
    analysis_accessions: list[str] | None = None,
):
    """Create each run's analysis and its work-ledger item, once; return (item id, MGYA) pairs and the new count."""
    return analysis_ledger.register_study_work(
        study=Study.objects.get(accession=mgys),
        pipeline_name=pipeline_name,
        pipeline_version=pipeline_version,
        run_limit=sample_limit,
        rerun_failed=rerun_failed,
        analysis_accessions=analysis_accessions,
        actor=f"flow:{flow_run.get_id()}",
    )


@task(task_run_name="find the study of {study_accession}'s analyses")
def study_of_analyses(study_accession: str, analysis_accessions: list[str]) -> str:
    """The MGYS study of the analyses to re-run; they must all be of ``study_accession`` (no ENA import needed).

    :raises ValueError: the analyses are unknown, or of another study
    """
    studies = set(Study.objects.filter(analyses__accession__in=analysis_accessions).values_list("accession", flat=True))
    mirrored = set(Study.objects.by_accession(study_accession).values_list("accession", flat=True))
    if len(studies) != 1 or not studies <= mirrored:
        raise ValueError(
            f"analyses {', '.join(analysis_accessions)} are not all of one MGYS study of {study_accession}: "
            f"{sorted(studies) or 'none found'}"
        )
    return studies.pop()


@task(task_run_name="settle cancelled analyses")
def settle_cancelled(item_ids: list[int]) -> list[str]:
    """Analyses a curator cancelled while this run held them: stop what a launch under way left on Slurm."""
    return analysis_ledger.settle_cancelled(item_ids)


class AnalysedRuns(BaseModel):
    """Each registered item's outcome (None: not run by this flow run), and the fan-out's numbers."""

    outcomes: dict[int, AnalysisOutcome | None]
    claimed: int
    polls: int
    all_launched_after_seconds: float | None = None


@task(task_run_name="analyse {mgys}: {pipeline_name}@{pipeline_version}")
def analyse_runs(
    mgys: str, work: list[analysis_ledger.StudyWork], pipeline_name: str, pipeline_version: str
) -> AnalysedRuns:
    """Claim the study's runnable analyses and run them all at once (up to the study's cluster share).

    One task for the whole study, not one per analysis: the analyses wait on Slurm together, followed
    by one batched poll (``workflows.fanout``). Not retried by Prefect: the ledger is the retry. A crash
    leaves the items' leases to lapse; the next claim adopts the pipelines still running (or finished)
    on Slurm instead of starting others.
    """
    pipeline = get_pipeline(pipeline_name, pipeline_version)
    flow_run_id = str(flow_run.get_id())
    slurm = EMG_CONFIG.slurm
    fanout = StudyFanOut(
        pipeline=pipeline,
        launcher=launcher_for(pipeline),
        datamover=lambda: Datamover(EMG_CONFIG.ena, webin=EMG_CONFIG.webin),
        holder=f"flow:{flow_run_id}",
        max_in_flight=slurm.max_head_jobs_per_study,
        threads=slurm.fanout_threads,
        poll_seconds=slurm.poll_interval_seconds,
        max_poll_seconds=slurm.max_poll_interval_seconds,
        flow_run_id=flow_run_id,
    )
    try:
        report = fanout.run(work)
    finally:
        connections.close_all()
    get_run_logger().info(
        "%s: %d of %d analyses claimed; all launched after %s s; %d batched polls",
        mgys,
        report.claimed,
        len(work),
        f"{report.all_launched_after:.1f}" if report.all_launched_after is not None else "-",
        len(report.polls),
    )
    return AnalysedRuns(
        outcomes=report.outcomes,
        claimed=report.claimed,
        polls=len(report.polls),
        all_launched_after_seconds=report.all_launched_after,
    )


@flow(name="analyse-study", log_prints=True)
def analyse_study(
    study_accession: str,
    rerun_failed: bool = False,
    sample_limit: int | None = None,
    pipeline_name: str | None = None,
    pipeline_version: str | None = None,
    analysis_accessions: list[str] | None = None,
) -> StudySummary:
    """Analyse every run of an ENA study on Slurm, with the bundled pipeline or the one named.

    The launcher is the pipeline's engine's (Snakemake, Nextflow), chosen by ``launcher_for``.

    :param study_accession: the ENA study (``PRJEB…`` or ``ERP…``)
    :param rerun_failed: put failed analyses back in the queue and run them again
    :param sample_limit: analyse at most this many runs (in accession order)
    :param pipeline_name: default ``EMG_CONFIG.pipelines.bundled_pipeline_name``
    :param pipeline_version: default ``EMG_CONFIG.pipelines.bundled_pipeline_version``
    :param analysis_accessions: run only these analyses (MGYA) of the study, e.g. a curator's re-run
        (``workflows.automation.services.rerun_analyses`` queued them): no ENA import, no sample limit
    """
    logger = get_run_logger()
    pipeline_name = pipeline_name or EMG_CONFIG.pipelines.bundled_pipeline_name
    pipeline_version = pipeline_version or EMG_CONFIG.pipelines.bundled_pipeline_version
    if analysis_accessions:
        imported = ImportedStudy(mgys=study_of_analyses(study_accession, analysis_accessions))
    else:
        imported = import_study(study_accession)
    mgys = imported.mgys
    registered = register_analyses(
        mgys, pipeline_name, pipeline_version, sample_limit, rerun_failed, analysis_accessions or None
    )

    analysed = analyse_runs(mgys, registered.work, pipeline_name, pipeline_version)
    summary = StudySummary(
        study=mgys,
        ena_study=study_accession,
        pipeline=f"{pipeline_name}@{pipeline_version}",
        created=registered.created,
        not_imported=imported.not_imported,
    )
    not_run = [work.item_id for work in registered.work if analysed.outcomes.get(work.item_id) is None]
    handed_over = [
        item_id for item_id, outcome in analysed.outcomes.items() if outcome and outcome.outcome == Outcome.HANDED_OVER
    ]
    if handed_over:
        settle_cancelled(handed_over)
    why = analysis_ledger.why_skipped_many(not_run) if not_run else {}
    for work in registered.work:
        outcome = analysed.outcomes.get(work.item_id)
        if outcome is None:
            summary.skipped[work.accession] = why.get(work.item_id, "not run")
        elif outcome.outcome == Outcome.COMPLETED:
            summary.completed.append(work.accession)
        elif outcome.outcome == Outcome.HANDED_OVER:
            summary.skipped[work.accession] = f"handed over: {outcome.message}"
        else:
            summary.failed[work.accession] = f"{outcome.failed_step}: {(outcome.message or '').splitlines()[0]}"
    logger.info(summary.line())
    return summary
