"""Whole-database metadata exports as DRS objects, and the importer that restores one.

An export is a directory ``<exports_root>/<YYYYmmddTHHMMSSZ>/`` holding one gzip-compressed JSON
Lines file per collection (Django's ``jsonl`` serialisation: one ``{"model", "pk", "fields"}`` record
per row, many-to-many links included) and ``manifest.json`` with each file's row count, size and
checksums. Every file is registered as a DRS blob; the set is registered twice:

* ``mgnify-export-<timestamp>``: a snapshot bundle whose contents never change, and
* ``mgnify-export-latest``: the stable bundle id users share, re-pointed at the newest export.

Blob ids come from the bytes and bundle ids are fixed, so neither changes when files move
(``drs.services.move_storage``).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction

from core.checksums import file_checksums, file_sha256
from drs.models import DrsObject, blob_id_for
from drs.services import register_blob, register_bundle

MANIFEST_FORMAT = "emg-metadata-export/1"
LATEST_BUNDLE_ID = "mgnify-export-latest"
BATCH_ROWS = 2000

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


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    manifest: dict
    bundle: DrsObject
    latest: DrsObject


def collection_queryset(label: str, *, include_private: bool) -> models.QuerySet:
    model = apps.get_model(label)
    queryset = model.objects.all() if include_private else model.objects.filter(is_private=False)
    return queryset.order_by("pk")


def _batched(queryset: models.QuerySet) -> Iterator[list[models.Model]]:
    last_pk = None
    while True:
        page = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
        rows = list(page[:BATCH_ROWS])
        if not rows:
            return
        yield rows
        last_pk = rows[-1].pk


def write_collection(path: Path, queryset: models.QuerySet) -> int:
    """Write ``queryset`` to ``path`` as gzip JSON Lines, in primary-key batches; return the row count.

    :param path: the ``.jsonl.gz`` file to write
    :param queryset: the rows, ordered by primary key
    """
    count = 0
    # No file name or time in the gzip header: the same rows give the same bytes, hence the same blob.
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed,
        io.TextIOWrapper(compressed, encoding="utf-8") as handle,
    ):
        for rows in _batched(queryset):
            handle.write(serializers.serialize("jsonl", rows, cls=FullPrecisionEncoder))
            count += len(rows)
    return count


def export_collections(
    *, out_dir: Path | None = None, include_private: bool = False, now: datetime | None = None
) -> ExportResult:
    """Export every collection, register the files as DRS blobs and the set as the export bundles.

    :param out_dir: where to write; default ``<EMG_CONFIG.storage.exports_root>/<timestamp>``.
        It must be under ``exports_root`` or ``results_root`` so the files can be served.
    :param include_private: also export private rows; the bundles and files are then private
        (readable by admins only). Default: public rows only, publicly readable.
    :param now: the export's time (for tests)
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    directory = out_dir or Path(settings.EMG_CONFIG.storage.exports_root) / stamp
    directory.mkdir(parents=True, exist_ok=True)
    manifest: dict = {
        "format": MANIFEST_FORMAT,
        "created": moment.isoformat().replace("+00:00", "Z"),
        "include_private": include_private,
        "serialization": "django jsonl, gzip",
        "collections": {},
    }
    for name, label in COLLECTIONS.items():
        path = directory / f"{name}.jsonl.gz"
        count = write_collection(path, collection_queryset(label, include_private=include_private))
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
    with transaction.atomic():
        members = [
            (
                "manifest.json",
                register_blob(
                    path=manifest_path,
                    name="manifest.json",
                    description=f"Manifest of metadata export {stamp}",
                    mime_type="application/json",
                    is_private=include_private,
                ),
            )
        ]
        for name, entry in manifest["collections"].items():
            blob = register_blob(
                path=directory / entry["file"],
                name=entry["file"],
                description=f"{entry['count']} {name} ({entry['model']}), Django JSON Lines, gzip",
                mime_type="application/gzip",
                aliases=[f"mgnify-export-{stamp}/{entry['file']}"],
                is_private=include_private,
                expected_sha256=entry["sha256"],
            )
            members.append((entry["file"], blob))
        snapshot = register_bundle(
            bundle_id=f"mgnify-export-{stamp}",
            name=f"mgnify-export-{stamp}",
            children=members,
            description=f"Metadata export {stamp}: {', '.join(COLLECTIONS)}",
            is_private=include_private,
        )
        latest = register_bundle(
            bundle_id=LATEST_BUNDLE_ID,
            name=LATEST_BUNDLE_ID,
            children=members,
            description=f"The latest metadata export (now {stamp}); the same files as {snapshot.id}",
            aliases=[snapshot.id],
            is_private=include_private,
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
