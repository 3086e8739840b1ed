"""Import an ENA study into the platform: the ENA rows and the MGYS study, samples and runs they make.

:func:`import_ena_study` fetches everything from the Portal API first, then writes in one
transaction: ``ena.services.store_ena_bundle`` (the ENA rows), then :func:`sync_platform_rows` (the
platform's ``Study`` (MGYS), ``Sample`` and ``Run``). A failure at any point leaves the database
as it was. Every path that creates platform rows from ENA rows (the flows, the import command, the
dev data) goes through :func:`store_and_sync`.

Who owns which platform field:

* ENA owns ``ena_accessions``, ``is_private``/``webin_submitter``, ``Run.instrument_*`` and
  ``Run.sample``: these follow upstream.
* Curators own ``Study.title`` once edited, ``biome`` (study and sample), ``Run.metadata`` and
  ``Run.experiment_type`` once edited. "Edited" is detected by comparing with what the previous
  import would have written (the old ENA title; the type derived from the old library
  strategy/source): only unedited values follow upstream.

Re-importing an unchanged study writes nothing (no UPDATE, no INSERT).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from analyses.models import ExperimentType, Run, Sample, Study
from core.bulk import LOOKUP_CHUNK, UPDATE_BATCH, ObjectCounts, Upserted, any_of, chunks, copy_rows, upsert
from core.gc_pause import gc_paused
from ena.portal.client import ENAPortalClient
from ena.portal.types import ENAStudyBundle
from ena.schemas import SkippedRecord
from ena.services import ImportProgress, StoredENABundle, store_ena_bundle


@dataclass
class ImportSummary:
    """What an import did, per model ("ena.Run", "analyses.Study", ...)."""

    study_accession: str
    mgys_accession: str
    counts: dict[str, ObjectCounts] = field(default_factory=dict)
    private: bool = False
    skipped: list[SkippedRecord] = field(default_factory=list)
    no_longer_listed: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return sum(c.created + c.updated for c in self.counts.values())

    def lines(self) -> list[str]:
        out = [f"{self.study_accession} -> {self.mgys_accession}" + (" (private)" if self.private else "")]
        for name, c in self.counts.items():
            out.append(f"  {name:<16} created {c.created:>6}  updated {c.updated:>6}  unchanged {c.unchanged:>6}")
        out += [f"  skipped: {record.reason}" for record in self.skipped]
        if self.no_longer_listed:
            out.append(f"  no longer listed by ENA (kept): {', '.join(self.no_longer_listed)}")
        return out


def _sync_study(stored: StoredENABundle, privacy: dict[str, Any]) -> tuple[Study, ObjectCounts]:
    """The MGYS study of the ENA study: created once, then following ENA (title only until a curator edits it)."""
    ena_study = stored.study
    counts = ObjectCounts()
    study = Study.objects.filter(ena_study=ena_study).order_by("id").first()
    if study is None:
        study = Study.objects.create(
            ena_study=ena_study, title=ena_study.title, ena_accessions=list(ena_study.ena_accessions), **privacy
        )
        counts.created = 1
        return study, counts
    old_title = stored.studies.before.get(ena_study.accession, {}).get("title", ena_study.title)
    wanted = {"ena_accessions": list(ena_study.ena_accessions), **privacy}
    if study.title == old_title:  # not edited by a curator: follow ENA
        wanted["title"] = ena_study.title
    changed = [name for name, value in wanted.items() if getattr(study, name) != value]
    if changed:
        for name in changed:
            setattr(study, name, wanted[name])
        study.save(update_fields=[*changed, "updated_at"])
        counts.updated = 1
    else:
        counts.unchanged = 1
    return study, counts


def _link_samples(study: Study, sample_pks: list[int]) -> None:
    """Add the samples to the study's many-to-many (COPY of the missing links only)."""
    through = Sample.studies.through
    linked: set[int] = set()
    for chunk in chunks(sample_pks, LOOKUP_CHUNK):
        linked.update(
            through.objects.filter(any_of(through, "sample_id", chunk), study_id=study.pk).values_list(
                "sample_id", flat=True
            )
        )
    missing = [pk for pk in sample_pks if pk not in linked]
    if missing:
        copy_rows(through._meta.db_table, ["study_id", "sample_id"], ((study.pk, pk) for pk in missing))


