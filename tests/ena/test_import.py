"""Importing studies from the mirror into the database (analyses.ena_sync.import_ena_study)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DataError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pydantic import SecretStr

from analyses.ena_sync import import_ena_study
from analyses.models import ExperimentType
from analyses.models import Run as PlatformRun
from analyses.models import Sample as PlatformSample
from analyses.models import Study as PlatformStudy
from analyses.public_counts import drifted_studies
from core.config import WebinConfig
from devtools.ena_mirror.generator import (
    AMPLICON_STUDY_ACCESSION,
    LARGE_STUDY_ACCESSION,
    LAYOUT_BLANKS_RUN,
    LAYOUT_BROKEN_RUN,
    LAYOUT_ILLUMINA_NAMES,
    LAYOUT_ILLUMINA_NAMES_RUN,
    LAYOUT_SINGLE_RUN,
    LAYOUT_THREE_FILE_RUN,
    LAYOUT_UNTAKEABLE_RUN,
    LAYOUTS_STUDY_ACCESSION,
    PRIVATE_STUDY_ACCESSION,
    PRIVATE_STUDY_RUN,
    PRIVATE_STUDY_WEBIN_ACCOUNT,
    SYNTHETIC_STUDY_ACCESSION,
    mirror_webin_accounts,
)
from ena.models import Run, Sample, Study
from ena.portal import ENAAccessionNotFound, ENAPortalClient, ENATooManyRetries
from tests.ena.conftest import PAGING_STUDY_RUNS

MODELS = (Study, Sample, Run, PlatformStudy, PlatformSample, PlatformRun, PlatformSample.studies.through)


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every model the import writes, for before/after comparisons."""
    return {m.__name__ + m._meta.app_label: sorted(map(repr, m.objects.order_by("pk").values_list())) for m in MODELS}


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]


pytestmark = pytest.mark.django_db


def test_import_creates_ena_and_platform_objects(ena_client):
    summary = import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)

    study = Study.objects.get(accession="PRJEB90001")
    assert study.ena_accessions == ["PRJEB90001", "ERP900001"] and study.fetched_at is not None
    assert study.title.startswith("Synthetic mock community")
    assert Sample.objects.filter(study=study).count() == 4
    assert Sample.objects.get(accession="SAMEA90000001").ena_accessions == ["SAMEA90000001", "ERS9000001"]
    run = Run.objects.get(accession="ERR9000001")
    assert run.ena_accessions == ["ERR9000001"]
    assert (run.library_strategy, run.library_layout, run.read_count) == ("WGS", "PAIRED", 12_000)
    assert len(run.fastq_files) == 2 and run.fastq_files[0]["url"].startswith("http://127.0.0.1:")
    assert run.metadata["fastq_ftp"] and run.sample.accession == "SAMEA90000001"

    mgys = PlatformStudy.objects.get(ena_study=study)
    assert summary.mgys_accession == mgys.accession and mgys.accession.startswith("MGYS")
    assert mgys.ena_accessions == ["PRJEB90001", "ERP900001"] and mgys.title == study.title
    assert PlatformSample.objects.filter(studies=mgys).count() == 4
    platform_run = PlatformRun.objects.get(ena_run=run)
    assert platform_run.experiment_type == ExperimentType.METAGENOMIC
    assert platform_run.study == mgys and platform_run.sample.ena_sample == run.sample
    assert platform_run.ena_accessions == ["ERR9000001"] and platform_run.instrument_platform == "ILLUMINA"
    assert PlatformRun.objects.by_accession("ERR9000004").exists()
    assert {name: c.created for name, c in summary.counts.items()} == {
        "ena.Study": 1,
        "ena.Sample": 4,
        "ena.Run": 4,
        "analyses.Study": 1,
        "analyses.Sample": 4,
        "analyses.Run": 4,
    }


def test_amplicon_runs_get_their_experiment_type(ena_client):
    import_ena_study(AMPLICON_STUDY_ACCESSION, client=ena_client)
    assert PlatformRun.objects.get(ena_run__accession="ERR9000101").experiment_type == ExperimentType.AMPLICON


