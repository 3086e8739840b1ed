"""Write ENA's records into the ``ena`` tables, idempotently: the only writer of ``ena.Study/Sample/Run``.

ENA owns every field written here: they follow upstream on every import. Rows are compared with
what is stored first; an unchanged row is not written, a changed one is updated (only its ENA
fields) and its ``fetched_at`` records when those values were fetched.

These functions know nothing of the platform's own objects: the ENA -> platform sync (MGYS studies,
samples, runs) lives in :mod:`analyses.ena_sync` and calls :func:`store_ena_bundle` inside its own
transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from pydantic import TypeAdapter

from core.bulk import Upserted, advisory_xact_lock, upsert
from ena.models import Run, Sample, Study
from ena.portal.types import ENARun, ENASample, ENAStudy, ENAStudyBundle
from ena.schemas import FastqFile, ImportReport

#: A run's FASTQ files dumped in one call (not one ``model_dump`` per file: 40,000 calls for 20,000 runs).
_FASTQ_FILES = TypeAdapter(list[FastqFile])

#: Called as (stage, done, total) while an import runs; total may be None while unknown.
ImportProgress = Callable[[str, int, int | None], None]


def study_values(study: ENAStudy, *, is_private: bool, webin_submitter: str) -> dict[str, Any]:
    """The ``ena.Study`` columns ENA owns, from a fetched study."""
    return {
        "title": study.title,
        "ena_accessions": study.all_accessions,
        "metadata": study.raw,
        "is_private": is_private,
        "webin_submitter": webin_submitter,
    }


def sample_values(sample: ENASample, *, is_private: bool, webin_submitter: str) -> dict[str, Any]:
    """The ``ena.Sample`` columns ENA owns, from a fetched sample (its study is set on creation)."""
    return {
        "title": sample.title,
        "tax_id": sample.tax_id,
        "scientific_name": sample.scientific_name,
        "ena_accessions": sample.all_accessions,
        "metadata": sample.raw,
        "is_private": is_private,
        "webin_submitter": webin_submitter,
    }


def run_values(run: ENARun, *, sample_id: int, is_private: bool, webin_submitter: str) -> dict[str, Any]:
    """The ``ena.Run`` columns ENA owns, from a fetched run: the one mapping of ENA's run fields to ours.

    The fields ENA owns are this mapping's keys (``upsert`` compares and updates exactly those).
    """
    return {
        "sample_id": sample_id,
        "experiment_accession": run.experiment_accession,
        "library_strategy": run.library_strategy,
        "library_layout": run.library_layout,
        "library_source": run.library_source,
        "library_selection": run.library_selection,
        "instrument_platform": run.instrument_platform,
        "instrument_model": run.instrument_model,
        "read_count": run.read_count,
        "base_count": run.base_count,
        "first_public": run.first_public,
        "fastq_files": _FASTQ_FILES.dump_python(run.fastq_files, mode="json"),
        "ena_accessions": run.all_accessions,
        "metadata": run.raw,
        "is_private": is_private,
        "webin_submitter": webin_submitter,
    }


def previously_stored_runs(study_accession: str) -> list[str]:
    """Accessions of the runs stored for this ENA study (empty for a new study)."""
    return list(
        Run.objects.filter(study__accession=study_accession).order_by("accession").values_list("accession", flat=True)
    )


def import_report(bundle: ENAStudyBundle, stored_runs: list[str]) -> ImportReport:
    """The study's import report: counts, skipped records, runs ENA stopped listing.

    A run stored before that ENA no longer lists (suppressed, withdrawn) is kept, with its analyses,
    and named here; a run ENA still lists but whose record is now unusable is named under ``skipped``.
    """
    listed = {run.accession for run in bundle.runs} | {s.accession for s in bundle.skipped if s.result == "read_run"}
    skipped_samples = sum(1 for s in bundle.skipped if s.result == "sample")
    skipped_runs = sum(1 for s in bundle.skipped if s.result == "read_run")
    return ImportReport(
        data_portal=bundle.data_portal,
        private=bundle.is_private,
        samples_listed=len(bundle.samples) + skipped_samples,
        runs_listed=len(bundle.runs) + skipped_runs,
        samples_imported=len(bundle.samples),
        runs_imported=len(bundle.runs),
        skipped=bundle.skipped,
        no_longer_listed=[accession for accession in stored_runs if accession not in listed],
    )


@dataclass
class StoredENABundle:
    """What :func:`store_ena_bundle` wrote: every row by accession, with old values of changed rows."""

    study: Study
    studies: Upserted
    samples: Upserted
    runs: Upserted
    report: ImportReport


def lock_study(accession: str) -> None:
    """Serialise concurrent writes of one ENA study (transaction-scoped advisory lock)."""
    advisory_xact_lock(f"ena-import:{accession}")


def store_ena_bundle(
    *, bundle: ENAStudyBundle, fetched_at: datetime | None = None, progress: ImportProgress | None = None
) -> StoredENABundle:
    """Upsert a fetched study with its samples and runs, in one transaction (a savepoint if nested).

    :param bundle: the study, samples and runs as fetched from ENA
    :param fetched_at: when it was fetched (default: now); set on created and changed rows
    :param progress: called as (stage, done, total) for the "samples" and "runs" stages
    """
    privacy = {"is_private": bundle.is_private, "webin_submitter": bundle.webin_submitter}
    stamp = {"fetched_at": fetched_at or timezone.now()}

    def stage(name: str, total: int) -> Callable[[int], None] | None:
        return (lambda done: progress(name, done, total)) if progress else None

    with transaction.atomic():
        lock_study(bundle.study.accession)
        report = import_report(bundle, previously_stored_runs(bundle.study.accession))
        studies = upsert(
            Study,
            key="accession",
            desired={
                bundle.study.accession: {
                    **study_values(bundle.study, **privacy),
                    "import_report": report.model_dump(mode="json"),
                }
            },
            stamp=stamp,
        )
        study = studies.objects[bundle.study.accession]
        samples = upsert(
            Sample,
            key="accession",
            desired={sample.accession: sample_values(sample, **privacy) for sample in bundle.samples},
            on_create=lambda _accession: {"study_id": study.pk},
            stamp=stamp,
            progress=stage("samples", len(bundle.samples)),
        )
        sample_ids = {accession: obj.pk for accession, obj in samples.objects.items()}
        runs = upsert(
            Run,
            key="accession",
            desired={
                run.accession: run_values(run, sample_id=sample_ids[run.sample_accession], **privacy)
                for run in bundle.runs
            },
            on_create=lambda _accession: {"study_id": study.pk},
            stamp=stamp,
            progress=stage("runs", len(bundle.runs)),
        )
    return StoredENABundle(study=study, studies=studies, samples=samples, runs=runs, report=report)


def upsert_ena_study(*, study: ENAStudy, is_private: bool = False, webin_submitter: str = "") -> Study:
    """Create or update just the ENA study row (no samples or runs), as fetched.

    :param study: the study as the Portal API client returned it
    """
    with transaction.atomic():
        lock_study(study.accession)
        upserted = upsert(
            Study,
            key="accession",
            desired={study.accession: study_values(study, is_private=is_private, webin_submitter=webin_submitter)},
            stamp={"fetched_at": timezone.now()},
        )
    return upserted.objects[study.accession]
