"""Hostile input is refused at the edge with a 4xx naming the parameter, never a 500, and nothing is stored.

One test per kind of input a security review found crashing the server (issue 13), then unit tests of
:mod:`core.input_guard`, which need no Django.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from core.input_guard import (
    MAX_JSON_DEPTH,
    InputRefused,
    check_json,
    check_string,
    parse_json,
    printable,
    string_problem,
)
from drs.services import register_blob
from workflows.ledger import selectors, services
from workflows.ledger.models import Pipeline, TokenRole, WorkEvent, WorkItem, WorkState
from workflows.ledger.tokens import issue_token

WORK = "/api/v2/work"
ITEMS = f"{WORK}/pipelines/raw-reads/6.0.1/items"


@pytest.fixture
def pipeline(db) -> Pipeline:
    return services.ensure_pipeline(name="raw-reads", version="6.0.1", repository_uri="https://example.org/raw-reads")


@pytest.fixture
def admin_token(db) -> str:
    return issue_token(name="ops", role=TokenRole.ADMIN).plaintext


@pytest.fixture
def client() -> Client:
    """A client that answers a view's exception with the 500 a real server would send, rather than raising it."""
    return Client(raise_request_exception=False)


def post_json(client: Client, path: str, body: str | bytes, token: str, content_type: str = "application/json"):
    return client.post(path, data=body, content_type=content_type, headers={"Authorization": f"Bearer {token}"})


def stored_counts() -> tuple[int, int, int]:
    return Pipeline.objects.count(), WorkItem.objects.count(), WorkEvent.objects.count()


def assert_refused(response, status: int, *names: str) -> str:
    """The answer has ``status`` and a JSON message (``detail`` or DRS ``msg``) naming each of ``names``."""
    assert response.status_code == status, response.content[:300]
    body = response.json()
    message = body["msg"] if "msg" in body else body["detail"]
    if "msg" in body:
        assert body["status_code"] == status
    for name in names:
        assert name in message, message
    return message


# --- 1. a NUL byte in any string parameter --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("/api/v2/studies?search=%00", "query.search"),
        ("/api/v2/studies?biome_lineage=root%00", "query.biome_lineage"),
        (f"{WORK}/items?external_ref=%00", "query.external_ref"),
        (f"{WORK}/items?holder=w%00", "query.holder"),
        (f"{WORK}/items?input_hash=%00", "query.input_hash"),
        (f"{WORK}/items?pipeline=raw%00reads", "query.pipeline"),
        (f"{WORK}/items?state=pending%00", "query.state"),
        (f"{WORK}/failures?pipeline=%00", "query.pipeline"),
        (f"{WORK}/summary?pipeline=%00", "query.pipeline"),
        (f"{WORK}/items?a%00b=1", "query.a\\x00b"),
        (f"{WORK}/pipelines/raw%00reads/6.0.1", "path"),
        ("/api/v2/studies/MGYS%0000001", "path"),
        ("/ga4gh/drs/v1/objects/%00", "path"),
        ("/ga4gh/drs/v1/files/a%00b", "path"),
        ("/ga4gh/drs/v1/objects/sha256-0?expand=%00", "query.expand"),
    ],
)
def test_nul_byte_in_a_string_parameter_is_a_400_naming_it(client, url, named):
    response = client.get(url)
    assert_refused(response, 400, named, "NUL byte")
    if url.startswith("/ga4gh/drs/"):
        assert set(response.json()) == {"msg", "status_code"}


def test_nul_byte_in_the_admin_changelist_search_is_a_400(client, superuser):
    """Refused before the session is even looked at, so the same for a superuser as for anyone."""
    client.force_login(superuser, backend="django.contrib.auth.backends.ModelBackend")
    assert_refused(client.get("/admin/analyses/study/?q=%00"), 400, "query.q", "NUL byte")
    assert_refused(client.get("/admin/workflows/workitem/?q=%00&lease_holder=x"), 400, "query.q", "NUL byte")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "value"),
    [("Authorization", "Bearer emgl_abc\x00def"), ("Authorization", "Bearer a\nb"), ("Range", "bytes=0-1\x00")],
)
def test_control_characters_in_parsed_headers_are_a_400_naming_the_header(client, pipeline, header, value):
    before = stored_counts()
    response = client.post(ITEMS, data="{}", content_type="application/json", headers={header: value})
    assert_refused(response, 400, f"header.{header}")
    assert stored_counts() == before


