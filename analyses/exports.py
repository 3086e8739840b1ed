"""Whole-database metadata exports as DRS objects, and the importer that restores one.

An export is a directory ``<exports_root>/<YYYYmmddTHHMMSSZ>/`` holding one gzip-compressed JSON
Lines file per collection (Django's ``jsonl`` serialisation: one ``{"model", "pk", "fields"}`` record
per row, many-to-many links included) and ``manifest.json`` with each file's row count, size and
checksums. Every file is registered as a DRS blob; the set is registered twice: a snapshot bundle
whose contents never change, and a stable ``...-latest`` bundle re-pointed at the newest export.

Three scopes (:class:`ExportScope`), each with its own bundle ids and DRS privacy:

* public (default): exactly what an anonymous user may see, as public objects;
  ``mgnify-export-<timestamp>`` and ``mgnify-export-latest``.
* owner (``owner="Webin-777"``): the rows only that Webin account may see, as objects private to it;
  ``mgnify-export-webin-777-<timestamp>`` and ``mgnify-export-webin-777-latest``.
* everything (``include_private=True``, admins): every row, as private objects without an owner (readable
  only with the view-private permission); ``mgnify-export-private-<timestamp>`` and ``mgnify-export-private-latest``.

Every export is closed under its links: a foreign key or a ``Sample.studies`` link of an exported row
points at a row of the same export, so an export re-imports into empty tables on its own.

Shared blobs: blob ids come from the bytes (``drs.models.blob_id_for``) and ``drs.services.register_blob``
merges privacy when the same bytes are registered twice (public wins). So that an export of one scope can
never touch another's objects, each file's gzip header names its scope (``studies.webin-777.jsonl``), so
two scopes never write the same bytes, not even for an empty collection; and a file whose blob already
exists with another privacy or owner is refused (:class:`ExportPrivacyError`) instead of registered.
The same scope writing the same rows again gives the same blob, which is harmless.

Blob ids come from the bytes and bundle ids are fixed, so neither changes when files move
(``drs.services.move_storage``).
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Prefetch, Q

from analyses.models import Analysis, Assembly, Run, Sample, Study
from core.checksums import file_checksums, file_sha256
from drs.models import DrsObject, blob_id_for
from drs.services import register_blob, register_bundle

MANIFEST_FORMAT = "emg-metadata-export/1"
BUNDLE_PREFIX = "mgnify-export"
LATEST_BUNDLE_ID = f"{BUNDLE_PREFIX}-latest"
BATCH_ROWS = 2000
#: ENA's Webin account names; an owner export's bundle ids are built from them, so nothing else is accepted.
WEBIN_ACCOUNT = re.compile(r"^Webin-[0-9]{1,12}$")

#: collection name -> model label, in dependency order (an import loads them in this order).
#: Assemblies are exported too: analyses refer to them, so without them an export could not be re-imported.
COLLECTIONS: dict[str, str] = {
    "studies": "analyses.Study",
    "samples": "analyses.Sample",
    "runs": "analyses.Run",
    "assemblies": "analyses.Assembly",
    "analyses": "analyses.Analysis",
}

#: DB-minted accessions: (model label, field, Postgres sequence, prefix); see analyses migration 0001.
MINTED_ACCESSIONS = [
    ("analyses.Study", "accession", "analyses_mgys_seq", "MGYS"),
    ("analyses.Analysis", "accession", "analyses_mgya_seq", "MGYA"),
]


class FullPrecisionEncoder(DjangoJSONEncoder):
    """Django's encoder keeps only milliseconds of times; an export that re-imports exactly keeps microseconds."""

    def default(self, o):
        if isinstance(o, datetime):
            return o.isoformat().replace("+00:00", "Z")
        if isinstance(o, time):
            return o.isoformat()
        return super().default(o)


class ExportPrivacyError(RuntimeError):
    """Registering an export would change or share a DRS object of another scope (privacy or owner)."""


@dataclass(frozen=True)
class ExportScope:
    """Who an export is for: its name (in bundle ids and gzip headers) and the DRS privacy of its objects."""

    name: str
    is_private: bool
    owner: str = ""

    @classmethod
    def public(cls) -> ExportScope:
        return cls(name="public", is_private=False)

    @classmethod
    def everything(cls) -> ExportScope:
        return cls(name="private", is_private=True)

    @classmethod
    def for_owner(cls, owner: str) -> ExportScope:
        """:raises ValueError: unless ``owner`` is a Webin account name (``Webin-<1 to 12 digits>``)"""
        if not WEBIN_ACCOUNT.match(owner):
            raise ValueError(f"{owner!r} is not a Webin account (Webin-<digits>)")
        return cls(name=owner.lower(), is_private=True, owner=owner)

    @property
    def bundle_prefix(self) -> str:
        # The public ids predate scopes and are what users share; the others cannot collide with them:
        # their names are never a timestamp nor "latest".
        return BUNDLE_PREFIX if self.name == "public" else f"{BUNDLE_PREFIX}-{self.name}"

    def snapshot_id(self, stamp: str) -> str:
        return f"{self.bundle_prefix}-{stamp}"

    @property
    def latest_id(self) -> str:
        return f"{self.bundle_prefix}-latest"