@pytest.mark.parametrize(
    ("strategy", "source", "expected"),
    [
        ("WGS", "METAGENOMIC", "METAG"),
        ("AMPLICON", "METAGENOMIC", "AMPLI"),
        ("RNA-Seq", "METATRANSCRIPTOMIC", "METAT"),
        ("WGS", "GENOMIC", "UNKNO"),
    ],
)
def test_experiment_type_rules(strategy, source, expected):
    assert ExperimentType.for_library(strategy, source) == expected


def test_second_import_of_an_unchanged_study_writes_nothing(ena_client):
    import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)
    before = snapshot()
    with CaptureQueriesContext(connection) as queries:
        summary = import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)
    assert writes(queries.captured_queries) == []
    assert summary.writes == 0
    assert summary.counts["ena.Run"].unchanged == 4 and summary.counts["analyses.Run"].unchanged == 4
    assert snapshot() == before  # includes updated_at and fetched_at


def test_reimport_changes_only_what_changed_upstream_and_keeps_curator_edits(ena_client, ena_mirror):
    import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)
    mgys = PlatformStudy.objects.get(ena_study__accession="PRJEB90001")
    mgys.title = "Curated title"
    mgys.save()
    curated = PlatformRun.objects.get(ena_run__accession="ERR9000002")
    curated.metadata = {"curator_note": "keep me"}
    curated.experiment_type = ExperimentType.METATRANSCRIPTOMIC
    curated.save()
    untouched = {r.accession: r.updated_at for r in Run.objects.exclude(accession__in=["ERR9000001", "ERR9000002"])}

    ena_mirror.store.patch_study("PRJEB90001", study_title="Renamed upstream")
    ena_mirror.store.patch_run("ERR9000001", library_strategy="AMPLICON", read_count="12001")
    ena_mirror.store.patch_run("ERR9000002", library_strategy="AMPLICON", instrument_model="Illumina MiSeq")
    summary = import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)

    assert summary.counts["ena.Study"].updated == 1
    assert summary.counts["ena.Run"].updated == 2 and summary.counts["ena.Run"].unchanged == 2
    assert summary.counts["ena.Sample"].unchanged == 4 and summary.counts["analyses.Sample"].unchanged == 4
    assert Study.objects.get(accession="PRJEB90001").title == "Renamed upstream"
    mgys.refresh_from_db()
    assert mgys.title == "Curated title"  # a curator's edit survives
    assert Run.objects.get(accession="ERR9000001").read_count == 12_001
    # not curated: follows upstream; curated: kept
    assert PlatformRun.objects.get(ena_run__accession="ERR9000001").experiment_type == ExperimentType.AMPLICON
    curated.refresh_from_db()
    assert curated.experiment_type == ExperimentType.METATRANSCRIPTOMIC
    assert curated.metadata == {"curator_note": "keep me"}
    assert curated.instrument_model == "Illumina MiSeq"  # ENA-owned: follows
    assert {r.accession: r.updated_at for r in Run.objects.filter(accession__in=untouched)} == untouched
    assert Run.objects.count() == 4 and PlatformRun.objects.count() == 4 and PlatformStudy.objects.count() == 1


def test_an_uncurated_platform_title_follows_upstream(ena_client, ena_mirror):
    import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)
    ena_mirror.store.patch_study("PRJEB90001", study_title="Renamed upstream")
    import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)
    assert PlatformStudy.objects.get(ena_study__accession="PRJEB90001").title == "Renamed upstream"


def test_a_server_error_during_run_listing_leaves_the_database_as_it_was(ena_client, ena_mirror):
    import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)
    before = snapshot()
    ena_mirror.store.patch_study("PRJEB90001", study_title="Renamed upstream")
    ena_mirror.faults.server_error(result="read_run")
    with pytest.raises(ENATooManyRetries, match="PRJEB90001"):
        import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)
    assert snapshot() == before


def test_a_database_error_halfway_leaves_the_database_as_it_was(ena_client, ena_mirror):
    # Samples are written before runs; a run value too long for its column fails the runs' INSERT.
    ena_mirror.store.patch_run("ERR9000004", instrument_model="X" * 500)
    with pytest.raises(DataError):
        import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)
    assert all(not rows for rows in snapshot().values())


