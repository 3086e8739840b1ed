"""Model behaviour that lives in the database: minted accessions, ltree paths, search vectors, constraints."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from analyses.models import Analysis, Biome, Study, lineage_to_ltree_text
from analyses.schemas import AnalysisStatusFlag
from analyses.services import analysis_ensure_for_run, biome_ensure
from ena.accessions import AccessionKind, accession_kind
from tests.api.conftest import make_chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    return make_chain(1, biome=biome_ensure(lineage="root:Environmental:Aquatic"), title="t", experiment_type="METAG")


def test_database_mints_sequential_valid_accessions(chain):
    study, _, run = chain
    second = Study.objects.create(title="another")
    assert accession_kind(study.accession) == AccessionKind.MGNIFY_STUDY
    assert int(second.accession[4:]) == int(study.accession[4:]) + 1
    analysis = Analysis.objects.create(study=study, run=run, pipeline_name="p", pipeline_version="1")
    assert accession_kind(analysis.accession) == AccessionKind.MGNIFY_ANALYSIS


def test_minting_never_truncates_past_eight_digits():
    with connection.cursor() as cursor:
        cursor.execute("SELECT emg_mint_accession('MGYS', 7), emg_mint_accession('MGYS', 123456789)")
        assert cursor.fetchone() == ("MGYS00000007", "MGYS123456789")


def test_biome_path_and_descendant_lookup():
    biome_ensure(lineage="root:Host-associated:Human:Digestive system")
    biome_ensure(lineage="root:Environmental")
    human = Biome.objects.get(lineage="root:Host-associated:Human")
    assert human.path == "root.Host_associated.Human" and human.depth == 3
    under = Biome.objects.filter(path__descendant_of=lineage_to_ltree_text("root:Host-associated"))
    assert sorted(under.values_list("lineage", flat=True)) == [
        "root:Host-associated",
        "root:Host-associated:Human",
        "root:Host-associated:Human:Digestive system",
    ]
    assert biome_ensure(lineage="root:Host-associated:Human") == human  # idempotent


def test_study_search_vector_and_by_accession(chain):
    study, sample, _ = chain
    Study.objects.filter(pk=study.pk).update(title="Deep sea hydrothermal vent sediments")
    from django.contrib.postgres.search import SearchQuery

    found = Study.objects.filter(search_vector=SearchQuery("vent sediment", search_type="websearch", config="english"))
    assert list(found) == [study]
    assert list(Study.objects.by_accession("ERP900001")) == [study]
    assert list(type(sample).objects.by_accession("ERS9000001")) == [sample]
    assert not Study.objects.by_accession("ERP9000").exists()


def test_privacy_visibility():
    public = Study.objects.create(title="public")
    private = Study.objects.create(title="private", is_private=True, webin_submitter="Webin-1")
    users = get_user_model().objects
    owner, other = users.create_user("Webin-1"), users.create_user("Webin-2")
    staff = users.create_user("staff-without-permissions", is_staff=True)
    curator = users.create_user("curator", is_staff=True)
    curator.user_permissions.add(
        Permission.objects.get(content_type__app_label="accounts", codename="view_private_data")
    )
    curator = users.get(pk=curator.pk)  # a fresh object: permissions are cached per instance
    assert set(Study.objects.visible_to(AnonymousUser())) == {public}
    assert set(Study.objects.visible_to(None)) == {public}
    assert set(Study.objects.visible_to(other)) == {public}
    assert set(Study.objects.visible_to(owner)) == {public, private}
    assert set(Study.objects.visible_to(staff)) == {public}, "is_staff alone grants nothing"
    assert set(Study.objects.visible_to(curator)) == {public, private}
    assert private.is_visible_to(curator) and not private.is_visible_to(staff)
    assert private.is_visible_to(owner) and not private.is_visible_to(other)
    assert not private.is_visible_to(AnonymousUser()) and public.is_visible_to(AnonymousUser())


def test_schema_json_fields_are_validated_on_every_write(chain):
    study, _, run = chain
    with pytest.raises(ValidationError, match="Analysis.results .* predicted_proteins"), transaction.atomic():
        Analysis.objects.create(
            study=study, run=run, pipeline_name="p", pipeline_version="1", results={"predicted_proteins": -1}
        )
    analysis = Analysis.objects.create(study=study, run=run, pipeline_name="p", pipeline_version="1")
    with pytest.raises(ValidationError, match="downloads"), transaction.atomic():
        Analysis.objects.filter(pk=analysis.pk).update(downloads=[{"alias": "x"}])
    Analysis.objects.filter(pk=analysis.pk).update(results={"predicted_proteins": 5})
    analysis.refresh_from_db()
    assert analysis.results == {
        "assembly": None,
        "contig_lengths": None,
        "predicted_proteins": 5,
        "sequence_stats": [],
        "profile_hits": [],
    }


def test_one_active_analysis_per_run_pipeline_version(chain):
    study, _, run = chain
    first = analysis_ensure_for_run(run=run, pipeline_name="raw-reads", pipeline_version="1.0.0")
    assert analysis_ensure_for_run(run=run, pipeline_name="raw-reads", pipeline_version="1.0.0") == first
    with pytest.raises(IntegrityError), transaction.atomic():
        Analysis.objects.create(study=study, run=run, pipeline_name="raw-reads", pipeline_version="1.0.0")
    Analysis.objects.filter(pk=first.pk).update(is_superseded=True)
    rerun = Analysis.objects.create(study=study, run=run, pipeline_name="raw-reads", pipeline_version="1.0.0")
    assert rerun.accession != first.accession


def test_analysis_needs_a_run_or_an_assembly(chain):
    study, _, _ = chain
    with pytest.raises(IntegrityError), transaction.atomic():
        Analysis.objects.create(study=study, pipeline_name="p", pipeline_version="1")


def test_status_flags(chain):
    study, _, run = chain
    analysis = Analysis.objects.create(study=study, run=run, pipeline_name="p", pipeline_version="1")
    analysis.set_status_flag(AnalysisStatusFlag.ANALYSIS_FAILED, "boom")
    analysis.save()
    analysis.refresh_from_db()
    assert analysis.status["analysis_failed"]["message"] == "boom"