class WebinAccount:
    """A Webin account as ``visible_to`` sees a signed-in submitter without any staff flag or permission.

    Not the stored user: an account that is also staff (or holds the view-private permission) sees other
    submitters' rows, and those must never go into its own export.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, username: str) -> None:
        self.username = username

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def get_all_permissions(self, obj: Any = None) -> set[str]:
        return set()


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    manifest: dict
    bundle: DrsObject
    latest: DrsObject


def _pk_of(queryset: models.QuerySet, column: str) -> Exists:
    """``queryset`` has the row that the outer row's ``column`` points at (a correlated EXISTS, no JOIN)."""
    return Exists(queryset.filter(pk=OuterRef(column)))


def _absent_or(queryset: models.QuerySet, column: str) -> Q:
    """The nullable ``column`` is empty or points at a row of ``queryset``."""
    return Q(**{f"{column}__isnull": True}) | Q(_pk_of(queryset, column))


def visible_rows(user: Any) -> dict[str, models.QuerySet]:
    """What ``user`` may see of each collection, closed under foreign keys (label -> queryset, unordered).

    Rows are filtered by ``visible_to`` (the platform's one rule); rows that hang off a study are also hidden
    with their study, as in the read API, and runs, assemblies and analyses with a hidden sample, run or assembly.
    """
    studies = Study.objects.visible_to(user)
    samples = Sample.objects.visible_to(user)
    runs = Run.objects.visible_to(user).filter(_pk_of(studies, "study_id"), _pk_of(samples, "sample_id"))
    assemblies = Assembly.objects.visible_to(user).filter(_pk_of(studies, "study_id"), _absent_or(runs, "run_id"))
    analyses = Analysis.objects.visible_to(user).filter(
        _pk_of(studies, "study_id"),
        _absent_or(samples, "sample_id"),
        _absent_or(runs, "run_id"),
        _absent_or(assemblies, "assembly_id"),
    )
    return {
        "analyses.Study": studies,
        "analyses.Sample": samples,
        "analyses.Run": runs,
        "analyses.Assembly": assemblies,
        "analyses.Analysis": analyses,
    }


def owner_rows(owner: str) -> dict[str, models.QuerySet]:
    """The rows only ``owner`` may see, plus the public rows they refer to (label -> queryset, unordered).

    "Only": visible to the Webin account and not to an anonymous user, so a public-flagged analysis of the
    owner's private study is theirs too. The public parents (the study, sample, run or assembly a private row
    points at) are included so that the export re-imports on its own; private samples keep their links to
    every study the owner may see.
    """
    theirs = visible_rows(WebinAccount(owner))
    public = visible_rows(AnonymousUser())
    own = {label: rows.exclude(_pk_of(public[label], "pk")) for label, rows in theirs.items()}
    analyses = own["analyses.Analysis"]
    assemblies = Assembly.objects.filter(
        Q(pk__in=own["analyses.Assembly"].values("pk")) | Q(pk__in=analyses.values("assembly_id"))
    )
    runs = Run.objects.filter(
        Q(pk__in=own["analyses.Run"].values("pk"))
        | Q(pk__in=assemblies.values("run_id"))
        | Q(pk__in=analyses.values("run_id"))
    )
    samples = Sample.objects.filter(
        Q(pk__in=own["analyses.Sample"].values("pk"))
        | Q(pk__in=runs.values("sample_id"))
        | Q(pk__in=analyses.values("sample_id"))
    )
    linked = Sample.studies.through.objects.filter(
        sample_id__in=own["analyses.Sample"].values("pk"), study_id__in=theirs["analyses.Study"].values("pk")
    )
    studies = Study.objects.filter(
        Q(pk__in=own["analyses.Study"].values("pk"))
        | Q(pk__in=linked.values("study_id"))
        | Q(pk__in=runs.values("study_id"))
        | Q(pk__in=assemblies.values("study_id"))
        | Q(pk__in=analyses.values("study_id"))
    )
    return {
        "analyses.Study": studies,
        "analyses.Sample": samples,
        "analyses.Run": runs,
        "analyses.Assembly": assemblies,
        "analyses.Analysis": analyses,
    }