# --- 2. offset/limit past bigint on ledger lists, huge pages on /api/v2 lists -----------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "named"),
    [
        (f"{WORK}/items?offset=9223372036854775808", "query.offset"),
        (f"{WORK}/items?limit=9223372036854775808", "query.limit"),
        (f"{WORK}/failures?offset=9223372036854775808", "query.offset"),
        (f"{WORK}/long-running?offset=99999999999999999999", "query.offset"),
        ("/api/v2/studies?page=9223372036854775808", "query.page"),
        ("/api/v2/analyses?page=99999999999", "query.page"),
        ("/api/v2/studies?page=" + "9" * 4000, "query.page"),
    ],
)
def test_huge_offset_limit_or_page_is_a_422_naming_it(client, pipeline, url, named):
    services.register_work(pipeline=pipeline, inputs=[{"run": "ERR1"}], actor="test")
    assert_refused(client.get(url), 422, named)


# --- 3. non-finite or huge hours on /failures -------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("hours", ["nan", "inf", "-inf", "1e10", "0", "-1"])
def test_failures_hours_must_be_a_finite_bounded_number(client, hours):
    assert_refused(client.get(f"{WORK}/failures?hours={hours}"), 422, "query.hours")


@pytest.mark.django_db
def test_failures_hours_within_bounds_still_work(client):
    assert client.get(f"{WORK}/failures?hours=8760").status_code == 200
    assert client.get(f"{WORK}/failures?hours=0.5").status_code == 200


# --- 4. a Range header of thousands of digits -------------------------------------------------


@pytest.mark.parametrize("header", ["bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=-" + "1" * 5000])
def test_range_of_thousands_of_digits_is_ignored(client, storage, db, header):
    content = b"ACGT" * 100
    path = storage.results_root / "MGYS1" / "reads.fastq"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    blob = register_blob(path=path, aliases=["reads"])
    response = client.get(f"/ga4gh/drs/v1/files/{blob.id}", headers={"Range": header})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert "Content-Range" not in response


# --- 5. hostile JSON in ledger input ------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "named", "problem"),
    [
        ('{"input": {"run": "\\ud800"}}', "body.input.run", "surrogate"),
        ('{"input": {"run": "ERR1", "x": "\\udfff tail"}}', "body.input.x", "surrogate"),
        ('{"input": {"run": "a\\u0000b"}}', "body.input.run", "NUL byte"),
        ('{"input": {"ru\\u0000n": "ERR1"}}', "body.input.ru\\x00n", "NUL byte"),
        ('{"input": {"run": "ERR1", "tags": ' + nested(900) + "}}", "body.input.tags", "nested deeper"),
        ('{"input": {"run": "ERR1", "tags": ' + nested(100_000) + "}}", "body", "nested deeper"),
        ('{"input": {"run": NaN}}', "body", "NaN"),
        ('{"input": {"run": 1e400}}', "body", "too large"),
        ('{"input": {"run": ' + "1" * 5000 + "}}", "body", "not acceptable JSON"),
        ('{"input": {"run": "ERR1"', "body", "not valid JSON"),
        (b'{"input": {"run": "\xff"}}', "body", "not valid UTF-8"),
        ('{"input": {"run": "ERR1"}, "external_ref": "MGYA\\u0000"}', "body.external_ref", "NUL byte"),
    ],
)
def test_hostile_json_is_a_400_naming_the_member_and_stores_nothing(
    client, pipeline, admin_token, body, named, problem
):
    before = stored_counts()
    assert_refused(post_json(client, ITEMS, body, admin_token), 400, named, problem)
    assert stored_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream"])
def test_json_under_another_content_type_is_checked_too(client, pipeline, admin_token, content_type):
    """Ninja parses any non-form body as JSON, so the guard does as well."""
    before = stored_counts()
    response = post_json(client, ITEMS, '{"input": {"run": "\\ud800"}}', admin_token, content_type)
    assert_refused(response, 400, "body.input.run", "surrogate")
    assert stored_counts() == before


