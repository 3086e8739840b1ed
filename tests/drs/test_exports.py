"""Metadata exports: the dev data set exported, wiped and re-imported to the same rows; the stable bundle."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from analyses.exports import COLLECTIONS, LATEST_BUNDLE_ID, ExportImportError, export_collections, import_collections
from analyses.models import Analysis, Assembly, Run, Sample, Study
from drs.models import DrsObject
from tests.drs.conftest import assert_response_valid

BASE = "/ga4gh/drs/v1"
MODELS = [Study, Sample, Run, Assembly, Analysis]


def snapshot() -> dict[str, list[dict]]:
    """Every row of the exported tables, field by field, plus the sample-study links."""
    rows = {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}
    rows["Sample.studies"] = list(Sample.studies.through.objects.order_by("sample_id", "study_id").values())
    for link in rows["Sample.studies"]:
        link.pop("id")
    return rows


@pytest.fixture
def dev_data(storage, db):
    call_command("make_dev_data", stdout=StringIO())
    assert Analysis.objects.count() > 5 and Study.objects.filter(is_private=True).exists()


def test_export_of_dev_data_reimports_to_the_same_rows(dev_data, storage):
    before = snapshot()
    result = export_collections(include_private=True)
    manifest = json.loads((result.directory / "manifest.json").read_text())
    assert set(manifest["collections"]) == set(COLLECTIONS)
    for name, entry in manifest["collections"].items():
        data = (result.directory / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        lines = gzip.decompress(data).decode().splitlines()
        assert len(lines) == entry["count"] == len(before[apps_name(name)])
        assert all(json.loads(line)["model"] == entry["model"] for line in lines)

    with connection.cursor() as cursor:  # wipe, inside the test's transaction
        for model in reversed(MODELS):
            model.objects.all().delete()
        assert not any(model.objects.exists() for model in MODELS)
        counts = import_collections(result.directory)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # every foreign key of the re-imported rows holds
    assert counts == {name: entry["count"] for name, entry in manifest["collections"].items()}
    assert snapshot() == before

    # Accession and id sequences were moved past the re-imported rows: a new study gets a fresh MGYS.
    new = Study.objects.create(title="after import")
    new.refresh_from_db()
    assert new.accession not in {row["accession"] for row in before["Study"]}


def apps_name(collection: str) -> str:
    return COLLECTIONS[collection].split(".")[1]


def test_import_refuses_non_empty_tables_and_changed_files(dev_data, storage):
    result = export_collections(include_private=True)
    with pytest.raises(ExportImportError, match="not empty"):
        import_collections(result.directory)
    (result.directory / "runs.jsonl.gz").write_bytes(gzip.compress(b"{}\n"))
    with pytest.raises(ExportImportError, match="SHA-256"):
        import_collections(result.directory)


def test_public_export_has_no_private_rows_and_is_public(dev_data, storage):
    result = export_collections()
    rows = [
        json.loads(line)
        for entry in result.manifest["collections"].values()
        for line in gzip.decompress((result.directory / entry["file"]).read_bytes()).decode().splitlines()
    ]
    assert rows and not any(row["fields"]["is_private"] for row in rows)
    assert result.manifest["collections"]["studies"]["count"] == Study.objects.filter(is_private=False).count()
    assert not DrsObject.objects.filter(is_private=True).exists()


def test_command_registers_files_and_the_stable_bundle_follows_the_newest_export(dev_data, storage, client):
    out = StringIO()
    call_command("export_collections", stdout=out)
    assert f"drs://127.0.0.1:8000/{LATEST_BUNDLE_ID}" in out.getvalue()
    first = assert_response_valid(client.get(f"{BASE}/objects/{LATEST_BUNDLE_ID}"), "200OkDrsObject")
    assert sorted(item["name"] for item in first["contents"]) == sorted(
        ["manifest.json", *(f"{name}.jsonl.gz" for name in COLLECTIONS)]
    )
    manifest_id = next(item["id"] for item in first["contents"] if item["name"] == "manifest.json")
    manifest_object = client.get(f"{BASE}/objects/{manifest_id}").json()
    manifest_bytes = b"".join(client.get(manifest_object["access_methods"][0]["access_url"]["url"]).streaming_content)
    manifest = json.loads(manifest_bytes)
    for item in first["contents"]:
        if item["name"] != "manifest.json":
            collection = item["name"].removesuffix(".jsonl.gz")
            assert item["id"] == manifest["collections"][collection]["drs_id"]

    Study.objects.filter(is_private=False).update(title="retitled")
    export_collections(now=datetime(2030, 1, 1, tzinfo=UTC))
    second = assert_response_valid(client.get(f"{BASE}/objects/{LATEST_BUNDLE_ID}"), "200OkDrsObject")
    assert second["id"] == first["id"] and second["self_uri"] == first["self_uri"]
    studies = {item["name"]: item["id"] for item in second["contents"]}["studies.jsonl.gz"]
    assert studies != {item["name"]: item["id"] for item in first["contents"]}["studies.jsonl.gz"]
    assert second["aliases"][-1] == "mgnify-export-20300101T000000Z"
    snapshot_bundle = client.get(f"{BASE}/objects/mgnify-export-20300101T000000Z").json()
    assert snapshot_bundle["checksums"] == second["checksums"]