def export_rows(scope: ExportScope) -> dict[str, models.QuerySet]:
    """Each collection's rows for ``scope``, ordered by primary key, many-to-many links limited to the export.

    The links are prefetched (one query per batch, not per row) from the export's own rows of the linked
    collection, so a public sample never names a private study.
    """
    if scope.owner:
        rows = owner_rows(scope.owner)
    elif scope.is_private:
        rows = {label: apps.get_model(label).objects.all() for label in COLLECTIONS.values()}
    else:
        rows = visible_rows(AnonymousUser())
    by_model = {apps.get_model(label): label for label in COLLECTIONS.values()}
    ordered: dict[str, models.QuerySet] = {}
    for label, queryset in rows.items():
        prefetches = [
            Prefetch(field.name, queryset=rows[by_model[field.related_model]].only("pk").order_by("pk"))
            for field in queryset.model._meta.many_to_many
        ]
        ordered[label] = queryset.prefetch_related(*prefetches).order_by("pk")
    return ordered


def _batched(queryset: models.QuerySet) -> Iterator[list[models.Model]]:
    last_pk = None
    while True:
        page = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
        rows = list(page[:BATCH_ROWS])
        if not rows:
            return
        yield rows
        last_pk = rows[-1].pk


def write_collection(path: Path, queryset: models.QuerySet, *, header_name: str = "") -> int:
    """Write ``queryset`` to ``path`` as gzip JSON Lines, in primary-key batches; return the row count.

    :param path: the ``.jsonl.gz`` file to write
    :param queryset: the rows, ordered by primary key (many-to-many fields prefetched, or a query per row)
    :param header_name: the file name in the gzip header; it keeps one scope's bytes from equalling another's
    """
    count = 0
    # No time in the gzip header: the same rows give the same bytes, hence the same blob.
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename=header_name, mode="wb", fileobj=raw, mtime=0) as compressed,
        io.TextIOWrapper(compressed, encoding="utf-8") as handle,
    ):
        for rows in _batched(queryset):
            handle.write(serializers.serialize("jsonl", rows, cls=FullPrecisionEncoder))
            count += len(rows)
    return count


def _register_blob(scope: ExportScope, path: Path, sha256: str, **fields: Any) -> DrsObject:
    """Register one file of ``scope``'s export, refusing a blob of the same bytes with another privacy or owner.

    ``register_blob`` would make such a blob public (or keep it so), changing who may read another export.
    """
    existing = DrsObject.objects.filter(id=blob_id_for(sha256)).values_list("is_private", "webin_submitter").first()
    if existing is not None and existing != (scope.is_private, scope.owner):
        raise ExportPrivacyError(
            f"{path}: blob {blob_id_for(sha256)} exists with is_private={existing[0]}, owner={existing[1]!r};"
            f" export scope {scope.name} would share it"
        )
    return register_blob(path=path, is_private=scope.is_private, owner=scope.owner, expected_sha256=sha256, **fields)