@pytest.mark.django_db
def test_an_oversized_json_body_is_a_413(client, pipeline, admin_token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = stored_counts()
    body = json.dumps({"input": {"run": "ERR1", "tags": ["x" * 100] * 20}})
    assert_refused(post_json(client, ITEMS, body, admin_token), 413, "body", "larger than 1000 bytes")
    assert stored_counts() == before


@pytest.mark.django_db
def test_a_clean_json_body_at_the_depth_limit_is_accepted(client, admin_token):
    """The body, ``input_schema`` and 30 arrays: 32 containers deep; one array more is refused."""
    for arrays, status in ((MAX_JSON_DEPTH - 1, 400), (MAX_JSON_DEPTH - 2, 201)):
        body = {"name": "deep", "version": "1", "input_schema": {"x": json.loads(nested(arrays))}}
        assert post_json(client, f"{WORK}/pipelines", json.dumps(body), admin_token).status_code == status


# --- 6. numbers past their columns in ledger input ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_attempts", 2**31),
        ("max_attempts", 2**64),
        ("max_attempts", 1001),
        ("lease_seconds", 2**31),
        ("lease_seconds", 31 * 24 * 3600),
        ("expected_duration_seconds", 2**63),
        ("expected_duration_seconds", 366 * 24 * 3600),
        ("long_running_factor", 1e308),
        ("long_running_factor", 1001),
    ],
)
def test_pipeline_numbers_past_their_columns_are_a_422_and_store_nothing(client, admin_token, field, value):
    before = stored_counts()
    body = json.dumps({"name": "big", "version": "1", field: value})
    response = post_json(client, f"{WORK}/pipelines", body, admin_token)
    assert_refused(response, 422, field)
    assert stored_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/pipelines/raw-reads/6.0.1/claim", {"holder": "w", "limit": 2**63}, "limit"),
        ("/pipelines/raw-reads/6.0.1/claim", {"holder": "w", "lease_seconds": 2**31}, "lease_seconds"),
        ("/pipelines/raw-reads/6.0.1/claim", {"holder": "w", "item_ids": [2**63]}, "item_ids"),
        ("/heartbeat", {"holder": "w", "item_ids": [2**64]}, "item_ids"),
        ("/heartbeat", {"holder": "w", "item_ids": [1], "lease_seconds": 2**40}, "lease_seconds"),
    ],
)
def test_other_ledger_numbers_past_their_columns_are_a_422(client, pipeline, admin_token, path, body, named):
    services.register_work(pipeline=pipeline, inputs=[{"run": "ERR1"}], actor="test")
    before = stored_counts()
    assert_refused(post_json(client, f"{WORK}{path}", json.dumps(body), admin_token), 422, named)
    assert stored_counts() == before
    assert WorkItem.objects.get().state == WorkState.PENDING


@pytest.mark.django_db
@pytest.mark.parametrize("event_limit", ["0", "1001", "9223372036854775808"])
def test_event_limit_out_of_bounds_is_a_422(client, pipeline, event_limit):
    [(item, _)] = services.register_work(pipeline=pipeline, inputs=[{"run": "ERR1"}], actor="test")
    assert_refused(client.get(f"{WORK}/items/{item.pk}?event_limit={event_limit}"), 422, "query.event_limit")
    assert client.get(f"{WORK}/items/{item.pk}?event_limit=1000").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("factor", [1e308, math.inf, math.nan])
def test_long_running_survives_a_factor_stored_before_the_bound(client, pipeline, factor):
    """A pipeline whose threshold overflows has no long-running items; the others are still listed."""
    Pipeline.objects.filter(pk=pipeline.pk).update(long_running_factor=factor)
    other = services.ensure_pipeline(name="assembly", version="2.0", repository_uri="https://example.org/assembly")
    services.register_work(pipeline=pipeline, inputs=[{"run": "ERR1"}], actor="test")
    services.register_work(pipeline=other, inputs=[{"run": "ERR2"}], actor="test")
    long_ago = timezone.now() - timedelta(days=3)
    for p in (pipeline, other):
        [claimed] = services.claim(pipeline=p, holder="w", limit=1, lease_seconds=3600)
        WorkItem.objects.filter(pk=claimed.pk).update(claimed_at=long_ago)
    response = client.get(f"{WORK}/long-running")
    assert response.status_code == 200
    assert [item["pipeline"] for item in response.json()["items"]] == ["assembly"]
    assert selectors.scaled_duration(timedelta(days=365), factor) is None


# --- 7. ledger lists have a bounded limit ---------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["items", "failures", "long-running"])
def test_ledger_lists_limit_is_at_most_1000(client, pipeline, endpoint):
    services.register_work(pipeline=pipeline, inputs=[{"run": f"ERR{n}"} for n in range(3)], actor="test")
    assert_refused(client.get(f"{WORK}/{endpoint}?limit=100000"), 422, "query.limit", "1000")
    assert_refused(client.get(f"{WORK}/{endpoint}?limit=0"), 422, "query.limit")
    assert client.get(f"{WORK}/{endpoint}?limit=1000").status_code == 200
    if endpoint == "items":
        page = client.get(f"{WORK}/items?limit=2&offset=1").json()
        assert page["count"] == 3 and len(page["items"]) == 2


