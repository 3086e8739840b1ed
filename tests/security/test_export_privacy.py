"""Metadata exports keep private rows out of the public export and give each owner only their own.

The graph: a public study with a public run and analysis; a study private to Webin-777 whose run and
analysis are flagged public (the leak case: visible only through a private study); a private run of
Webin-777 in the public study, on a private sample, with a public-flagged analysis on it; a public sample
and the private one linked to both studies.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analyses.exports import (
    COLLECTIONS,
    LATEST_BUNDLE_ID,
    ExportPrivacyError,
    ExportScope,
    export_collections,
    export_rows,
    import_collections,
    write_collection,
)
from analyses.models import Analysis, Assembly, Run, Sample, Study
from drs.models import DrsObject
from ena.models import Run as ENARun
from ena.models import Sample as ENASample
from ena.models import Study as ENAStudy

OWNER = "Webin-777"
OTHER = "Webin-888"
MODELS = [Study, Sample, Run, Assembly, Analysis]
#: Foreign keys of each exported model to another exported collection: field -> collection.
LINKS = {
    "analyses.sample": {"studies": "studies"},
    "analyses.run": {"study": "studies", "sample": "samples"},
    "analyses.assembly": {"study": "studies", "run": "runs"},
    "analyses.analysis": {"study": "studies", "sample": "samples", "run": "runs", "assembly": "assemblies"},
}


@dataclass
class Graph:
    public_study: Study
    private_study: Study
    shared_sample: Sample
    public_run: Run
    public_analysis: Analysis
    leaked_run: Run
    leaked_analysis: Analysis
    private_assembly: Assembly
    private_sample: Sample
    private_run: Run
    analysis_of_private_run: Analysis

    def private_accessions(self) -> set[str]:
        """Accessions of everything an anonymous user must not see."""
        return {
            self.private_study.accession,
            *self.private_study.ena_accessions,
            *self.leaked_run.ena_accessions,
            self.leaked_analysis.accession,
            self.private_assembly.accession,
            *self.private_sample.ena_accessions,
            *self.private_run.ena_accessions,
            self.analysis_of_private_run.accession,
        }


def ena_chain(n: int) -> tuple[ENAStudy, ENASample, ENARun]:
    study = ENAStudy.objects.create(accession=f"PRJEB8{n:04d}", ena_accessions=[f"PRJEB8{n:04d}"])
    sample = ENASample.objects.create(accession=f"SAMEA8{n:05d}", ena_accessions=[f"SAMEA8{n:05d}"], study=study)
    run = ENARun.objects.create(accession=f"ERR8{n:05d}", ena_accessions=[f"ERR8{n:05d}"], study=study, sample=sample)
    return study, sample, run


def make_run(n: int, study: Study, sample: Sample, **privacy) -> Run:
    _, _, ena_run = ena_chain(n)
    return Run.objects.create(
        ena_run=ena_run, study=study, sample=sample, ena_accessions=[ena_run.accession], **privacy
    )


def make_analysis(study: Study, run: Run, **privacy) -> Analysis:
    analysis = Analysis.objects.create(
        study=study, sample=run.sample, run=run, pipeline_name="raw-reads", pipeline_version="1.0.0", **privacy
    )
    analysis.refresh_from_db()
    return analysis


@pytest.fixture
def graph(db) -> Graph:
    mine = {"is_private": True, "webin_submitter": OWNER}
    ena_public, ena_sample, _ = ena_chain(1)
    ena_private, ena_private_sample, _ = ena_chain(2)
    public_study = Study.objects.create(ena_study=ena_public, title="public", ena_accessions=[ena_public.accession])
    private_study = Study.objects.create(
        ena_study=ena_private, title="embargoed", ena_accessions=[ena_private.accession], **mine
    )
    shared_sample = Sample.objects.create(ena_sample=ena_sample, ena_accessions=[ena_sample.accession])
    shared_sample.studies.add(public_study, private_study)
    private_sample = Sample.objects.create(
        ena_sample=ena_private_sample, ena_accessions=[ena_private_sample.accession], **mine
    )
    private_sample.studies.add(public_study, private_study)
    public_run = make_run(3, public_study, shared_sample)
    leaked_run = make_run(4, private_study, shared_sample)  # flagged public, in a private study
    private_run = make_run(5, public_study, private_sample, **mine)  # private, in the public study
    private_assembly = Assembly.objects.create(accession="ERZ8000001", run=leaked_run, study=private_study, **mine)
    for study in (public_study, private_study):
        study.refresh_from_db()
    return Graph(
        public_study=public_study,
        private_study=private_study,
        shared_sample=shared_sample,
        public_run=public_run,
        public_analysis=make_analysis(public_study, public_run),
        leaked_run=leaked_run,
        leaked_analysis=make_analysis(private_study, leaked_run),
        private_assembly=private_assembly,
        private_sample=private_sample,
        private_run=private_run,
        analysis_of_private_run=make_analysis(public_study, private_run),
    )


def read_rows(directory: Path) -> dict[str, list[dict]]:
    """Each collection's records of the export in ``directory``."""
    manifest = json.loads((directory / "manifest.json").read_text())
    return {
        name: [json.loads(line) for line in gzip.decompress((directory / entry["file"]).read_bytes()).splitlines()]
        for name, entry in manifest["collections"].items()
    }


