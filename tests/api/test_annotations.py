"""Pfam and rRNA annotations of an analysis on their action endpoints, and the links of the analysis detail.

Each endpoint reads only its part of the ``annotations`` column (one query; the Pfam hits two, paged inside
Postgres), is a 404 naming what is missing while the analysis has no such annotation, and a 404 to anyone but
the owner when the analysis is private. Lists and details never read ``annotations`` at all.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analyses.schemas import PfamDomainCount, ProteinDomainHit, RrnaAnnotations
from tests.api.conftest import HITS_PER_FAMILY, PFAM_FAMILIES, RRNA_COUNTS, Annotated, Graph

API = "/api/v2"

pytestmark = pytest.mark.django_db


def annotation_paths(accession: str) -> list[str]:
    return [
        f"/analyses/{accession}/annotations/pfam",
        f"/analyses/{accession}/annotations/pfam/hits",
        f"/analyses/{accession}/rrna",
    ]


def test_pfam_counts_most_domains_first_and_paginated(client, annotated: Annotated, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        body = client.get(f"{API}/analyses/{annotated.public.accession}/annotations/pfam", {"page_size": 5}).json()
    assert body["count"] == len(PFAM_FAMILIES) and body["num_pages"] == 5 and len(body["items"]) == 5
    counts = [PfamDomainCount.model_validate(item) for item in body["items"]]
    assert counts[0].accession == "PF00005.31" and counts[0].name == "ABC_tran" and counts[0].domains == 412
    everything = client.get(f"{API}/analyses/{annotated.public.accession}/annotations/pfam", {"page_size": 100})
    domains = [item["domains"] for item in everything.json()["items"]]
    assert domains == sorted(domains, reverse=True) and len(domains) == len(PFAM_FAMILIES)
    past = client.get(f"{API}/analyses/{annotated.public.accession}/annotations/pfam", {"page": 6, "page_size": 5})
    assert past.status_code == 404 and "out of range" in past.json()["detail"]


def test_pfam_hits_paged_in_the_database(client, annotated: Annotated, django_assert_max_num_queries):
    path = f"{API}/analyses/{annotated.public.accession}/annotations/pfam/hits"
    seen: list[dict] = []
    for page in (1, 2, 3, 4):
        with django_assert_max_num_queries(2):  # the count (with the existence check), then the page
            body = client.get(path, {"page": page, "page_size": 20}).json()
        seen += body["items"]
    assert body["count"] == len(PFAM_FAMILIES) * HITS_PER_FAMILY == len(seen)
    assert len({(hit["protein"], hit["accession"]) for hit in seen}) == len(seen)
    first = ProteinDomainHit.model_validate(seen[0])
    assert first.accession == "PF00005.31" and first.envelope_end > first.envelope_start


@pytest.mark.parametrize(("accession", "expected"), [("PF00005", 3), ("PF00005.31", 3), ("PF00005.1", 0)])
def test_pfam_hits_of_one_model(client, annotated: Annotated, accession: str, expected: int):
    path = f"{API}/analyses/{annotated.public.accession}/annotations/pfam/hits"
    body = client.get(path, {"accession": accession}).json()
    assert body["count"] == expected
    assert {hit["accession"] for hit in body["items"]} <= {"PF00005.31"}


def test_pfam_hits_filter_must_look_like_a_pfam_accession(client, annotated: Annotated):
    response = client.get(
        f"{API}/analyses/{annotated.public.accession}/annotations/pfam/hits", {"accession": "') || true"}
    )
    assert response.status_code == 422 and "accession" in response.json()["detail"]


def test_rrna_counts_and_genes(client, annotated: Annotated, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = client.get(f"{API}/analyses/{annotated.public.accession}/rrna")
    rrna = RrnaAnnotations.model_validate(response.json())
    assert {(c.kingdom.value, c.gene.value, c.count) for c in rrna.counts} == set(RRNA_COUNTS)
    assert len(rrna.genes) == sum(count for *_key, count in RRNA_COUNTS)
    assert {gene.model for gene in rrna.genes} >= {"16S_rRNA", "23S_rRNA", "5S_rRNA"}


def test_missing_annotations_are_404_naming_them(client, graph: Graph, annotated: Annotated):
    accession = graph.public_analysis.accession  # completed, with results but no annotations
    for path, missing in zip(annotation_paths(accession), ("Pfam", "Pfam", "rRNA"), strict=True):
        response = client.get(f"{API}{path}")
        assert response.status_code == 404, path
        assert missing in response.json()["detail"] and accession in response.json()["detail"]


def test_private_annotations_are_404_to_anyone_but_the_owner(client, owner_client, annotated: Annotated):
    for path in annotation_paths(annotated.private.accession):
        anonymous = client.get(f"{API}{path}")
        assert anonymous.status_code == 404, path
        assert anonymous.json() == {"detail": f"No analysis {annotated.private.accession}"}
        assert owner_client.get(f"{API}{path}").status_code == 200, path


def test_malformed_accession_is_400(client, annotated: Annotated):
    for path in annotation_paths("MGYA12"):
        response = client.get(f"{API}{path}")
        assert response.status_code == 400 and "MGYA12" in response.json()["detail"], path


def test_detail_links_action_endpoints_charts_and_the_fastp_report(client, annotated: Annotated):
    analysis = annotated.public
    links = client.get(f"{API}/analyses/{analysis.accession}").json()["links"]
    assert links["pfam"] == f"http://testserver{API}/analyses/{analysis.accession}/annotations/pfam"
    assert links["rrna"].endswith(f"/analyses/{analysis.accession}/rrna")
    assert links["charts"].endswith(f"/analyses/{analysis.accession}/charts")
    report = links["fastp_report"]
    (download,) = analysis.downloads
    assert report["drs_object_id"] == download["drs_object_id"] and report["drs_uri"].startswith("drs://")
    assert report["url"].endswith(f"/ga4gh/drs/v1/files/{download['drs_object_id']}")
    served = client.get(urlsplit(report["url"]).path)  # DRS URLs are absolute on EMG_SERVICE_URLS__APP_ROOT
    assert served.status_code == 200
    assert analysis.accession.encode() in b"".join(served.streaming_content)
    for name in ("results", "quality_control", "downloads", "pfam", "pfam_hits", "rrna", "charts"):
        assert client.get(links[name]).status_code == 200, name


def test_private_fastp_report_links_the_drs_access_endpoint(owner_client, annotated: Annotated):
    analysis = annotated.private
    report = owner_client.get(f"{API}/analyses/{analysis.accession}").json()["links"]["fastp_report"]
    assert report["url"].endswith(f"/ga4gh/drs/v1/objects/{report['drs_object_id']}/access/https")
    access = owner_client.get(urlsplit(report["url"]).path)
    assert access.status_code == 200 and "signature=" in access.json()["url"]


def test_no_fastp_report_is_null(client, graph: Graph):
    links = client.get(f"{API}/analyses/{graph.public_analysis.accession}").json()["links"]
    assert links["fastp_report"] is None  # its one download is not a fastp report


def test_lists_and_details_never_read_annotations(client, annotated: Annotated):
    paths = [
        "/analyses",
        f"/studies/{annotated.public_study.accession}/analyses",
        f"/analyses/{annotated.public.accession}",
    ]
    for path in paths:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{API}{path}").status_code == 200
        assert captured.captured_queries, path
        assert not any('"annotations"' in query["sql"] for query in captured.captured_queries), path