@pytest.mark.django_db
def test_openapi_documents_the_bounds(client):
    schema = client.get("/api/v2/openapi.json").json()
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/v2/work/items"]["get"]["parameters"]}
    assert params["limit"]["maximum"] == 1000 and params["offset"]["maximum"] == 1_000_000_000
    failures = {p["name"]: p["schema"] for p in schema["paths"]["/api/v2/work/failures"]["get"]["parameters"]}
    assert failures["hours"]["maximum"] == 8760
    pipeline_in = schema["components"]["schemas"]["PipelineIn"]["properties"]
    assert pipeline_in["max_attempts"]["anyOf"][0]["maximum"] == 1000


# --- core.input_guard, without Django ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("plain", None),
        ("ümlaut and emoji \U0001f600", None),
        ("a\x00b", "contains a NUL byte"),
        ("\ud800", "contains a lone UTF-16 surrogate"),
        ("tail \udfff", "contains a lone UTF-16 surrogate"),
    ],
)
def test_string_problem(value: str, problem: str | None):
    assert string_problem(value) == problem
    assert string_problem(value, max_length=100) == problem


def test_string_problem_bounds_the_length():
    assert string_problem("x" * 10, max_length=10) is None
    assert string_problem("x" * 11, max_length=10) == "is longer than 10 characters"


def test_controls_are_refused_only_when_asked():
    assert string_problem("a\nb") is None
    assert string_problem("a\nb", controls=True) == "contains a control character"
    assert string_problem("a\x7fb", controls=True) == "contains a control character"
    assert string_problem("a\tb", controls=True) is None


def test_check_string_names_the_input():
    with pytest.raises(InputRefused) as refused:
        check_string("a\x00", where="query.search")
    assert str(refused.value) == "query.search: contains a NUL byte"
    assert (refused.value.where, refused.value.status) == ("query.search", 400)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": [1, {"b": "\x00"}]}, "body.a[1].b: contains a NUL byte"),
        ({"k\ud800": 1}, "body.k\\ud800: its name contains a lone UTF-16 surrogate"),
        ({"x": math.inf}, "body.x: is not a finite number"),
        ({"x": json.loads(nested(MAX_JSON_DEPTH))}, f"body.x[0]...: is nested deeper than {MAX_JSON_DEPTH} levels"),
    ],
)
def test_check_json_names_the_member(value: Any, message: str):
    with pytest.raises(InputRefused) as refused:
        check_json(value)
    if "..." in message:
        prefix, _, suffix = message.partition("...")
        assert str(refused.value).startswith(prefix) and str(refused.value).endswith(suffix)
    else:
        assert str(refused.value) == message


def test_check_json_accepts_depth_up_to_the_limit_and_deep_input_without_recursion():
    check_json(json.loads(nested(MAX_JSON_DEPTH)), max_depth=MAX_JSON_DEPTH + 1)
    deep: list = []
    for _ in range(100_000):  # far past the recursion limit: the walk is iterative
        deep = [deep]
    with pytest.raises(InputRefused, match="nested deeper"):
        check_json(deep)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"\xff", "is not valid UTF-8"),
        (b"[", "is not valid JSON"),
        (b"[NaN]", "contains NaN"),
        (b"[-Infinity]", "contains -Infinity"),
        (b"[1e999]", "too large for a number"),
        (b"[" + b"1" * 5000 + b"]", "is not acceptable JSON"),
        (nested(100_000).encode(), "is nested deeper"),
        (b'["\\ud83d"]', "lone UTF-16 surrogate"),
    ],
)
def test_parse_json_refuses(raw: bytes, problem: str):
    with pytest.raises(InputRefused) as refused:
        parse_json(raw)
    assert problem in refused.value.problem


def test_parse_json_keeps_clean_json_and_surrogate_pairs():
    assert parse_json(b'{"a": ["\\ud83d\\ude00", 1.5, null]}') == {"a": ["\U0001f600", 1.5, None]}


def test_printable_escapes_and_cuts():
    assert printable("a\x00\ud800") == "a\\x00\\ud800"
    assert printable("x" * 100, limit=3) == "xxx..."


def test_input_guard_needs_no_django():
    """``core.input_guard`` imports nothing of Django: its checks are plain functions."""
    code = "import sys, core.input_guard; assert not [m for m in sys.modules if m.startswith('django')]"
    subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], check=True)


@pytest.mark.parametrize(
    ("path", "body_key"),
    [
        ("/api/v2/work/pipelines//object_id", "detail"),
        ("/api/v2/no-such-thing", "detail"),
        ("/ga4gh/drs/v1/nope/x", "msg"),
    ],
)
def test_an_unrouted_api_url_is_a_json_404(client, path: str, body_key: str) -> None:
    """A URL under an API that matches no route (e.g. an empty path segment) answers in that API's JSON shape."""
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert path in response.json()[body_key]


def test_an_unrouted_url_elsewhere_keeps_django_s_page(client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
