"""A study search is ordered by relevance and counted exactly in the ranking's own pass (core.ranked_search):
whatever the number of matches, one query ranks and counts, one reads the page (and one its biomes)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analyses.models import Study
from core import pagination

API = "/api/v2"

pytestmark = pytest.mark.django_db


def search(client, text: str, **params) -> dict:
    response = client.get(f"{API}/studies", {"search": text, **params})
    assert response.status_code == 200, response.content
    return response.json()


def test_more_matches_than_the_count_bound_are_counted_exactly_in_the_ranking_query(client):
    matches = pagination.EXACT_COUNT_LIMIT + 7
    Study.objects.bulk_create([Study(title=f"Soil metagenome {n}") for n in range(matches)])
    Study.objects.bulk_create([Study(title="Marine sediment"), Study(title="Soil kept private", is_private=True)])

    with CaptureQueriesContext(connection) as captured:
        body = search(client, "soil")

    assert (body["count"], body["count_exact"], body["num_pages"]) == (matches, True, -(-matches // 25))
    assert len(body["items"]) == 25
    sql = [query["sql"] for query in captured.captured_queries]
    assert len(sql) == 2, sql  # ranked ids with the count, then the page's rows (no biome, so no biome query)
    assert "COUNT(*) OVER ()" in sql[0] and "ts_rank" in sql[0]
    assert not any(query.startswith("SELECT count(*)") or "EXPLAIN" in query for query in sql)


def test_best_match_first_then_newest_and_pages_partition_the_matches(client):
    weak_old, weak_new = Study.objects.create(title="Ocean water"), Study.objects.create(title="Ocean water")
    strong = Study.objects.create(title="Ocean ocean ocean water")
    Study.objects.create(title="Freshwater lake")

    body = search(client, "ocean", page_size=2)
    following = search(client, "ocean", page_size=2, page=2)

    assert [item["accession"] for item in body["items"] + following["items"]] == [
        strong.accession,
        weak_new.accession,
        weak_old.accession,
    ]
    assert (body["count"], following["count"], following["count_exact"]) == (3, 3, True)
    assert body["next_cursor"] is None  # relevance is not an id order: page by number


def test_no_match_is_an_empty_first_page_and_a_page_past_the_end_is_a_404_counting_exactly(client):
    Study.objects.bulk_create([Study(title="Soil") for _ in range(3)])

    none = search(client, "glacier")
    past = client.get(f"{API}/studies", {"search": "soil", "page": 2})

    assert (none["items"], none["count"], none["count_exact"]) == ([], 0, True)
    assert past.status_code == 404
    assert "there are 1 page(s) of 3 item(s)" in past.json()["detail"]


def test_private_studies_match_only_for_those_who_may_see_them(client, staff_client):
    Study.objects.create(title="Soil in public")
    Study.objects.create(title="Soil kept private", is_private=True, webin_submitter="Webin-1")

    assert search(client, "soil")["count"] == 1
    assert search(staff_client, "soil")["count"] == 2
