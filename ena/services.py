"""Import an ENA study (with all its samples and runs) into the database, idempotently.

:func:`import_ena_study` fetches everything from the Portal API first, then writes in one
transaction with bulk operations: ``ena.Study/Sample/Run`` and the platform's ``analyses.Study``
(MGYS), ``analyses.Sample`` and ``analyses.Run``.

Who owns which field:

* ENA owns every field of the ``ena`` models, and on ``analyses`` objects ``ena_accessions``,
  ``is_private``/``webin_submitter``, ``analyses.Run.instrument_*`` and ``analyses.Run.sample``:
  these follow upstream.
* Curators own ``analyses.Study.title`` once edited, ``biome`` (study and sample),
  ``analyses.Run.metadata`` and ``analyses.Run.experiment_type`` once edited. "Edited" is detected
  by comparing with what the previous import would have written (the old ENA title; the type
  derived from the old library strategy/source): only unedited values follow upstream.

Re-importing an unchanged study writes nothing (no UPDATE, no INSERT); a changed row is updated
with only its ENA-owned fields, and its ``fetched_at`` records when those values were fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models import ExpressionWrapper
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.utils import timezone
from psycopg.types.json import Jsonb

from analyses.models import ExperimentType
from analyses.models import Run as PlatformRun
from analyses.models import Sample as PlatformSample
from analyses.models import Study as PlatformStudy
from emgapiv2.fields import SchemaJSONField
from emgapiv2.gc_pause import gc_paused
from ena.models import Run, Sample, Study
from ena.portal.client import ENAPortalClient
from ena.portal.types import ENAStudy, ENAStudyBundle

#: Called as (stage, done, total) while an import runs; total may be None while unknown.
ImportProgress = Callable[[str, int, int | None], None]

LOOKUP_CHUNK = 50_000
CREATE_BATCH = 2_000
UPDATE_BATCH = 1_000

STUDY_FIELDS = ["title", "ena_accessions", "metadata", "is_private", "webin_submitter"]
SAMPLE_FIELDS = ["title", "tax_id", "scientific_name", "ena_accessions", "metadata", "is_private", "webin_submitter"]
RUN_FIELDS = [
    "sample_id",
    "experiment_accession",
    "library_strategy",
    "library_layout",
    "library_source",
    "library_selection",
    "instrument_platform",
    "instrument_model",
    "read_count",
    "base_count",
    "first_public",
    "fastq_files",
    "ena_accessions",
    "metadata",
    "is_private",
    "webin_submitter",
]
PLATFORM_SAMPLE_FIELDS = ["ena_accessions", "is_private", "webin_submitter"]
PLATFORM_RUN_FIELDS = [
    "sample_id",
    "instrument_platform",
    "instrument_model",
    "ena_accessions",
    "is_private",
    "webin_submitter",
]


def experiment_type_for(library_strategy: str, library_source: str) -> str:
    """The platform's experiment type for an ENA run's library strategy and source.

    AMPLICON -> AMPLI; WGS/WGA/WXS + METAGENOMIC -> METAG; any + METATRANSCRIPTOMIC
    (e.g. RNA-Seq) -> METAT; anything else -> UNKNO.
    """
    strategy, source = library_strategy.upper(), library_source.upper()
    if strategy == "AMPLICON":
        return ExperimentType.AMPLICON
    if source == "METATRANSCRIPTOMIC":
        return ExperimentType.METATRANSCRIPTOMIC
    if source == "METAGENOMIC" and strategy in {"WGS", "WGA", "WXS", "OTHER"}:
        return ExperimentType.METAGENOMIC
    return ExperimentType.UNKNOWN


@dataclass
class ObjectCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class ImportSummary:
    """What an import did, per model ("ena.Run", "analyses.Study", ...)."""

    study_accession: str
    mgys_accession: str
    counts: dict[str, ObjectCounts] = field(default_factory=dict)

    @property
    def writes(self) -> int:
        return sum(c.created + c.updated for c in self.counts.values())

    def lines(self) -> list[str]:
        out = [f"{self.study_accession} -> {self.mgys_accession}"]
        for name, c in self.counts.items():
            out.append(f"  {name:<16} created {c.created:>6}  updated {c.updated:>6}  unchanged {c.unchanged:>6}")
        return out


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _new(model: type[models.Model], values: dict[str, Any]) -> models.Model:
    """An unsaved instance from attribute names (``study_id``, not ``study``), skipping ``__init__``'s
    per-field work, which dominated large imports. Unset fields get their defaults."""
    obj = model.__new__(model)
    obj._state = ModelState()
    for model_field in model._meta.concrete_fields:
        if model_field.attname not in values and not model_field.has_db_default():
            obj.__dict__[model_field.attname] = model_field.get_default()
    obj.__dict__.update(values)
    return obj


def _any_of(model: type[models.Model], attname: str, values: Sequence[Any]) -> ExpressionWrapper:
    """``column = ANY(%s)`` with one array parameter: unlike ``__in``, cheap to compile for 10^4+ values."""
    column = connection.ops.quote_name(model._meta.get_field(attname).column)
    table = connection.ops.quote_name(model._meta.db_table)
    return ExpressionWrapper(RawSQL(f"{table}.{column} = ANY(%s)", [list(values)]), output_field=models.BooleanField())


def _existing(model: type[models.Model], key: str, values: Sequence[Any]) -> dict[Any, Any]:
    found: dict[Any, Any] = {}
    for chunk in _chunks(list(values), LOOKUP_CHUNK):
        for obj in model.objects.filter(_any_of(model, key, chunk)):
            found[getattr(obj, key)] = obj
    return found


@dataclass
class _Upserted:
    objects: dict[Any, Any]
    before: dict[Any, dict[str, Any]]  # old values of rows that changed
    counts: ObjectCounts


def _upsert(
    model: type[models.Model],
    *,
    key: str,
    desired: dict[Any, dict[str, Any]],
    fields: list[str],
    on_create: Callable[[Any], dict[str, Any]] = lambda _key: {},
    stamp: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> _Upserted:
    """Create missing rows and update rows whose ``fields`` differ from ``desired``; leave the rest alone.

    :param key: the unique field identifying rows (``accession``, ``ena_sample_id``...)
    :param desired: key -> the values ``fields`` should have
    :param on_create: key -> extra values for a new row only
    :param stamp: values set on created and changed rows (e.g. ``fetched_at``)
    """
    stamp = stamp or {}
    existing = _existing(model, key, list(desired))
    to_create, to_update = [], []
    before: dict[Any, dict[str, Any]] = {}
    counts = ObjectCounts()
    now = timezone.now()
    for item_key, values in desired.items():
        obj = existing.get(item_key)
        if obj is None:
            obj = _new(model, {key: item_key, **values, **on_create(item_key), **stamp})
            to_create.append(obj)
            existing[item_key] = obj
            continue
        if all(getattr(obj, name) == values[name] for name in fields):
            counts.unchanged += 1
            continue
        before[item_key] = {name: getattr(obj, name) for name in fields}
        for name in fields:
            setattr(obj, name, values[name])
        for name, value in stamp.items():
            setattr(obj, name, value)
        obj.updated_at = now
        to_update.append(obj)
    done = counts.unchanged
    for batch in _chunks(to_create, CREATE_BATCH):
        _copy_insert(model, batch, key=key)
        done += len(batch)
        if progress:
            progress(done)
    for batch in _chunks(to_update, UPDATE_BATCH):
        model.objects.bulk_update(batch, [*fields, *stamp, "updated_at"])
        done += len(batch)
        if progress:
            progress(done)
    if progress and not (to_create or to_update):
        progress(done)
    counts.created, counts.updated = len(to_create), len(to_update)
    return _Upserted(existing, before, counts)


def _copy_value(field: models.Field) -> Callable[[Any], Any]:
    """How to turn an attribute value into what psycopg's COPY writes, for one field (decided once)."""
    if isinstance(field, SchemaJSONField):
        return lambda value: None if value is None else Jsonb(field.validate_value(value))
    if isinstance(field, models.JSONField):
        return lambda value: None if value is None else Jsonb(value)
    return lambda value: value  # str, int, bool, date, aware datetime, list: psycopg adapts them


