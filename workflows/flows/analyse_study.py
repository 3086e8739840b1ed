"""analyse-study: take an ENA study to finished analyses on Slurm, each (run, pipeline, version) exactly once.

Deployed as ``analyse-study/analyse-study`` in the ``slurm`` pool; launched by
``POST /api/v2/private/studies/{accession}/analyse``, the admin action, the Prefect UI or
``prefect deployment run analyse-study/analyse-study -p study_accession=PRJEB90001``.
"""

from __future__ import annotations

from django.db import connections
from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel

from workflows.django_activation import EMG_CONFIG

from analyses.ena_sync import import_ena_study
from analyses.models import Analysis, Study
from ena.datamover import Datamover
from workflows import analysis_ledger
from workflows.analysis_runner import AnalysisOutcome, Outcome, run_analysis
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
    mgys: str, pipeline_name: str, pipeline_version: str, sample_limit: int | None, rerun_failed: bool
):
    """Create each run's analysis and its work-ledger item, once; return (item id, MGYA) pairs and the new count."""
    return analysis_ledger.register_study_work(
        study=Study.objects.get(accession=mgys),
        pipeline_name=pipeline_name,
        pipeline_version=pipeline_version,
        run_limit=sample_limit,
        rerun_failed=rerun_failed,
        actor=f"flow:{flow_run.get_id()}",
    )


@task(task_run_name="analyse {accession}")
def analyse(item_id: int, accession: str, pipeline_name: str, pipeline_version: str) -> AnalysisOutcome | None:
    """Claim this analysis' ledger item and, if this flow run got it, run the pipeline; None if skipped.

    Not retried by Prefect: the ledger is the retry. A crash leaves the item's lease to lapse; the
    next claim adopts the pipeline still running (or finished) on Slurm instead of starting another.
    """
    holder = f"flow:{flow_run.get_id()}"
    try:
        with analysis_ledger.claimed(item_id=item_id, holder=holder) as lease:
            if lease is None:
                return None
            analysis = Analysis.objects.select_related("study", "run__ena_run").get(accession=accession)
            pipeline = get_pipeline(pipeline_name, pipeline_version)
            with Datamover(EMG_CONFIG.ena, webin=EMG_CONFIG.webin) as datamover:
                outcome = run_analysis(
                    analysis=analysis,
                    pipeline=pipeline,
                    launcher=launcher_for(pipeline),
                    datamover=datamover,
                    flow_run_id=str(flow_run.get_id()),
                    claim=lease,
                )
            return outcome
    except Exception as error:  # already recorded as failed by analysis_ledger.claimed; the study goes on
        get_run_logger().exception("%s failed unexpectedly", accession)
        return AnalysisOutcome(
            accession=accession, run_accession=None, outcome=Outcome.FAILED, message=f"{type(error).__name__}: {error}"
        )
    finally:
        connections.close_all()  # this task's thread ends its use of the database here


@flow(
    name="analyse-study",
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=EMG_CONFIG.prefect.max_parallel_analyses),
)
def analyse_study(
    study_accession: str,
    rerun_failed: bool = False,
    sample_limit: int | None = None,
    pipeline_name: str | None = None,
    pipeline_version: str | None = None,
) -> StudySummary:
    """Analyse every run of an ENA study on Slurm, with the bundled pipeline or the one named.

    The launcher is the pipeline's engine's (Snakemake, Nextflow), chosen by ``launcher_for``.

    :param study_accession: the ENA study (``PRJEB…`` or ``ERP…``)
    :param rerun_failed: put failed analyses back in the queue and run them again
    :param sample_limit: analyse at most this many runs (in accession order)
    :param pipeline_name: default ``EMG_CONFIG.pipelines.bundled_pipeline_name``
    :param pipeline_version: default ``EMG_CONFIG.pipelines.bundled_pipeline_version``
    """
    logger = get_run_logger()
    pipeline_name = pipeline_name or EMG_CONFIG.pipelines.bundled_pipeline_name
    pipeline_version = pipeline_version or EMG_CONFIG.pipelines.bundled_pipeline_version
    imported = import_study(study_accession)
    mgys = imported.mgys
    registered = register_analyses(mgys, pipeline_name, pipeline_version, sample_limit, rerun_failed)

    futures = [
        analyse.submit(work.item_id, work.accession, pipeline_name, pipeline_version) for work in registered.work
    ]
    summary = StudySummary(
        study=mgys,
        ena_study=study_accession,
        pipeline=f"{pipeline_name}@{pipeline_version}",
        created=registered.created,
        not_imported=imported.not_imported,
    )
    for work, future in zip(registered.work, futures, strict=True):
        outcome = future.result()
        if outcome is None:
            summary.skipped[work.accession] = analysis_ledger.why_skipped(work.item_id)
        elif outcome.outcome == Outcome.COMPLETED:
            summary.completed.append(work.accession)
        elif outcome.outcome == Outcome.HANDED_OVER:
            summary.skipped[work.accession] = f"handed over: {outcome.message}"
        else:
            summary.failed[work.accession] = f"{outcome.failed_step}: {(outcome.message or '').splitlines()[0]}"
    logger.info(summary.line())
    return summary