def export_collections(
    *,
    out_dir: Path | None = None,
    include_private: bool = False,
    owner: str | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Export every collection, register the files as DRS blobs and the set as the export bundles.

    :param out_dir: where to write; default ``<EMG_CONFIG.storage.exports_root>/<timestamp>``
        (``<timestamp>-<scope>`` for a private export). It must be under ``exports_root`` or
        ``results_root`` so the files can be served.
    :param include_private: export every row; the bundles and files are then private without an owner
        (readable by admins only). Default: what anonymous users may see, publicly readable.
    :param owner: a Webin account: export the rows only it may see (and the public rows they refer to),
        as DRS objects private to it
    :param now: the export's time (for tests)
    :raises ValueError: for ``owner`` with ``include_private``, or an owner that is not a Webin account
    :raises ExportPrivacyError: when a file's blob already exists with another privacy or owner
    """
    if owner and include_private:
        raise ValueError("an export is either for one owner or of everything, not both")
    scope = (
        ExportScope.for_owner(owner) if owner else ExportScope.everything() if include_private else ExportScope.public()
    )
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    default_dir = stamp if scope == ExportScope.public() else f"{stamp}-{scope.name}"
    directory = out_dir or Path(settings.EMG_CONFIG.storage.exports_root) / default_dir
    directory.mkdir(parents=True, exist_ok=True)
    manifest: dict = {
        "format": MANIFEST_FORMAT,
        "created": moment.isoformat().replace("+00:00", "Z"),
        "include_private": scope.is_private,
        "scope": scope.name,
        "owner": scope.owner or None,
        "serialization": "django jsonl, gzip",
        "collections": {},
    }
    rows = export_rows(scope)
    for name, label in COLLECTIONS.items():
        path = directory / f"{name}.jsonl.gz"
        count = write_collection(path, rows[label], header_name=f"{name}.{scope.name}.jsonl")
        digest = file_checksums(path)
        manifest["collections"][name] = {
            "file": path.name,
            "model": label.lower(),
            "count": count,
            "size": digest.size_bytes,
            "sha256": digest.sha256,
            "md5": digest.md5,
            "drs_id": blob_id_for(digest.sha256),
        }
    manifest_path = directory / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    snapshot_id = scope.snapshot_id(stamp)
    owned = f" for {scope.owner}" if scope.owner else " of every row" if scope.is_private else ""
    with transaction.atomic():
        members = [
            (
                "manifest.json",
                _register_blob(
                    scope,
                    manifest_path,
                    file_sha256(manifest_path),
                    name="manifest.json",
                    description=f"Manifest of metadata export {snapshot_id}",
                    mime_type="application/json",
                ),
            )
        ]
        for name, entry in manifest["collections"].items():
            blob = _register_blob(
                scope,
                directory / entry["file"],
                entry["sha256"],
                name=entry["file"],
                description=f"{entry['count']} {name} ({entry['model']}), Django JSON Lines, gzip",
                mime_type="application/gzip",
                aliases=[f"{snapshot_id}/{entry['file']}"],
            )
            members.append((entry["file"], blob))
        privacy = {"is_private": scope.is_private, "owner": scope.owner}
        snapshot = register_bundle(
            bundle_id=snapshot_id,
            name=snapshot_id,
            children=members,
            description=f"Metadata export {stamp}{owned}: {', '.join(COLLECTIONS)}",
            **privacy,
        )
        latest = register_bundle(
            bundle_id=scope.latest_id,
            name=scope.latest_id,
            children=members,
            description=f"The latest metadata export{owned} (now {stamp}); the same files as {snapshot.id}",
            aliases=[snapshot.id],
            **privacy,
        )
    return ExportResult(directory=directory, manifest=manifest, bundle=snapshot, latest=latest)


class ExportImportError(ValueError):
    """An export cannot be imported: a checksum differs or the target tables are not empty."""


@transaction.atomic
def import_collections(directory: Path) -> dict[str, int]:
    """Load an export back into empty tables, with the same primary keys and values; return row counts.

    Checks each file's SHA-256 against the manifest first, then loads collections in dependency
    order, then moves the id and accession sequences past the loaded rows. Rows the export refers
    to but does not contain (ENA mirror rows, biomes) must already exist.

    :param directory: an export directory (with ``manifest.json``)
    :raises ExportImportError: on a checksum mismatch or non-empty target tables
    """
    manifest = json.loads((directory / "manifest.json").read_text())
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ExportImportError(f"{directory}: not an export of format {MANIFEST_FORMAT}")
    counts: dict[str, int] = {}
    for name in COLLECTIONS:
        entry = manifest["collections"][name]
        path = directory / entry["file"]
        if file_sha256(path) != entry["sha256"]:
            raise ExportImportError(f"{path}: SHA-256 differs from the manifest")
    for label in COLLECTIONS.values():
        if apps.get_model(label).objects.exists():
            raise ExportImportError(f"{label} is not empty; an export is imported into empty tables")
    for name in COLLECTIONS:
        entry = manifest["collections"][name]
        loaded = 0
        with gzip.open(directory / entry["file"], "rt", encoding="utf-8") as handle:
            for deserialized in serializers.deserialize("jsonl", handle):
                deserialized.save()
                loaded += 1
        if loaded != entry["count"]:
            raise ExportImportError(f"{entry['file']}: {loaded} rows, the manifest says {entry['count']}")
        counts[name] = loaded
    reset_sequences()
    return counts


def reset_sequences() -> None:
    """Move the tables' id sequences and the MGYS/MGYA accession sequences past the existing rows."""
    models_ = [apps.get_model(label) for label in COLLECTIONS.values()]
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models_):
            cursor.execute(statement)
        for label, field, sequence, prefix in MINTED_ACCESSIONS:
            table = apps.get_model(label)._meta.db_table
            cursor.execute(
                f"SELECT max(substring({field} from %s)::bigint) FROM {table} WHERE {field} ~ %s",
                [f"^{prefix}([0-9]+)$", f"^{prefix}[0-9]+$"],
            )
            highest = cursor.fetchone()[0]
            if highest:
                cursor.execute(
                    f"SELECT setval('{sequence}', greatest(%s, (SELECT last_value FROM {sequence})))", [highest]
                )
