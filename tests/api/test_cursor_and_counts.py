"""Lists at scale: cursors page as far as page numbers do and on past the depth numbered pages stop at (a 422
before any query), counts are exact up to a bound and say when they are not, and lookups by accession use the
accession index."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analyses.models import Analysis
from core import pagination

API = "/api/v2"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_estimates():
    """Each test's data is new: planner estimates remembered from another test's would mislead it."""
    pagination.forget_estimates()
    yield
    pagination.forget_estimates()


def walk_by_cursor(client, path: str, page_size: int) -> list[str]:
    body = client.get(f"{API}{path}", {"page_size": page_size}).json()
    seen = [item["accession"] for item in body["items"]]
    while body["next_cursor"] is not None:
        response = client.get(f"{API}{path}", {"page_size": page_size, "cursor": body["next_cursor"]})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["page"] is None
        seen += [item["accession"] for item in body["items"]]
    return seen


def walk_by_page(client, path: str, page_size: int) -> list[str]:
    seen, page = [], 1
    while True:
        body = client.get(f"{API}{path}", {"page_size": page_size, "page": page}).json()
        seen += [item["accession"] for item in body["items"]]
        if page == body["num_pages"]:
            return seen
        page += 1


def test_cursor_walks_exactly_what_pages_walk(client, many):
    by_cursor = walk_by_cursor(client, "/analyses", 7)
    assert len(by_cursor) == len(set(by_cursor)) == many
    assert by_cursor == walk_by_page(client, "/analyses", 7)


def test_cursor_hides_private_rows_like_pages(client, graph):
    public = walk_by_page(client, "/analyses", 1)
    assert walk_by_cursor(client, "/analyses", 1) == public
    assert len(public) < Analysis.objects.count()  # the graph holds private analyses the anonymous client misses


def test_next_cursor_of_a_numbered_page_continues_it(client, many):
    second = client.get(f"{API}/analyses", {"page": 2, "page_size": 10}).json()
    third = client.get(f"{API}/analyses", {"page": 3, "page_size": 10}).json()
    after_second = client.get(f"{API}/analyses", {"cursor": second["next_cursor"], "page_size": 10}).json()
    assert after_second["items"] == third["items"]


def test_last_page_has_no_next_cursor(client, many):
    last = client.get(f"{API}/analyses", {"page": 6, "page_size": 10}).json()
    assert len(last["items"]) == 10 and last["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"cursor": "not-a-cursor"}, "not a cursor this API issued"),
        ({"cursor": pagination.encode_cursor(5)[:-3] + "!!!"}, "not a cursor this API issued"),
        ({"cursor": "eyJhZnRlciI6IC0xfQ"}, "not a cursor this API issued"),  # {"after": -1}
        ({"cursor": "eyJhZnRlciI6ICJ4In0"}, "not a cursor this API issued"),  # {"after": "x"}
        ({"cursor": pagination.encode_cursor(5), "page": 2}, "either cursor or page"),
        ({"cursor": "x" * 65}, "at most 64 characters"),
    ],
)
def test_bad_cursor_is_a_422_naming_it(client, many, params, says):
    response = client.get(f"{API}/analyses", params)
    assert response.status_code == 422, response.content
    assert "cursor" in response.json()["detail"] and says in response.json()["detail"]


def test_cursor_on_a_search_is_a_422(client, many):
    response = client.get(f"{API}/studies", {"search": "soil", "cursor": pagination.encode_cursor(5)})
    assert response.status_code == 422
    assert "page it by number" in response.json()["detail"]


def test_count_is_exact_up_to_the_bound_and_estimated_above(client, many, monkeypatch):
    exact = client.get(f"{API}/analyses").json()
    assert (exact["count"], exact["count_exact"]) == (many, True)

    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 20)
    connection.cursor().execute("ANALYZE analyses_analysis")
    estimated = client.get(f"{API}/analyses", {"page_size": 10}).json()
    assert estimated["count_exact"] is False
    assert 21 <= estimated["count"] <= 10 * many  # the planner's guess, never below the bound it passed
    assert estimated["num_pages"] == -(-estimated["count"] // 10)
    assert walk_by_cursor(client, "/analyses", 10) == walk_by_page(client, "/analyses", 10)
    last = client.get(f"{API}/analyses", {"page": 6, "page_size": 10}).json()
    assert (last["count"], last["count_exact"]) == (many, True)  # the last page knows the count


def test_estimated_count_never_contradicts_the_page_read(client, many, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 5)
    monkeypatch.setattr(pagination, "planner_estimate", lambda cursor, sql, params: 7)  # far below the truth
    body = client.get(f"{API}/analyses", {"page": 4, "page_size": 10}).json()
    assert len(body["items"]) == 10 and body["count_exact"] is False
    assert body["num_pages"] >= 5  # a page with a next one is never the last


def test_page_past_an_estimated_end_is_a_404_saying_about(client, many, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 5)
    response = client.get(f"{API}/analyses", {"page": 100, "page_size": 10})
    assert response.status_code == 404
    assert "about" in response.json()["detail"]


def test_estimated_count_adds_one_query_whatever_the_page_size(client, many, monkeypatch):
    def queries(page_size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{API}/analyses", {"page_size": page_size}).status_code == 200
        return len(captured)

    exact = queries(50)
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 5)
    assert queries(1) == exact + 1  # the EXPLAIN
    assert queries(50) == exact  # the estimate is remembered: the same list's next page asks no EXPLAIN
    pagination.forget_estimates()
    assert queries(50) == exact + 1


@pytest.mark.parametrize(
    "path", ["/runs/ERR9000100", "/samples/SAMEA9000100", "/studies/PRJEB90100", "/assemblies/ERZ9100000"]
)
def test_accession_lookups_leave_the_order_to_python(client, many, path):
    """``ORDER BY id LIMIT 1`` makes the planner walk the primary key past a million rows instead of using the
    GIN index on ``ena_accessions``; the lookup reads the few matching rows, unordered."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"{API}{path}").status_code == 200
    lookup = next(query["sql"] for query in captured.captured_queries if 'ena_accessions" @>' in query["sql"])
    assert "ORDER BY" not in lookup and "LIMIT" not in lookup