def pks(rows: dict[str, list[dict]], collection: str) -> set[int]:
    return {row["pk"] for row in rows[collection]}


def assert_closed(rows: dict[str, list[dict]]) -> None:
    """Every link of an exported row points at a row of the same export."""
    for records in rows.values():
        for record in records:
            for field, collection in LINKS.get(record["model"], {}).items():
                value = record["fields"][field]
                targets = value if isinstance(value, list) else [] if value is None else [value]
                assert set(targets) <= pks(rows, collection), (record["model"], record["pk"], field, value)


def export_objects(result) -> list[DrsObject]:
    """The two bundles of an export and every blob in them."""
    bundles = [DrsObject.objects.get(pk=result.bundle.pk), DrsObject.objects.get(pk=result.latest.pk)]
    return bundles + [member.child for member in bundles[0].members.select_related("child")]


def test_public_export_holds_only_what_anonymous_users_may_see(graph, storage):
    result = export_collections()
    raw = b"".join(gzip.decompress(path.read_bytes()) for path in result.directory.glob("*.jsonl.gz")).decode()
    assert not {accession for accession in graph.private_accessions() if accession in raw}

    rows = read_rows(result.directory)
    assert pks(rows, "studies") == {graph.public_study.pk}
    assert pks(rows, "samples") == {graph.shared_sample.pk}
    assert pks(rows, "runs") == {graph.public_run.pk}
    assert pks(rows, "assemblies") == set()
    assert pks(rows, "analyses") == {graph.public_analysis.pk}
    assert [row["fields"]["studies"] for row in rows["samples"]] == [[graph.public_study.pk]]
    assert_closed(rows)

    assert result.bundle.id.startswith("mgnify-export-2") and result.latest.id == LATEST_BUNDLE_ID
    assert all(not obj.is_private and not obj.webin_submitter for obj in export_objects(result))


def test_owner_export_holds_the_owners_private_rows_as_objects_private_to_them(graph, storage):
    result = export_collections(owner=OWNER, now=datetime(2030, 1, 1, tzinfo=UTC))
    rows = read_rows(result.directory)
    assert pks(rows, "studies") == {graph.private_study.pk, graph.public_study.pk}  # public: the private run's
    assert pks(rows, "samples") == {graph.shared_sample.pk, graph.private_sample.pk}  # public: the leaked run's
    assert pks(rows, "runs") == {graph.leaked_run.pk, graph.private_run.pk}
    assert pks(rows, "assemblies") == {graph.private_assembly.pk}
    assert pks(rows, "analyses") == {graph.leaked_analysis.pk, graph.analysis_of_private_run.pk}
    assert [sorted(row["fields"]["studies"]) for row in rows["samples"]] == 2 * [
        sorted([graph.public_study.pk, graph.private_study.pk])
    ]
    assert_closed(rows)
    assert result.manifest["owner"] == OWNER and result.manifest["scope"] == "webin-777"

    assert result.bundle.id == "mgnify-export-webin-777-20300101T000000Z"
    assert result.latest.id == "mgnify-export-webin-777-latest"
    assert all(obj.is_private and obj.webin_submitter == OWNER for obj in export_objects(result))


def test_another_owners_export_holds_nothing_of_theirs(graph, storage):
    theirs = export_collections(owner=OWNER)
    other = export_collections(owner=OTHER)
    public = export_collections()
    rows = read_rows(other.directory)
    assert not any(rows.values())
    raw = b"".join(gzip.decompress(path.read_bytes()) for path in other.directory.glob("*.jsonl.gz")).decode()
    assert not {accession for accession in graph.private_accessions() if accession in raw}
    assert all(obj.is_private and obj.webin_submitter == OTHER for obj in export_objects(other))
    # Five empty collections, yet no blob is shared with another scope: each file's gzip header names its scope.
    blob_ids = [{obj.id for obj in export_objects(result)} for result in (theirs, other, public)]
    assert not (blob_ids[0] & blob_ids[1]) and not (blob_ids[1] & blob_ids[2]) and not (blob_ids[0] & blob_ids[2])
    assert len({entry["drs_id"] for entry in other.manifest["collections"].values()}) == len(COLLECTIONS)
    assert DrsObject.objects.get(pk=LATEST_BUNDLE_ID).is_private is False
    assert all(not obj.is_private for obj in export_objects(public))


