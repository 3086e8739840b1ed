"""Every read endpoint: content, filters, privacy (404, never 403) and 4xx for bad input."""

from __future__ import annotations

from urllib.parse import quote

import pytest

API = "/api/v2"

pytestmark = pytest.mark.django_db


def get(client, path: str, **params):
    response = client.get(f"{API}{path}", params)
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response


def items(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["items"]


# ---------------------------------------------------------------------------------------------- studies


def test_list_studies_hides_private_from_anonymous(client, graph):
    body = get(client, "/studies").json()
    assert [s["accession"] for s in body["items"]] == [graph.public_study.accession]
    assert body["count"] == 1 and body["page"] == 1 and body["num_pages"] == 1
    study = body["items"][0]
    assert study["ena_accessions"] == ["PRJEB90001", "ERP900001"]
    assert study["biome"] == {"biome_name": "Marine", "lineage": "root:Environmental:Aquatic:Marine"}


def test_owner_and_staff_see_private_studies(owner_client, staff_client, graph):
    expected = {graph.public_study.accession, graph.private_study.accession}
    assert {s["accession"] for s in items(get(owner_client, "/studies"))} == expected
    assert {s["accession"] for s in items(get(staff_client, "/studies"))} == expected


def test_list_studies_filter_by_biome_lineage_prefix(client, staff_client, graph):
    assert len(items(get(staff_client, "/studies", biome_lineage="root"))) == 2
    env = items(get(staff_client, "/studies", biome_lineage="root:Environmental"))
    assert [s["accession"] for s in env] == [graph.public_study.accession]
    assert items(get(staff_client, "/studies", biome_lineage="root:Environmental:Aqua")) == []  # whole labels only


def test_list_studies_search_titles(client, graph):
    assert [s["accession"] for s in items(get(client, "/studies", search="ocean"))] == [graph.public_study.accession]
    assert items(get(client, "/studies", search='"water ocean"')) == []
    assert items(get(client, "/studies", search="secret")) == []  # private


@pytest.mark.parametrize("accession", ["public_mgys", "PRJEB90001", "ERP900001"])
def test_get_study_by_mgys_or_ena_accession(client, graph, accession):
    if accession == "public_mgys":
        accession = graph.public_study.accession
    body = get(client, f"/studies/{accession}").json()
    assert body["accession"] == graph.public_study.accession
    assert body["ena_study"]["accession"] == "PRJEB90001"
    assert (body["samples_count"], body["runs_count"], body["analyses_count"]) == (1, 1, 2)


def test_private_study_is_404_for_anonymous_but_visible_to_owner(client, owner_client, graph):
    for accession in (graph.private_study.accession, "PRJEB90002", "ERP900002"):
        response = get(client, f"/studies/{accession}")
        assert response.status_code == 404
        assert "detail" in response.json()
        assert get(owner_client, f"/studies/{accession}").status_code == 200
    assert get(client, f"/studies/{graph.private_study.accession}/analyses").status_code == 404
    assert get(client, f"/studies/{graph.private_study.accession}/samples").status_code == 404


@pytest.mark.parametrize("bad", ["MGYS1", "prjeb1234", "ERR1234567", "PRJEB1234 ", "x" * 300])
def test_malformed_study_accession_is_400_naming_it(client, db, bad):
    response = get(client, f"/studies/{quote(bad)}")
    assert response.status_code == 400
    assert bad[:20] in response.json()["detail"]


def test_unknown_valid_study_accession_is_404(client, db):
    assert get(client, "/studies/MGYS99999999").status_code == 404
    assert get(client, "/studies/PRJEB1").status_code == 404


def test_study_analyses_and_samples(client, graph):
    accession = graph.public_study.accession
    analyses = items(get(client, f"/studies/{accession}/analyses"))
    assert [a["accession"] for a in analyses] == [graph.pending_analysis.accession, graph.public_analysis.accession]
    completed = items(get(client, "/studies/PRJEB90001/analyses", state="completed"))
    assert [a["accession"] for a in completed] == [graph.public_analysis.accession]
    samples = items(get(client, f"/studies/{accession}/samples"))
    assert [s["accession"] for s in samples] == ["SAMEA9000001"]


# ---------------------------------------------------------------------------------------------- samples


def test_samples_list_and_detail(client, owner_client, graph):
    assert [s["accession"] for s in items(get(client, "/samples"))] == ["SAMEA9000001"]
    assert len(items(get(owner_client, "/samples"))) == 2
    assert [s["accession"] for s in items(get(client, "/samples", biome_lineage="root:Environmental"))] == [
        "SAMEA9000001"
    ]
    for accession in ("SAMEA9000001", "ERS9000001"):
        body = get(client, f"/samples/{accession}").json()
        assert body["accession"] == "SAMEA9000001"
        assert body["studies"] == [graph.public_study.accession]
        assert body["scientific_name"] == "marine metagenome" and body["runs_count"] == 1
    assert get(client, "/samples/SAMEA9000002").status_code == 404
    assert get(owner_client, "/samples/SAMEA9000002").status_code == 200
    assert get(client, "/samples/SAMEA1").status_code == 404
    assert get(client, "/samples/ERR9000001").status_code == 400


# ---------------------------------------------------------------------------------------------- runs


def test_runs_list_filters_and_detail(client, staff_client, graph):
    runs = items(get(client, "/runs"))
    assert runs == [
        {
            "accession": "ERR9000001",
            "ena_accessions": ["ERR9000001"],
            "study_accession": graph.public_study.accession,
            "sample_accession": "SAMEA9000001",
            "experiment_type": "METAG",
            "instrument_platform": "ILLUMINA",
            "instrument_model": "",
            "is_private": False,
            "created_at": runs[0]["created_at"],
        }
    ]
    assert [r["accession"] for r in items(get(staff_client, "/runs", experiment_type="AMPLI"))] == ["ERR9000002"]
    assert items(get(staff_client, "/runs", biome_lineage="root:Host-associated", experiment_type="METAG")) == []
    body = get(client, "/runs/ERR9000001").json()
    assert body["library_strategy"] == "WGS" and body["read_count"] == 1000
    assert get(client, "/runs/ERR9000002").status_code == 404
    assert get(client, "/runs/ERR12").status_code == 400


# ---------------------------------------------------------------------------------------------- analyses


def test_analyses_list_filters(client, staff_client, graph):
    assert {a["accession"] for a in items(get(client, "/analyses"))} == {
        graph.public_analysis.accession,
        graph.pending_analysis.accession,
    }
    by = lambda **f: [a["accession"] for a in items(get(staff_client, "/analyses", **f))]  # noqa: E731
    assert by(state="pending") == [graph.pending_analysis.accession]
    assert by(status="pending") == [graph.pending_analysis.accession]
    assert by(pipeline_version="2.0.0") == [graph.pending_analysis.accession]
    assert by(pipeline_name="amplicon") == [graph.private_analysis.accession]
    assert by(experiment_type="AMPLI") == [graph.private_analysis.accession]
    assert by(biome_lineage="root:Host-associated:Human") == [graph.private_analysis.accession]
    first = items(get(client, "/analyses", state="completed"))[0]
    assert first["run_accession"] == "ERR9000001" and first["sample_accession"] == "SAMEA9000001"
    assert first["study_accession"] == graph.public_study.accession
    assert "results" not in first and "downloads" not in first


def test_superseded_analyses_hidden_unless_asked(client, graph):
    graph.pending_analysis.is_superseded = True
    graph.pending_analysis.save()
    assert len(items(get(client, "/analyses"))) == 1
    assert len(items(get(client, "/analyses", include_superseded="true"))) == 2


def test_analysis_of_private_study_is_hidden_even_if_row_is_public(client, graph):
    graph.private_analysis.is_private = False
    graph.private_analysis.save()
    assert get(client, f"/analyses/{graph.private_analysis.accession}").status_code == 404
    assert graph.private_analysis.accession not in {a["accession"] for a in items(get(client, "/analyses"))}


def test_analysis_detail_and_actions(client, graph):
    accession = graph.public_analysis.accession
    body = get(client, f"/analyses/{accession}").json()
    assert body["accession"] == accession and body["state"] == "completed"
    assert (body["has_results"], body["has_quality_control"], body["downloads_count"]) == (True, True, 1)
    assert "results" not in body
    assert get(client, f"/analyses/{accession}/results").json()["predicted_proteins"] == 42
    qc = get(client, f"/analyses/{accession}/quality-control").json()
    assert qc["after_filtering"]["total_reads"] == 90
    downloads = get(client, f"/analyses/{accession}/downloads").json()
    assert downloads[0]["alias"] == "x_proteins.faa.gz" and len(downloads[0]["sha256"]) == 64


def test_analysis_actions_404_when_nothing_yet(client, graph):
    accession = graph.pending_analysis.accession
    detail = get(client, f"/analyses/{accession}").json()
    assert (detail["has_results"], detail["has_quality_control"], detail["downloads_count"]) == (False, False, 0)
    assert "no results yet" in get(client, f"/analyses/{accession}/results").json()["detail"]
    assert get(client, f"/analyses/{accession}/quality-control").status_code == 404
    assert get(client, f"/analyses/{accession}/downloads").json() == []


@pytest.mark.parametrize("suffix", ["", "/results", "/quality-control", "/downloads"])
def test_private_analysis_endpoints_404_for_anonymous(client, owner_client, graph, suffix):
    path = f"/analyses/{graph.private_analysis.accession}{suffix}"
    assert get(client, path).status_code == 404
    assert get(owner_client, path).status_code in (200, 404)
    if suffix in ("", "/downloads"):
        assert get(owner_client, path).status_code == 200


@pytest.mark.parametrize("suffix", ["", "/results", "/quality-control", "/downloads"])
def test_malformed_analysis_accession_is_400(client, db, suffix):
    response = get(client, f"/analyses/MGYS00000001{suffix}")
    assert response.status_code == 400
    assert "MGYS00000001" in response.json()["detail"]


# ---------------------------------------------------------------------------------------------- assemblies


def test_assemblies_list_and_detail(client, owner_client, graph):
    assert [a["accession"] for a in items(get(client, "/assemblies"))] == ["ERZ9000001"]
    assert len(items(get(owner_client, "/assemblies"))) == 2
    assert items(get(client, "/assemblies", status="failed")) == []
    assert len(items(get(client, "/assemblies", status="completed"))) == 1
    for key in (str(graph.public_assembly.id), "ERZ9000001", "GCA_990000001.1"):
        body = get(client, f"/assemblies/{key}").json()
        assert body["id"] == graph.public_assembly.id and body["run_accession"] == "ERR9000001"
    for key in (str(graph.private_assembly.id), "ERZ9000002"):
        assert get(client, f"/assemblies/{key}").status_code == 404
        assert get(owner_client, f"/assemblies/{key}").status_code == 200
    assert get(client, "/assemblies/999999999").status_code == 404
    assert get(client, "/assemblies/ERR9000001").status_code == 400
    assert get(client, "/assemblies/-1").status_code == 400


# ---------------------------------------------------------------------------------------------- biomes


def test_biomes_list_and_detail(client, graph):
    lineages = [b["lineage"] for b in items(get(client, "/biomes", page_size=100))]
    assert lineages == sorted(lineages) and "root:Host-associated:Human:Digestive system" in lineages
    assert [b["lineage"] for b in items(get(client, "/biomes", biome_lineage="root:Environmental:Aquatic"))] == [
        "root:Environmental:Aquatic",
        "root:Environmental:Aquatic:Marine",
    ]
    body = get(client, "/biomes/root:Host-associated:Human").json()
    assert body["depth"] == 3
    assert body["children"] == [
        {"biome_name": "Digestive system", "lineage": "root:Host-associated:Human:Digestive system"}
    ]
    assert get(client, f"/biomes/{quote('root:Host-associated:Human:Digestive system')}").status_code == 200
    assert get(client, "/biomes/root:Nowhere").status_code == 404
    response = get(client, "/biomes/Environmental")
    assert response.status_code == 400 and "lineage" in response.json()["detail"]


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/analyses", {"experiment_type": "SHOTGUN"}, "AMPLI"),
        ("/analyses", {"state": "done"}, "completed"),
        ("/analyses", {"status": "done"}, "completed"),
        ("/runs", {"experiment_type": "x"}, "METAG"),
        ("/assemblies", {"status": "x"}, "submitted"),
        ("/studies", {"biome_lineage": "Environmental"}, "lineage"),
        ("/studies", {"biome_lineage": "root::x"}, "lineage"),
        ("/samples", {"page": "0"}, "page"),
        ("/samples", {"page": "abc"}, "page"),
        ("/biomes", {"page_size": "101"}, "page_size"),
        ("/studies", {"search": ""}, "search"),
    ],
)
def test_bad_query_parameters_are_422_with_message(client, graph, path, params, named):
    response = get(client, path, **params)
    assert response.status_code == 422
    assert named in response.json()["detail"]


def test_page_out_of_range_is_404_with_message(client, graph):
    response = get(client, "/studies", page=2)
    assert response.status_code == 404
    assert "out of range" in response.json()["detail"]


def test_empty_first_page_is_200(client, db):
    assert get(client, "/analyses").json() == {
        "count": 0,
        "count_exact": True,
        "page": 1,
        "page_size": 25,
        "num_pages": 1,
        "max_page": 1,
        "next_cursor": None,
        "items": [],
    }


def test_openapi_docs(client, db):
    assert client.get(f"{API}/docs").status_code == 200
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    for path in ("/studies/{accession}/analyses", "/analyses/{accession}/quality-control", "/biomes/{lineage}"):
        assert f"{API}{path}" in paths
