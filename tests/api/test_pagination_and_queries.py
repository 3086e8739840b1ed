"""Pages are stable and complete, and list endpoints make the same number of queries for any page size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

API = "/api/v2"
LIST_ENDPOINTS = ["/studies", "/samples", "/runs", "/analyses", "/assemblies", "/biomes", "/studies?search=soil"]
#: count + page + at most 4 prefetches (analyses: study, sample, run, assembly)
MAX_LIST_QUERIES = 6

pytestmark = pytest.mark.django_db


def _queries(client, path: str, page_size: int) -> tuple[int, int]:
    separator = "&" if "?" in path else "?"
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{API}{path}{separator}page_size={page_size}")
    assert response.status_code == 200, response.content
    return len(captured), len(response.json()["items"])


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
def test_list_query_count_does_not_grow_with_page_size(client, many, path, django_assert_max_num_queries):
    small, small_items = _queries(client, path, 1)
    large, large_items = _queries(client, path, 50)
    assert small_items == 1 and large_items >= 4
    assert small == large, f"{path}: {small} queries for 1 item, {large} for {large_items}"
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        client.get(f"{API}{path}")


def test_study_sublists_query_count_constant(client, many, django_assert_max_num_queries):
    from analyses.models import Sample, Study

    study = Study.objects.order_by("id").first()
    other = Sample.objects.exclude(studies=study)[:49]
    for sample in other:
        sample.studies.add(study)
    for suffix in ("/samples", "/analyses"):
        small, _ = _queries(client, f"/studies/{study.accession}{suffix}", 1)
        large, n = _queries(client, f"/studies/{study.accession}{suffix}", 50)
        assert small == large, suffix
    assert n >= 1


def test_pages_are_stable_and_cover_everything(client, many):
    seen: list[str] = []
    page = 1
    while True:
        body = client.get(f"{API}/analyses", {"page": page, "page_size": 7}).json()
        seen += [a["accession"] for a in body["items"]]
        if page == body["num_pages"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == many
    assert seen == sorted(seen, reverse=True)  # newest first; accessions are minted in order
    assert client.get(f"{API}/analyses", {"page": page + 1, "page_size": 7}).status_code == 404


def test_logged_in_list_query_count_constant(staff_client, many):
    small, _ = _queries(staff_client, "/analyses", 1)
    large, _ = _queries(staff_client, "/analyses", 50)
    assert small == large