def test_large_study_is_paged_and_imported_without_duplicates(ena_client, ena_mirror):
    summary = import_ena_study(LARGE_STUDY_ACCESSION, client=ena_client)
    assert summary.counts["ena.Run"].created == PAGING_STUDY_RUNS
    assert Run.objects.filter(study__accession=LARGE_STUDY_ACCESSION).count() == PAGING_STUDY_RUNS
    assert PlatformRun.objects.filter(study__accession=summary.mgys_accession).count() == PAGING_STUDY_RUNS
    assert len([r for r in ena_mirror.requests if r.query.get("result") == "read_run"]) == 3
    with CaptureQueriesContext(connection) as queries:
        again = import_ena_study(LARGE_STUDY_ACCESSION, client=ena_client)
    assert again.writes == 0 and writes(queries.captured_queries) == []


def test_management_command_imports_and_reports(mirror_settings, capsys):
    call_command("import_ena_study", SYNTHETIC_STUDY_ACCESSION, "--no-progress")
    out = capsys.readouterr().out
    assert "PRJEB90001 -> MGYS" in out and "ena.Run" in out
    assert Run.objects.count() == 4


def test_management_command_fails_with_one_line(mirror_settings):
    with pytest.raises(CommandError) as info:
        call_command("import_ena_study", "PRJEB99999", "--no-progress")
    assert "PRJEB99999" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(CommandError, match="not a valid"):
        call_command("import_ena_study", "nonsense", "--no-progress")


# --------------------------------------------------------------------- ENA's real record shapes


def test_one_broken_record_is_skipped_and_reported_never_the_whole_study(ena_client, client, admin_client):
    summary = import_ena_study(LAYOUTS_STUDY_ACCESSION, client=ena_client)

    imported = set(Run.objects.filter(study__accession=LAYOUTS_STUDY_ACCESSION).values_list("accession", flat=True))
    assert imported == {
        LAYOUT_SINGLE_RUN,
        LAYOUT_BLANKS_RUN,
        LAYOUT_THREE_FILE_RUN,
        LAYOUT_UNTAKEABLE_RUN,  # imported: it is the analysis that cannot take it
        LAYOUT_ILLUMINA_NAMES_RUN,
    }  # not the broken record, not the suppressed run
    reason = f"read_run {LAYOUT_BROKEN_RUN}: fastq_md5 has no value for file 2 of 2 ({LAYOUT_BROKEN_RUN}_2.fastq.gz)"
    assert [record.reason for record in summary.skipped] == [reason]
    report = Study.objects.get(accession=LAYOUTS_STUDY_ACCESSION).import_report
    assert (report["runs_listed"], report["runs_imported"]) == (6, 5)
    assert report["skipped"] == [
        {
            "result": "read_run",
            "accession": LAYOUT_BROKEN_RUN,
            "field": "fastq_md5",
            "file": f"{LAYOUT_BROKEN_RUN}_2.fastq.gz",
            "reason": reason,
        }
    ]

    detail = client.get(f"/api/v2/studies/{LAYOUTS_STUDY_ACCESSION}").json()
    assert detail["ena_study"]["import_report"]["skipped"] == report["skipped"]
    assert detail["runs_count"] == 5
    page = admin_client.get(f"/admin/analyses/study/{PlatformStudy.objects.get().pk}/change/").content.decode()
    assert "1 records skipped" in page and f"{LAYOUT_BROKEN_RUN}_2.fastq.gz" in page and "fastq_md5" in page


def test_blank_values_are_imported_as_blanks(ena_client):
    import_ena_study(LAYOUTS_STUDY_ACCESSION, client=ena_client)
    run = Run.objects.select_related("sample").get(accession=LAYOUT_BLANKS_RUN)
    assert (run.library_layout, run.read_count, run.base_count, run.instrument_model, run.first_public) == (
        "",
        None,
        None,
        "",
        None,
    )
    assert run.sample.accession.startswith("ERS")  # ENA left the BioSample accession blank
    assert PlatformRun.objects.get(ena_run=run).sample.ena_sample == run.sample