def _retype_runs(stored: StoredENABundle, runs: Upserted) -> None:
    """``experiment_type`` follows a changed library strategy/source unless a curator changed it."""
    retyped = []
    for accession, old in stored.runs.before.items():
        new = stored.runs.objects[accession]
        old_type = ExperimentType.for_library(old["library_strategy"], old["library_source"])
        new_type = ExperimentType.for_library(new.library_strategy, new.library_source)
        platform_run = runs.objects[new.pk]
        if new_type != old_type and platform_run.experiment_type == old_type:
            platform_run.experiment_type = new_type
            platform_run.updated_at = timezone.now()
            retyped.append(platform_run)
    if retyped:
        Run.objects.bulk_update(retyped, ["experiment_type", "updated_at"], batch_size=UPDATE_BATCH)
        newly = [run for run in retyped if run.ena_run_id not in runs.before]
        runs.counts.updated += len(newly)
        runs.counts.unchanged -= len(newly)


def sync_platform_rows(stored: StoredENABundle) -> tuple[Study, dict[str, ObjectCounts]]:
    """Create or update the MGYS study, samples and runs of freshly stored ENA rows (call in a transaction).

    :param stored: what ``ena.services.store_ena_bundle`` wrote
    :return: the MGYS study and the counts per platform model
    """
    privacy = {"is_private": stored.study.is_private, "webin_submitter": stored.study.webin_submitter}
    study, study_counts = _sync_study(stored, privacy)
    samples = upsert(
        Sample,
        key="ena_sample_id",
        desired={
            obj.pk: {"ena_accessions": list(obj.ena_accessions), **privacy} for obj in stored.samples.objects.values()
        },
    )
    _link_samples(study, [obj.pk for obj in samples.objects.values()])
    platform_sample_ids = {ena_pk: obj.pk for ena_pk, obj in samples.objects.items()}
    ena_runs = {obj.pk: obj for obj in stored.runs.objects.values()}
    runs = upsert(
        Run,
        key="ena_run_id",
        desired={
            obj.pk: {
                "sample_id": platform_sample_ids[obj.sample_id],
                "instrument_platform": obj.instrument_platform,
                "instrument_model": obj.instrument_model,
                "ena_accessions": list(obj.ena_accessions),
                **privacy,
            }
            for obj in ena_runs.values()
        },
        on_create=lambda ena_pk: {
            "study_id": study.pk,
            "experiment_type": ExperimentType.for_library(
                ena_runs[ena_pk].library_strategy, ena_runs[ena_pk].library_source
            ),
        },
    )
    _retype_runs(stored, runs)
    return study, {"analyses.Study": study_counts, "analyses.Sample": samples.counts, "analyses.Run": runs.counts}


def store_and_sync(*, bundle: ENAStudyBundle, progress: ImportProgress | None = None) -> ImportSummary:
    """Write a fetched study bundle's ENA rows and platform rows in one transaction.

    :param bundle: the study, samples and runs as fetched from ENA (or built by dev data)
    :param progress: called as (stage, done, total) while writing
    """
    with gc_paused(), transaction.atomic():
        stored = store_ena_bundle(bundle=bundle, progress=progress)
        study, platform_counts = sync_platform_rows(stored)
    study.refresh_from_db(fields=["accession"])
    return ImportSummary(
        study_accession=bundle.study.accession,
        mgys_accession=study.accession,
        private=bundle.is_private,
        skipped=stored.report.skipped,
        no_longer_listed=stored.report.no_longer_listed,
        counts={
            "ena.Study": stored.studies.counts,
            "ena.Sample": stored.samples.counts,
            "ena.Run": stored.runs.counts,
            **platform_counts,
        },
    )


def import_ena_study(
    accession: str,
    *,
    client: ENAPortalClient | None = None,
    authenticated: bool = False,
    progress: ImportProgress | None = None,
) -> ImportSummary:
    """Fetch an ENA study with all its samples and runs, then store them and their MGYS study and runs.

    Everything is fetched before anything is written, and the writes are one transaction.

    :param accession: the study's PRJ or ERP/SRP/DRP accession
    :param client: the Portal API client (default: configured from ``EMG_CONFIG``)
    :param authenticated: require the Webin credentials (a study not public is then looked for
        privately; with credentials configured that happens anyway); ignored when ``client`` is given
    :param progress: called as (stage, done, total) -- stages "sample"/"read_run" (fetching, total
        unknown) then "samples"/"runs" (writing)
    :raises ena.portal.ENAError: a typed error naming the accession and the URL
    :raises ena.accessions.InvalidAccessionError: ``accession`` is not a study accession
    """
    own = client is None
    client = client or ENAPortalClient.from_settings(authenticated=authenticated)
    try:
        fetch_progress = (lambda what, done: progress(what, done, None)) if progress else None
        bundle = client.fetch_study_bundle(accession, progress=fetch_progress)
    finally:
        if own:
            client.close()
    return store_and_sync(bundle=bundle, progress=progress)
