"""Services that create analyses and record their progress and results (called by the flows).

Every write is a single UPDATE or a short transaction, so a crashed flow leaves each analysis in
its last recorded state, never half-written.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from analyses.models import Analysis, Run, Study
from analyses.schemas import (
    AnalysisAnnotations,
    AnalysisResults,
    AnalysisStatusFlag,
    DownloadFile,
    Provenance,
    QualityControl,
    SlurmJobRecord,
)
from core.errors import Conflict
from core.fields import SchemaJSONField


def _flag(flag: AnalysisStatusFlag, message: str | None = None) -> dict:
    return {flag.value: {"at": timezone.now().isoformat(), "message": message}}


def ensure_run_analyses(
    *, study: Study, runs: Iterable[Run], pipeline_name: str, pipeline_version: str
) -> tuple[list[Analysis], int]:
    """Create the missing analyses of ``runs`` for this pipeline version; return all of them and how many were new.

    Uniqueness is the database's partial unique constraint on (run, pipeline, version): concurrent
    callers both ``INSERT … ON CONFLICT DO NOTHING`` and then read the same rows.

    :param study: the MGYS study the analyses belong to
    :param runs: the runs to analyse
    :param pipeline_name: e.g. ``raw-reads``
    :param pipeline_version: e.g. ``1.0.0``
    """
    runs = list(runs)
    before = Analysis.objects.active().filter(
        run__in=runs, pipeline_name=pipeline_name, pipeline_version=pipeline_version
    )
    existing_run_ids = set(before.values_list("run_id", flat=True))
    Analysis.objects.bulk_create(
        [
            Analysis(
                study=study,
                run=run,
                sample_id=run.sample_id,
                experiment_type=run.experiment_type,
                pipeline_name=pipeline_name,
                pipeline_version=pipeline_version,
                is_private=run.is_private,
                webin_submitter=run.webin_submitter,
                status=_flag(AnalysisStatusFlag.ANALYSIS_CREATED),
            )
            for run in runs
            if run.pk not in existing_run_ids
        ],
        ignore_conflicts=True,
    )
    analyses = list(
        Analysis.objects.active()
        .filter(run__in=runs, pipeline_name=pipeline_name, pipeline_version=pipeline_version)
        .select_related("run", "run__ena_run")
        .order_by("accession")
    )
    return analyses, len(analyses) - len(existing_run_ids)


def requeue(*, analysis: Analysis, message: str) -> None:
    """Put a failed analysis back to pending for a requested re-run (its failure stays in ``status``)."""
    _update(
        analysis,
        state=Analysis.State.PENDING,
        flags=_flag(AnalysisStatusFlag.ANALYSIS_CREATED, message),
        unless_completed=True,
    )


def _update(analysis: Analysis, *, flags: dict | None = None, unless_completed: bool = False, **fields) -> None:
    """Apply ``fields`` and merge ``flags`` into status, on the row and on the instance.

    :param unless_completed: refuse (:class:`Conflict`) if the analysis is COMPLETED: completed
        work changes only through an explicit re-run (a new analysis supersedes it)
    """
    with transaction.atomic():
        locked = Analysis.objects.select_for_update().get(pk=analysis.pk)
        if unless_completed and locked.state == Analysis.State.COMPLETED:
            raise Conflict(f"{analysis.accession} is completed; it is not changed to {fields.get('state', 'that')}")
        if flags:
            fields["status"] = {**(locked.status or {}), **flags}
        Analysis.objects.filter(pk=analysis.pk).update(**fields, updated_at=timezone.now())
    for name, value in fields.items():
        field = Analysis._meta.get_field(name)
        setattr(analysis, name, field.validate_value(value) if isinstance(field, SchemaJSONField) else value)


def mark_reads_fetched(*, analysis: Analysis, checksums: dict[str, str]) -> None:
    _update(analysis, flags=_flag(AnalysisStatusFlag.READS_FETCHED, f"{len(checksums)} files, md5 verified"))


def mark_started(*, analysis: Analysis, provenance: Provenance) -> None:
    _update(
        analysis,
        state=Analysis.State.RUNNING,
        provenance=provenance,
        flags=_flag(AnalysisStatusFlag.ANALYSIS_STARTED),
        unless_completed=True,
    )


def record_slurm_jobs(*, analysis: Analysis, jobs: list[SlurmJobRecord]) -> bool:
    """Store the pipeline's Slurm jobs (ids, steps, states) on the analysis' provenance, when they changed.

    :return: whether anything was written
    """
    provenance = Provenance.model_validate(analysis.provenance) if analysis.provenance else None
    if provenance is None or _job_states(provenance.slurm_jobs) == _job_states(jobs):
        return False
    with transaction.atomic():
        # Only the jobs change, on the row as it is now: the caller's copy may be stale (a curator cancelled the
        # analysis meanwhile, recording its step and message) and must not be written back over it.
        locked = Analysis.objects.select_for_update().only("provenance").get(pk=analysis.pk)
        current = Provenance.model_validate(locked.provenance) if locked.provenance else provenance
        _update(analysis, provenance=current.model_copy(update={"slurm_jobs": jobs}))
    return True


def _job_states(jobs: list[SlurmJobRecord]) -> list[tuple]:
    """What matters for change detection: not ``updated_at``, which every poll sets anew."""
    return [(job.job_id, job.step, job.state, job.exit_code) for job in jobs]


def mark_failed(
    *, analysis: Analysis, message: str, failed_step: str | None = None, flow_run_id: str | None = None
) -> None:
    """Record the failure: state, the ``analysis_failed`` flag, and the step and message in the provenance.

    :param flow_run_id: the Prefect flow run that failed it; an analysis that failed before its launch (selecting
        or fetching reads) has no provenance yet, and gets one naming the pipeline and that flow run, so a curator
        can follow it from the analysis
    """
    provenance = Provenance.model_validate(analysis.provenance) if analysis.provenance else None
    if provenance is None and flow_run_id:
        provenance = Provenance(
            pipeline_name=analysis.pipeline_name,
            pipeline_version=analysis.pipeline_version,
            prefect_flow_run_id=flow_run_id,
        )
    fields: dict = {"state": Analysis.State.FAILED}
    if provenance is not None:
        fields["provenance"] = provenance.model_copy(update={"failed_step": failed_step, "error_message": message})
    where = f"{failed_step}: " if failed_step else ""
    _update(
        analysis,
        flags=_flag(AnalysisStatusFlag.ANALYSIS_FAILED, f"{where}{message}"[:2000]),
        unless_completed=True,
        **fields,
    )


def store_results(
    *,
    analysis: Analysis,
    quality_control: QualityControl,
    results: AnalysisResults,
    downloads: list[DownloadFile],
    provenance: Provenance,
    annotations: AnalysisAnnotations | None = None,
) -> None:
    """Record a completed analysis' parsed outputs in one write."""
    flags = {
        **_flag(AnalysisStatusFlag.RESULTS_IMPORTED),
        **_flag(AnalysisStatusFlag.ANALYSIS_COMPLETED),
    }
    _update(
        analysis,
        state=Analysis.State.COMPLETED,
        quality_control=quality_control,
        results=results,
        annotations=annotations,
        downloads=downloads,
        provenance=provenance,
        flags=flags,
    )