def test_each_run_detail_says_which_files_an_analysis_takes(ena_client, client):
    import_ena_study(LAYOUTS_STUDY_ACCESSION, client=ena_client)
    three = client.get(f"/api/v2/runs/{LAYOUT_THREE_FILE_RUN}").json()["read_files"]
    assert three["layout"] == "paired"
    assert three["analysed"] == [f"{LAYOUT_THREE_FILE_RUN}_1.fastq.gz", f"{LAYOUT_THREE_FILE_RUN}_2.fastq.gz"]
    assert three["unpaired_not_analysed"] == f"{LAYOUT_THREE_FILE_RUN}.fastq.gz"
    illumina = client.get(f"/api/v2/runs/{LAYOUT_ILLUMINA_NAMES_RUN}").json()["read_files"]
    assert illumina["analysed"] == list(LAYOUT_ILLUMINA_NAMES)
    single = client.get(f"/api/v2/runs/{LAYOUT_SINGLE_RUN}").json()["read_files"]
    assert (single["layout"], single["analysed"]) == ("single", [f"{LAYOUT_SINGLE_RUN}.fastq.gz"])
    untakeable = client.get(f"/api/v2/runs/{LAYOUT_UNTAKEABLE_RUN}").json()["read_files"]
    assert untakeable["layout"] is None and "do not say which is read 1" in untakeable["rule"]


def test_a_run_ena_stops_listing_is_kept_and_reported(ena_client, ena_mirror):
    import_ena_study(LAYOUTS_STUDY_ACCESSION, client=ena_client)
    ena_mirror.store.suppress(LAYOUT_SINGLE_RUN)
    summary = import_ena_study(LAYOUTS_STUDY_ACCESSION, client=ena_client)
    assert summary.no_longer_listed == [LAYOUT_SINGLE_RUN]
    assert Run.objects.filter(accession=LAYOUT_SINGLE_RUN).exists()
    assert Study.objects.get(accession=LAYOUTS_STUDY_ACCESSION).import_report["no_longer_listed"] == [LAYOUT_SINGLE_RUN]


def test_a_private_study_is_imported_with_webin_credentials_and_stays_private(
    ena_mirror, mirror_data_dir, admin_client
):
    client = Client()  # anonymous (admin_client is the logged-in ``client`` fixture)
    accounts = mirror_webin_accounts(mirror_data_dir)
    anonymous = ENAPortalClient(ena_mirror.ena_config(), WebinConfig())
    with pytest.raises(ENAAccessionNotFound):
        import_ena_study(PRIVATE_STUDY_ACCESSION, client=anonymous)
    webin = WebinConfig(
        emg_webin_account=PRIVATE_STUDY_WEBIN_ACCOUNT,
        emg_webin_password=SecretStr(accounts[PRIVATE_STUDY_WEBIN_ACCOUNT]),
    )
    summary = import_ena_study(PRIVATE_STUDY_ACCESSION, client=ENAPortalClient(ena_mirror.ena_config(), webin))
    assert summary.private
    mgys = PlatformStudy.objects.get(accession=summary.mgys_accession)
    rows = [
        mgys,
        *PlatformRun.objects.filter(study=mgys),
        *PlatformSample.objects.filter(studies=mgys),
        Study.objects.get(accession=PRIVATE_STUDY_ACCESSION),
        *Run.objects.filter(study__accession=PRIVATE_STUDY_ACCESSION),
    ]
    assert len(rows) == 5
    assert all(row.is_private and row.webin_submitter == PRIVATE_STUDY_WEBIN_ACCOUNT for row in rows)
    for path in (
        f"/api/v2/studies/{PRIVATE_STUDY_ACCESSION}",
        f"/api/v2/studies/{mgys.accession}",
        f"/api/v2/runs/{PRIVATE_STUDY_RUN}",
    ):
        assert client.get(path).status_code == 404, path
        assert admin_client.get(path).status_code == 200, path  # the superuser sees private data
    assert PRIVATE_STUDY_ACCESSION not in client.get("/api/v2/studies").content.decode()


def stored_public_counts(study: PlatformStudy) -> tuple[int, int, int]:
    counts = study.public_counts
    return counts.samples, counts.runs, counts.analyses


def test_an_import_is_counted_in_the_study_public_counts(ena_client):
    """The import writes with COPY and bulk statements: the statement-level triggers count them."""
    summary = import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)
    study = PlatformStudy.objects.get(accession=summary.mgys_accession)
    assert stored_public_counts(study) == (4, 4, 0)
    import_ena_study(SYNTHETIC_STUDY_ACCESSION, client=ena_client)  # unchanged: nothing moves
    assert stored_public_counts(study) == (4, 4, 0) and drifted_studies() == []
