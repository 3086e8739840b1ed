"""Each study's public counts, kept by Postgres triggers (``analyses.public_counts``): after every kind of write
the stored counts equal a live count, and the study detail reads them in its one query."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from analyses.models import Analysis, ExperimentType, Run, Sample, Study, StudyPublicCounts
from analyses.public_counts import drifted_studies, recount
from analyses.services import biome_ensure
from tests.api.conftest import OWNER, make_chain

API = "/api/v2"


def stored(study: Study) -> tuple[int, int, int]:
    counts = StudyPublicCounts.objects.filter(study=study).first()
    return (counts.samples, counts.runs, counts.analyses) if counts else (0, 0, 0)


def detail_counts(client, study: Study) -> tuple[int, int, int]:
    body = client.get(f"{API}/studies/{study.accession}", HTTP_HOST="127.0.0.1").json()
    return body["samples_count"], body["runs_count"], body["analyses_count"]


def analysis(study: Study, run: Run, version: str, **fields) -> Analysis:
    return Analysis.objects.create(
        study=study,
        sample=run.sample,
        run=run,
        experiment_type=ExperimentType.METAGENOMIC,
        pipeline_name="raw-reads",
        pipeline_version=version,
        **fields,
    )


@pytest.fixture
def two_studies(db) -> tuple[Study, Study, Run, Run]:
    marine = biome_ensure(lineage="root:Environmental:Aquatic:Marine")
    first, _, first_run = make_chain(1, biome=marine, title="first", experiment_type=ExperimentType.METAGENOMIC)
    second, _, second_run = make_chain(2, biome=marine, title="second", experiment_type=ExperimentType.METAGENOMIC)
    return first, second, first_run, second_run


def test_every_kind_of_write_keeps_the_stored_counts_equal_to_a_live_count(two_studies):
    first, second, first_run, second_run = two_studies
    assert (stored(first), stored(second)) == ((1, 1, 0), (1, 1, 0))

    # analyses: created one by one and in bulk, private, superseded, moved, deleted
    analysis(first, first_run, "1.0")
    analysis(first, first_run, "2.0", is_private=True, webin_submitter=OWNER)
    Analysis.objects.bulk_create(
        Analysis(study=first, sample=first_run.sample, run=first_run, experiment_type="METAG", pipeline_name="bulk",
                 pipeline_version=str(n)) for n in range(5)
    )  # fmt: skip
    assert stored(first) == (1, 1, 6)
    Analysis.objects.filter(pipeline_name="bulk", pipeline_version__in=["0", "1"]).update(is_superseded=True)
    Analysis.objects.filter(pipeline_version="2.0").update(is_private=False)
    Analysis.objects.filter(pipeline_name="bulk", pipeline_version="4").update(study=second)
    Analysis.objects.filter(pipeline_name="bulk", pipeline_version="3").update(state=Analysis.State.COMPLETED)
    assert (stored(first), stored(second)) == ((1, 1, 4), (1, 1, 1))
    Analysis.objects.filter(pipeline_name="bulk").delete()
    assert stored(first) == (1, 1, 2) and stored(second) == (1, 1, 0)

    # runs and samples: privacy both ways, a sample linked to two studies, links removed
    Run.objects.filter(pk=first_run.pk).update(is_private=True)
    shared = second_run.sample
    shared.studies.add(first)
    assert stored(first) == (2, 0, 2)
    Sample.objects.filter(pk=shared.pk).update(is_private=True)
    assert (stored(first), stored(second)) == ((1, 0, 2), (0, 1, 0))
    shared.is_private = False
    shared.save()
    assert (stored(first), stored(second)) == ((2, 0, 2), (1, 1, 0))
    shared.studies.remove(first)
    first_run.sample.delete()  # its links, runs and analyses go with it
    assert stored(first) == (0, 0, 0)
    assert drifted_studies() == []


def test_deleting_a_study_deletes_its_counts(two_studies):
    first, second, first_run, _ = two_studies
    analysis(first, first_run, "1.0")
    first.delete()
    assert not StudyPublicCounts.objects.filter(study_id=first.pk).exists()
    assert stored(second) == (1, 1, 0) and drifted_studies() == []


@pytest.mark.django_db(transaction=True)
def test_truncate_resets_what_it_empties(two_studies):
    first, _, first_run, _ = two_studies
    analysis(first, first_run, "1.0")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE analyses_analysis CASCADE")
    assert stored(first) == (1, 1, 0) and drifted_studies() == []


def test_recount_repairs_a_wrong_row(two_studies):
    first, second, *_ = two_studies
    StudyPublicCounts.objects.filter(study=first).update(runs=99)
    assert [row["study_id"] for row in drifted_studies()] == [first.pk]
    assert recount() == 2
    assert drifted_studies() == [] and stored(first) == (1, 1, 0)


def test_anonymous_detail_reads_the_stored_counts_in_one_query_and_the_owner_counts_live(
    client, owner_client, two_studies
):
    first, _, first_run, _ = two_studies
    analysis(first, first_run, "1.0")
    analysis(first, first_run, "2.0", is_private=True, webin_submitter=OWNER)
    with CaptureQueriesContext(connection) as queries:
        assert detail_counts(client, first) == (1, 1, 1)
    assert len(queries) == 1 and "analyses_study_public_counts" in queries[0]["sql"]
    assert "COUNT(" not in queries[0]["sql"].upper()
    # the owner of the private analysis sees it counted, live
    with CaptureQueriesContext(connection) as queries:
        assert detail_counts(owner_client, first) == (1, 1, 2)
    assert "analyses_study_public_counts" not in " ".join(q["sql"] for q in queries)


def test_a_study_never_counted_reads_zero(client, db):
    study = Study.objects.create(title="empty")
    assert not StudyPublicCounts.objects.filter(study=study).exists()
    assert detail_counts(client, study) == (0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_to_one_study_lose_no_count():
    """Eight transactions add analyses to the same study at once (each holds its counter row until it commits)."""
    marine = biome_ensure(lineage="root:Environmental:Aquatic:Marine")
    study, _, run = make_chain(1, biome=marine, title="busy", experiment_type=ExperimentType.METAGENOMIC)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                for k in range(5):
                    analysis(study, run, f"{n}.{k}", is_private=k == 0, webin_submitter=OWNER if k == 0 else "")
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert stored(study) == (1, 1, 32) and drifted_studies() == []


def test_recount_command_checks_then_repairs(two_studies):
    first, *_ = two_studies
    call_command("recount_studies", "--check", stdout=StringIO())
    StudyPublicCounts.objects.filter(study=first).update(samples=7)
    with pytest.raises(CommandError, match=rf"1 studies' stored public counts differ from a live count: {first.pk}"):
        call_command("recount_studies", "--check", stdout=StringIO())
    out = StringIO()
    call_command("recount_studies", stdout=out)
    assert "rewrote the public counts of 2 studies (1 differed)" in out.getvalue()
    assert stored(first) == (1, 1, 0)


def test_a_sample_deleted_before_its_links_is_counted_out_once(two_studies):
    """Django deletes a sample's links first; SQL may delete the sample first (the foreign keys are deferred)."""
    first, second, first_run, _ = two_studies
    sample = first_run.sample
    sample.studies.add(second)
    assert (stored(first)[0], stored(second)[0]) == (1, 2)
    Run.objects.filter(sample=sample).delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM analyses_sample WHERE id = %s", [sample.pk])
        assert (stored(first)[0], stored(second)[0]) == (0, 1)
        cursor.execute("DELETE FROM analyses_sample_studies WHERE sample_id = %s", [sample.pk])
    assert (stored(first)[0], stored(second)[0]) == (0, 1)