def test_study_samples_probe_the_study_s_own_sample_ids(client, many):
    """``= ANY(ARRAY(subquery))`` rather than ``IN (subquery)``, which the planner may answer by walking every
    sample in list order; the rows are the same."""
    from analyses.models import Sample, Study

    study = Study.objects.order_by("id").first()
    extra = list(Sample.objects.exclude(studies=study).order_by("id")[:3])
    study.samples.add(*extra)
    with CaptureQueriesContext(connection) as captured:
        body = client.get(f"{API}/studies/{study.accession}/samples").json()
    assert sorted(item["accession"] for item in body["items"]) == sorted(
        sample.ena_accessions[0] for sample in Sample.objects.filter(studies=study)
    )
    assert body["count"] == 4
    assert any("= ANY(ARRAY(SELECT" in query["sql"] for query in captured.captured_queries)


def test_deep_numbered_pages_skip_rows_as_ids(client, many, monkeypatch):
    """Past ``DEFERRED_JOIN_OFFSET`` a page is read in two steps (ids, then rows); its items are the same."""
    shallow = [client.get(f"{API}/analyses", {"page": page, "page_size": 7}).json()["items"] for page in (1, 3, 9)]
    monkeypatch.setattr(pagination, "DEFERRED_JOIN_OFFSET", 1)
    with CaptureQueriesContext(connection) as captured:
        deep = [client.get(f"{API}/analyses", {"page": page, "page_size": 7}).json()["items"] for page in (1, 3, 9)]
    assert deep == shallow and len(deep[2]) == many - 8 * 7
    assert sum('"analyses_analysis"."id" IN (' in query["sql"] for query in captured.captured_queries) == 2


DEPTH = pagination.MAX_NUMBERED_DEPTH


