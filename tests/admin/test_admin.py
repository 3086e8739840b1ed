"""Every admin changelist and change page renders for a superuser; search, filters and inlines work."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from analyses.models import Analysis, Assembly, Biome, Run, Sample, Study
from ena.models import Run as ENARun
from ena.models import Sample as ENASample
from ena.models import Study as ENAStudy

MODELS = [Biome, Study, Sample, Run, Assembly, Analysis, ENAStudy, ENASample, ENARun]

pytestmark = pytest.mark.django_db


@pytest.fixture
def dev_data(db) -> None:
    call_command("make_dev_data", stdout=open("/dev/null", "w"))


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_model_is_registered():
    for model in MODELS:
        assert admin.site.is_registered(model), model


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m._meta.app_label}.{m.__name__}")
def test_changelist_add_and_change_pages_render(admin_client, dev_data, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    # analyses are made by the platform (one per run, pipeline and version), never added by hand
    assert admin_client.get(_url(model, "add")).status_code == (403 if model is Analysis else 200)
    for obj in model.objects.order_by("id")[:3]:
        response = admin_client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, (model, obj)


@pytest.mark.parametrize(
    ("model", "term", "expected"),
    [
        (Study, "PRJEB40002", 1),
        (Study, "ERP123401", 1),
        (Sample, "ERS7100001", 1),
        (Sample, "SAMEA7100100", 1),
        (Run, "ERR7100000", 1),
        (Analysis, "ERR7100101", 1),
        (Assembly, "GCA_947100001.1", 1),
        (Assembly, "ERZ7100001", 1),
        (ENAStudy, "ERP123403", 1),
        (ENASample, "ERS7100200", 1),
        (ENARun, "ERR7100200", 1),
        (Biome, "Marine", 1),
    ],
)
def test_search_by_any_accession(admin_client, dev_data, model, term, expected):
    response = admin_client.get(_url(model, "changelist"), {"q": term})
    assert response.status_code == 200
    assert response.context["cl"].result_count == expected


def test_search_by_mgys_and_mgya(admin_client, dev_data):
    study = Study.objects.order_by("id").first()
    analysis = Analysis.objects.order_by("id").first()
    assert admin_client.get(_url(Study, "changelist"), {"q": study.accession}).context["cl"].result_count == 1
    response = admin_client.get(_url(Analysis, "changelist"), {"q": analysis.accession})
    assert response.context["cl"].result_count == 1


@pytest.mark.parametrize(
    ("model", "params"),
    [
        (Analysis, {"state": "completed"}),
        (Analysis, {"experiment_type__exact": "AMPLI"}),
        (Analysis, {"is_private__exact": "1"}),
        (Analysis, {"biome_lineage": "root:Environmental"}),
        (Study, {"biome_lineage": "root:Host-associated"}),
        (Study, {"is_private__exact": "0"}),
        (Run, {"experiment_type__exact": "METAG"}),
        (Assembly, {"status__exact": "submitted"}),
        (Sample, {"biome_lineage": "root:Environmental:Terrestrial"}),
    ],
)
def test_list_filters(admin_client, dev_data, model, params):
    response = admin_client.get(_url(model, "changelist"), params)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


def test_biome_filter_includes_descendants(admin_client, dev_data):
    response = admin_client.get(_url(Analysis, "changelist"), {"biome_lineage": "root:Host-associated"})
    assert (
        response.context["cl"].result_count
        == Analysis.objects.filter(study__biome__lineage__startswith="root:Host").count()
    )


def test_analysis_change_page_shows_json_readably(admin_client, dev_data):
    analysis = Analysis.objects.filter(state="completed", results__isnull=False).first()
    content = admin_client.get(_url(Analysis, "change", analysis.pk)).content.decode()
    assert "<pre" in content and "&quot;predicted_proteins&quot;: " in content
    assert "sha256" in content


def test_study_inlines_are_limited(admin_client, dev_data, django_assert_max_num_queries):
    study = Study.objects.get(ena_accessions__contains=["PRJEB40002"])
    run = study.runs.first()
    Analysis.objects.bulk_create(
        [
            Analysis(study=study, run=run, pipeline_name="amplicon", pipeline_version=f"9.{i}", is_superseded=False)
            for i in range(30)
        ]
    )
    with django_assert_max_num_queries(40):
        response = admin_client.get(_url(Study, "change", study.pk))
    assert response.status_code == 200
    content = response.content.decode()
    # the newest 20 analyses, each a link to its page; the rest through the filtered list
    newest = content[content.index("Newest 20 analyses") :]
    newest = newest[: newest.index("</table>")]
    assert newest.count('href="/admin/analyses/analysis/') == 20
    assert "34 analyses" in content and f"study__id__exact={study.pk}" in content


def test_study_change_page_saves_with_inlines(admin_client, dev_data):
    study = Study.objects.get(ena_accessions__contains=["PRJEB40001"])
    page = admin_client.get(_url(Study, "change", study.pk))
    data = {}
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(name, management[name].value())
        for form in formset.formset.forms:
            data[f"{form.prefix}-id"] = form.instance.pk
            data[f"{form.prefix}-{formset.formset.fk.name}"] = study.pk
    data.update(
        title="Renamed by a curator",
        ena_study=study.ena_study_id,
        ena_accessions=",".join(study.ena_accessions),
        biome=study.biome_id,
        webin_submitter="",
    )
    response = admin_client.post(_url(Study, "change", study.pk), data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    study.refresh_from_db()
    assert study.title == "Renamed by a curator"


def test_run_metadata_is_editable_json(admin_client, dev_data):
    run = Run.objects.first()
    content = admin_client.get(_url(Run, "change", run.pk)).content.decode()
    assert 'name="metadata"' in content