def test_full_export_is_private_without_owner_and_leaves_the_public_bundles_alone(graph, storage):
    public = export_collections(now=datetime(2030, 1, 1, tzinfo=UTC))
    full = export_collections(include_private=True, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert full.directory != public.directory
    assert (full.bundle.id, full.latest.id) == (
        "mgnify-export-private-20300101T000000Z",
        "mgnify-export-private-latest",
    )
    assert all(obj.is_private and not obj.webin_submitter for obj in export_objects(full))
    assert all(not obj.is_private for obj in export_objects(public))
    assert {obj.id for obj in export_objects(public)}.isdisjoint(obj.id for obj in export_objects(full))
    assert sum(entry["count"] for entry in full.manifest["collections"].values()) == sum(
        model.objects.count() for model in MODELS
    )


def test_a_blob_of_the_same_bytes_with_other_privacy_is_refused_not_changed(graph, storage):
    first = export_collections()
    studies = DrsObject.objects.get(pk=first.manifest["collections"]["studies"]["drs_id"])
    DrsObject.objects.filter(pk=studies.pk).update(is_private=True, webin_submitter=OWNER)
    with pytest.raises(ExportPrivacyError, match="would share it"):
        export_collections(now=datetime(2030, 1, 1, tzinfo=UTC))
    studies.refresh_from_db()
    assert studies.is_private and studies.webin_submitter == OWNER
    assert not DrsObject.objects.filter(pk="mgnify-export-20300101T000000Z").exists()


@pytest.mark.parametrize("owner", [None, OWNER])
def test_exports_reimport_on_their_own(graph, storage, owner):
    result = export_collections(owner=owner)
    with connection.cursor() as cursor:
        for model in reversed(MODELS):
            model.objects.all().delete()
        counts = import_collections(result.directory)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # every foreign key of the re-imported rows holds
    assert counts == {name: entry["count"] for name, entry in result.manifest["collections"].items()}


def test_owner_must_be_a_webin_account_and_not_combined_with_everything(storage, db):
    with pytest.raises(ValueError, match="Webin account"):
        export_collections(owner="latest")
    with pytest.raises(ValueError, match="not both"):
        export_collections(owner=OWNER, include_private=True)
    with pytest.raises(CommandError):
        call_command("export_collections", "--owner", "../etc", stdout=StringIO())


def test_command_exports_for_an_owner(graph, storage):
    out = StringIO()
    call_command("export_collections", "--owner", OWNER, stdout=out)
    assert "drs://127.0.0.1:8000/mgnify-export-webin-777-latest" in out.getvalue()
    assert DrsObject.objects.get(pk="mgnify-export-webin-777-latest").webin_submitter == OWNER


def add_rows(graph: Graph, n: int, start: int) -> None:
    """``n`` more public samples (each linked to both studies) with a run and analysis in the public study."""
    for i in range(start, start + n):
        _, ena_sample, _ = ena_chain(100 + i)
        sample = Sample.objects.create(ena_sample=ena_sample, ena_accessions=[ena_sample.accession])
        sample.studies.add(graph.public_study, graph.private_study)
        run = make_run(300 + i, graph.public_study, sample)
        make_analysis(graph.public_study, run, is_private=True, webin_submitter=OWNER)


@pytest.mark.parametrize("scope", [ExportScope.public(), ExportScope.for_owner(OWNER), ExportScope.everything()])
def test_writing_a_collection_takes_the_same_queries_for_1_and_50_rows(graph, storage, tmp_path, scope):
    def queries() -> dict[str, int]:
        counts = {}
        for name, label in COLLECTIONS.items():
            with CaptureQueriesContext(connection) as captured:
                write_collection(tmp_path / f"{name}.jsonl.gz", export_rows(scope)[label])
            counts[name] = len(captured)
        return counts

    add_rows(graph, 1, 0)
    few = queries()
    add_rows(graph, 49, 1)
    many = queries()
    assert many == few
    assert few["samples"] == 3  # the batch, its links, the empty batch that ends it