@pytest.mark.parametrize(
    ("page", "page_size"), [(DEPTH // 25 + 1, 25), (15000, 25), (DEPTH // 100 + 1, 100), (DEPTH + 1, 1)]
)
def test_numbered_page_past_the_depth_bound_is_a_422_before_any_query(client, many, page, page_size):
    """A page starting ``MAX_NUMBERED_DEPTH`` items deep or deeper is refused before the list is read (its
    ``OFFSET`` would walk every row before it), whether or not the list reaches that deep: deeper, by cursor."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{API}/analyses", {"page": page, "page_size": page_size})
    assert response.status_code == 422, response.content
    body = response.json()
    assert [error["loc"] for error in body["errors"]] == [["query", "page"]]
    assert f"page {page} starts {(page - 1) * page_size:,} items deep" in body["detail"]
    assert "by cursor" in body["detail"] and "next_cursor" in body["detail"]
    assert captured.captured_queries == []


def test_last_page_within_the_depth_bound_is_served(client, many, monkeypatch):
    monkeypatch.setattr(pagination, "MAX_NUMBERED_DEPTH", 20)
    last = client.get(f"{API}/analyses", {"page": 2, "page_size": 10})  # items 11-20: starts 10 deep
    assert last.status_code == 200, last.content
    assert len(last.json()["items"]) == 10 and last.json()["max_page"] == 2
    past = client.get(f"{API}/analyses", {"page": 3, "page_size": 10})  # starts 20 deep: the bound
    assert past.status_code == 422 and "page 3 starts 20 items deep" in past.json()["detail"]
    assert "(page 2 at page_size 10)" in past.json()["detail"]
    after_last = client.get(f"{API}/analyses", {"cursor": last.json()["next_cursor"], "page_size": 10}).json()
    assert len(after_last["items"]) == 10 and after_last["page"] is None  # deeper goes on by cursor


@pytest.mark.parametrize(
    ("page_size", "bound", "max_page"), [(7, 10_000, 9), (7, 20, 3), (10, 20, 2), (25, 75, 3), (25, 100, 3)]
)
def test_max_page_is_the_last_page_reachable_by_number(client, many, monkeypatch, page_size, bound, max_page):
    monkeypatch.setattr(pagination, "MAX_NUMBERED_DEPTH", bound)
    body = client.get(f"{API}/analyses", {"page_size": page_size}).json()
    assert body["max_page"] == min(body["num_pages"], -(-bound // page_size)) == max_page
    assert client.get(f"{API}/analyses", {"page": max_page, "page_size": page_size}).status_code == 200
    beyond = client.get(f"{API}/analyses", {"page": max_page + 1, "page_size": page_size}).status_code
    assert beyond == (422 if max_page * page_size >= bound else 404)  # the bound first, before any query


def test_max_page_follows_an_estimated_count(client, many, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 5)
    monkeypatch.setattr(pagination, "planner_estimate", lambda cursor, sql, params: 10**6)
    body = client.get(f"{API}/analyses").json()
    assert body["count_exact"] is False and body["num_pages"] == 40_000 and body["max_page"] == DEPTH // 25


@pytest.mark.parametrize(("path", "page_size"), [("/annotations/pfam", 5), ("/annotations/pfam/hits", 10)])
def test_depth_bound_holds_for_lists_not_paged_by_a_queryset(client, annotated, monkeypatch, path, page_size):
    """Pfam counts (a list) and Pfam hits (an array paged inside Postgres) are bounded like every list."""
    monkeypatch.setattr(pagination, "MAX_NUMBERED_DEPTH", 20)
    url = f"{API}/analyses/{annotated.public.accession}{path}"
    assert client.get(url, {"page_size": page_size}).json()["max_page"] == 20 // page_size
    assert client.get(url, {"page": 20 // page_size, "page_size": page_size}).status_code == 200
    past = client.get(url, {"page": 20 // page_size + 1, "page_size": page_size})
    assert past.status_code == 422 and past.json()["errors"][0]["loc"] == ["query", "page"]