def _copy_insert(model: type[models.Model], objs: Sequence[models.Model], *, key: str) -> None:
    """Insert new rows with Postgres ``COPY`` (much faster than multi-row INSERT), then set their pks.

    ``auto_now``/``auto_now_add`` fields get the current time and ``SchemaJSONField`` values are
    validated against their schema, as ``bulk_create`` would do.

    :param key: a unique field of the model, used to read back the new rows' primary keys
    """
    if not objs:
        return
    meta = model._meta
    fields = [
        f
        for f in meta.concrete_fields
        if not f.primary_key
        and not getattr(f, "generated", False)
        and not (f.has_db_default() and getattr(objs[0], f.attname, None) is None)
    ]
    now = timezone.now()
    stamped = [f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    converters = [(f.attname, _copy_value(f)) for f in fields]
    db = connections[DEFAULT_DB_ALIAS]
    columns = ", ".join(db.ops.quote_name(f.column) for f in fields)
    # wrap_database_errors: psycopg errors become Django's (DataError, IntegrityError...) as with the ORM.
    with (
        db.wrap_database_errors,
        db.cursor() as cursor,
        cursor.cursor.copy(f"COPY {db.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for obj in objs:
            for attname in stamped:
                setattr(obj, attname, now)
            copy.write_row([convert(getattr(obj, attname)) for attname, convert in converters])
    key_field = meta.get_field(key)
    keys = [getattr(obj, key_field.attname) for obj in objs]
    pks: dict[Any, Any] = {}
    for chunk in _chunks(keys, LOOKUP_CHUNK):
        pks.update(model.objects.filter(_any_of(model, key_field.attname, chunk)).values_list(key_field.attname, "pk"))
    for obj in objs:
        obj.pk = pks[getattr(obj, key_field.attname)]
        obj._state.adding = False
        obj._state.db = db.alias


def _lock_study(accession: str) -> None:
    """Serialise concurrent imports of one study (transaction-scoped advisory lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"ena-import:{accession}"])


def store_study_bundle(
    *, bundle: ENAStudyBundle, fetched_at: datetime | None = None, progress: ImportProgress | None = None
) -> ImportSummary:
    """Write a fetched study bundle in one transaction; see the module docstring for the rules.

    :param bundle: the study, samples and runs as fetched from ENA
    :param fetched_at: when it was fetched (default: now); set on created and changed rows
    :param progress: called as (stage, done, total)
    """
    fetched_at = fetched_at or timezone.now()
    privacy = {"is_private": bundle.is_private, "webin_submitter": bundle.webin_submitter}
    stamp = {"fetched_at": fetched_at}
    s = bundle.study

    def stage(name: str, total: int) -> Callable[[int], None] | None:
        return (lambda done: progress(name, done, total)) if progress else None

    with gc_paused(), transaction.atomic():
        _lock_study(s.accession)
        # ENA objects ---------------------------------------------------------------------------
        studies = _upsert(
            Study,
            key="accession",
            desired={s.accession: {"title": s.title, "ena_accessions": s.all_accessions, "metadata": s.raw, **privacy}},
            fields=STUDY_FIELDS,
            stamp=stamp,
        )
        study = studies.objects[s.accession]
        samples = _upsert(
            Sample,
            key="accession",
            desired={
                x.accession: {
                    "title": x.title,
                    "tax_id": x.tax_id,
                    "scientific_name": x.scientific_name,
                    "ena_accessions": x.all_accessions,
                    "metadata": x.raw,
                    **privacy,
                }
                for x in bundle.samples
            },
            fields=SAMPLE_FIELDS,
            on_create=lambda _acc: {"study_id": study.pk},
            stamp=stamp,
            progress=stage("samples", len(bundle.samples)),
        )
        sample_ids = {acc: obj.pk for acc, obj in samples.objects.items()}
        runs = _upsert(
            Run,
            key="accession",
            desired={
                r.accession: {
                    "sample_id": sample_ids[r.sample_accession],
                    "experiment_accession": r.experiment_accession,
                    "library_strategy": r.library_strategy,
                    "library_layout": r.library_layout,
                    "library_source": r.library_source,
                    "library_selection": r.library_selection,
                    "instrument_platform": r.instrument_platform,
                    "instrument_model": r.instrument_model,
                    "read_count": r.read_count,
                    "base_count": r.base_count,
                    "first_public": r.first_public,
                    "fastq_files": [f.model_dump(mode="json") for f in r.fastq_files],
                    "ena_accessions": r.all_accessions,
                    "metadata": r.raw,
                    **privacy,
                }
                for r in bundle.runs
            },
            fields=RUN_FIELDS,
            on_create=lambda _acc: {"study_id": study.pk},
            stamp=stamp,
            progress=stage("runs", len(bundle.runs)),
        )

        # Platform objects ----------------------------------------------------------------------
        mgys_counts = ObjectCounts()
        mgys = PlatformStudy.objects.filter(ena_study=study).order_by("id").first()
        if mgys is None:
            mgys = PlatformStudy.objects.create(
                ena_study=study, title=s.title, ena_accessions=s.all_accessions, **privacy
            )
            mgys_counts.created = 1
        else:
            old_title = studies.before.get(s.accession, {}).get("title", s.title)
            wanted = {"ena_accessions": s.all_accessions, **privacy}
            if mgys.title == old_title:  # not edited by a curator: follow ENA
                wanted["title"] = s.title
            changed = [name for name, value in wanted.items() if getattr(mgys, name) != value]
            if changed:
                for name in changed:
                    setattr(mgys, name, wanted[name])
                mgys.save(update_fields=[*changed, "updated_at"])
                mgys_counts.updated = 1
            else:
                mgys_counts.unchanged = 1

        platform_samples = _upsert(
            PlatformSample,
            key="ena_sample_id",
            desired={
                obj.pk: {"ena_accessions": list(obj.ena_accessions), **privacy} for obj in samples.objects.values()
            },
            fields=PLATFORM_SAMPLE_FIELDS,
        )
        through = PlatformSample.studies.through
        sample_pks = [obj.pk for obj in platform_samples.objects.values()]
        linked: set[int] = set()
        for chunk in _chunks(sample_pks, LOOKUP_CHUNK):
            linked.update(
                through.objects.filter(_any_of(through, "sample_id", chunk), study_id=mgys.pk).values_list(
                    "sample_id", flat=True
                )
            )
        missing = [pk for pk in sample_pks if pk not in linked]
        if missing:
            table = connection.ops.quote_name(through._meta.db_table)
            with (
                connection.wrap_database_errors,
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {table} (study_id, sample_id) FROM STDIN") as copy,
            ):
                for pk in missing:
                    copy.write_row((mgys.pk, pk))
        platform_sample_ids = {ena_pk: obj.pk for ena_pk, obj in platform_samples.objects.items()}

        run_objects = runs.objects
        run_by_pk = {obj.pk: obj for obj in run_objects.values()}
        platform_runs = _upsert(
            PlatformRun,
            key="ena_run_id",
            desired={
                obj.pk: {
                    "sample_id": platform_sample_ids[obj.sample_id],
                    "instrument_platform": obj.instrument_platform,
                    "instrument_model": obj.instrument_model,
                    "ena_accessions": list(obj.ena_accessions),
                    **privacy,
                }
                for obj in run_objects.values()
            },
            fields=PLATFORM_RUN_FIELDS,
            on_create=lambda ena_pk: {
                "study_id": mgys.pk,
                "experiment_type": experiment_type_for(
                    run_by_pk[ena_pk].library_strategy, run_by_pk[ena_pk].library_source
                ),
            },
        )
        # experiment_type follows a changed library strategy/source unless a curator changed it.
        retyped = []
        for acc, old in runs.before.items():
            new = run_objects[acc]
            old_type = experiment_type_for(old["library_strategy"], old["library_source"])
            new_type = experiment_type_for(new.library_strategy, new.library_source)
            platform_run = platform_runs.objects[new.pk]
            if new_type != old_type and platform_run.experiment_type == old_type:
                platform_run.experiment_type = new_type
                platform_run.updated_at = timezone.now()
                retyped.append(platform_run)
        if retyped:
            PlatformRun.objects.bulk_update(retyped, ["experiment_type", "updated_at"], batch_size=UPDATE_BATCH)
            newly = [x for x in retyped if x.ena_run_id not in platform_runs.before]
            platform_runs.counts.updated += len(newly)
            platform_runs.counts.unchanged -= len(newly)

    mgys.refresh_from_db(fields=["accession"])
    return ImportSummary(
        study_accession=s.accession,
        mgys_accession=mgys.accession,
        counts={
            "ena.Study": studies.counts,
            "ena.Sample": samples.counts,
            "ena.Run": runs.counts,
            "analyses.Study": mgys_counts,
            "analyses.Sample": platform_samples.counts,
            "analyses.Run": platform_runs.counts,
        },
    )


def import_ena_study(
    accession: str,
    *,
    client: ENAPortalClient | None = None,
    authenticated: bool = False,
    progress: ImportProgress | None = None,
) -> ImportSummary:
    """Fetch an ENA study with all its samples and runs, then upsert them and its MGYS study and runs.

    Everything is fetched before anything is written, and the writes are one transaction: a
    failure at any point leaves the database as it was.

    :param accession: the study's PRJ or ERP/SRP/DRP accession
    :param client: the Portal API client (default: configured from ``settings.EMG_CONFIG``)
    :param authenticated: use the Webin credentials (private data); ignored when ``client`` is given
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
    return store_study_bundle(bundle=bundle, progress=progress)


def upsert_ena_study(*, study: ENAStudy, is_private: bool = False, webin_submitter: str = "") -> Study:
    """Create or update just the ENA study row (no samples, runs or MGYS study), as fetched.

    :param study: the study as the Portal API client returned it
    """
    with transaction.atomic():
        _lock_study(study.accession)
        upserted = _upsert(
            Study,
            key="accession",
            desired={
                study.accession: {
                    "title": study.title,
                    "ena_accessions": study.all_accessions,
                    "metadata": study.raw,
                    "is_private": is_private,
                    "webin_submitter": webin_submitter,
                }
            },
            fields=STUDY_FIELDS,
            stamp={"fetched_at": timezone.now()},
        )
    return upserted.objects[study.accession]
