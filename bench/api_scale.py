"""Benchmark: the read API at MGnify's size, each endpoint over HTTP against its own SQL in raw psycopg.

Builds (or reuses) a database of MGnify's size (``bench/scale_data.py``: 20,000 studies, 200,000 samples,
1,000,000 runs, about 500,000 analyses with realistic JSON; ``--scale`` shrinks or grows it), starts the API
on it (gunicorn, 2 workers, as deployed), then for every list and detail endpoint:

1. asks it once in this process through Django's test client, capturing the SQL it runs (and so the number
   of queries per request);
2. times ``--requests`` HTTP requests to gunicorn (after a warm-up), each followed by the same SQL run
   with raw psycopg on one connection, so both see the same caches;
3. prints p50/p95 of both, their ratio, and the queries per request.

Targets (issue 16): every endpoint at p50 <= 25 ms, and within 2x of its own SQL wherever that SQL takes
over 3 ms; a deep page by cursor as fast as page 1. Numbered pages reach ``MAX_NUMBERED_DEPTH`` items
(``core.pagination``): the table times the deepest of them, and a last line the deep page asked by number (a
422 naming ``page`` once it starts past the bound). The script prints the verdict and exits 0 whatever it is.

    .venv/bin/python bench/api_scale.py [--scale 1.0] [--requests 50] [--rebuild] [--database-url URL]

The database (default ``emg_scale`` on the server of ``EMG_DATABASE__URL``, else 127.0.0.1:5432) is kept for
the next run; ``--rebuild`` makes it again. Building at full size takes about five minutes and 4-5 GB.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import psycopg  # noqa: E402
import scale_data  # noqa: E402

API = "/api/v2"
P50_TARGET_MS = 25.0
RATIO_TARGET = 2.0
#: Below this much SQL time the ratio is not judged: the request's fixed cost (HTTP, Django) dominates.
RATIO_JUDGED_ABOVE_MS = 3.0
#: How deep the "deep page" is: this share of the way through /analyses (page 15,000 of 20,000 at full size),
#: asked by cursor; by number it is past the depth numbered pages reach (a 422), timed on a line of its own.
DEEP_SHARE = 0.75
#: The page size the deep pages are asked at (the API's default).
PAGE_SIZE = 25
API_SETTINGS = ROOT / "deployment/postgres/api-settings.sql"
FIRST_PAGE = "analyses"
DEEP_BY_NUMBER = "analyses deepest numbered page"
DEEP_BY_CURSOR = "analyses deep, by cursor"


@dataclass
class Endpoint:
    name: str
    path: str
    queries: list[str] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)


def default_database_url() -> str:
    configured = os.environ.get("EMG_DATABASE__URL", "postgresql://postgres@127.0.0.1:5432/emgapiv2")
    return f"{configured.rpartition('/')[0]}/emg_scale"


def pick_targets(database_url: str) -> dict[str, str]:
    """Real, public accessions from the middle of the tables, and the study with the most analyses."""
    with psycopg.connect(database_url) as conn:

        def one(sql: str) -> str:
            return conn.execute(sql).fetchone()[0]

        return {
            "big_study": one(
                "SELECT s.accession FROM analyses_study s JOIN analyses_analysis a ON a.study_id = s.id "
                "WHERE NOT s.is_private GROUP BY s.accession ORDER BY count(*) DESC LIMIT 1"
            ),
            "study": one(
                "SELECT accession FROM analyses_study WHERE NOT is_private AND id >= (SELECT max(id) / 2 "
                "FROM analyses_study) ORDER BY id LIMIT 1"
            ),
            "ena_study": one(
                "SELECT ena_accessions[1] FROM analyses_study WHERE NOT is_private AND id >= (SELECT max(id) / 3 "
                "FROM analyses_study) ORDER BY id LIMIT 1"
            ),
            "sample": one(
                "SELECT ena_accessions[1] FROM analyses_sample WHERE NOT is_private AND id >= (SELECT max(id) / 2 "
                "FROM analyses_sample) ORDER BY id LIMIT 1"
            ),
            "run": one(
                "SELECT ena_accessions[1] FROM analyses_run WHERE NOT is_private AND id >= (SELECT max(id) / 2 "
                "FROM analyses_run) ORDER BY id LIMIT 1"
            ),
            "analysis": one(
                "SELECT accession FROM analyses_analysis WHERE NOT is_private AND state = 'completed' "
                "AND id >= (SELECT max(id) / 2 FROM analyses_analysis) ORDER BY id LIMIT 1"
            ),
        }


@dataclass
class DeepPages:
    """Where the deep pages of ``/analyses`` are: ``deep`` is ``DEEP_SHARE`` of the way through (``cursor`` reads
    it), ``deepest_numbered`` the last page reachable by number (page 100 at full size)."""

    deep: int
    cursor: str
    deepest_numbered: int


def endpoints(targets: dict[str, str], deep: DeepPages) -> list[Endpoint]:
    human = "root:Host-associated:Human"
    analysis = f"/analyses/{targets['analysis']}"
    paths = [
        ("studies", "/studies"),
        ("studies by biome", f"/studies?{urlencode({'biome_lineage': human})}"),
        ("studies search", "/studies?search=soil"),
        ("study", f"/studies/{targets['study']}"),
        ("study by ENA accession", f"/studies/{targets['ena_study']}"),
        ("big study", f"/studies/{targets['big_study']}"),
        ("big study analyses", f"/studies/{targets['big_study']}/analyses"),
        ("big study samples", f"/studies/{targets['big_study']}/samples"),
        ("samples", "/samples"),
        ("sample", f"/samples/{targets['sample']}"),
        ("runs", "/runs"),
        ("runs amplicon", "/runs?experiment_type=AMPLI"),
        ("run", f"/runs/{targets['run']}"),
        (FIRST_PAGE, "/analyses"),
        (DEEP_BY_NUMBER, f"/analyses?page={deep.deepest_numbered}"),
        (DEEP_BY_CURSOR, f"/analyses?cursor={deep.cursor}"),
        ("analyses by biome", f"/analyses?{urlencode({'biome_lineage': human})}"),
        ("analyses failed", "/analyses?state=failed"),
        ("analysis", analysis),
        ("analysis results", f"{analysis}/results"),
        ("analysis QC", f"{analysis}/quality-control"),
        ("analysis downloads", f"{analysis}/downloads"),
        ("analysis Pfam", f"{analysis}/annotations/pfam"),
        ("analysis Pfam hits", f"{analysis}/annotations/pfam/hits"),
        ("assemblies", "/assemblies"),
        ("biomes", "/biomes"),
        ("biome", "/biomes/root:Host-associated"),
    ]
    return [Endpoint(name, API + path) for name, path in paths]


def capture_queries(endpoint: Endpoint) -> dict:
    """Ask in-process (Django's test client) and keep the SQL it ran the second time (what it remembers, such as
    planner estimates, it no longer asks); return the JSON answer."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    Client().get(endpoint.path, HTTP_HOST="127.0.0.1")  # warm, as the API's workers are when timed
    with CaptureQueriesContext(connection) as captured:
        response = Client().get(endpoint.path, HTTP_HOST="127.0.0.1")
    if response.status_code != 200:
        raise SystemExit(f"{endpoint.path}: HTTP {response.status_code}: {response.content[:300]!r}")
    endpoint.queries = [query["sql"] for query in captured.captured_queries]
    return response.json()


def deep_position() -> DeepPages:
    """A page ``DEEP_SHARE`` of the way through ``/analyses`` with the cursor a client holds for it, and the
    deepest page reachable by number.

    The cursor is the ``next_cursor`` of the page before: the id of that page's last item, read from the list's
    own queryset once (that page is too deep to ask by number, and walking to it by cursor takes thousands of
    requests). The deepest numbered page starts just under ``MAX_NUMBERED_DEPTH`` items, unless the list ends
    sooner: then it is the list's last page, from its count (exact, as it stops at the bound).
    """
    from django.contrib.auth.models import AnonymousUser
    from django.test import Client

    from analyses import selectors
    from core import pagination

    listed = selectors.analysis_list(user=AnonymousUser())  # what an anonymous /analyses lists, in its order
    count = Client().get(f"{API}/analyses", HTTP_HOST="127.0.0.1").json()["count"]
    page = max(2, int(count * DEEP_SHARE) // PAGE_SIZE)
    last_before = listed.values_list("pk", flat=True)[(page - 1) * PAGE_SIZE - 1]
    reachable, _exact = pagination.bounded_count(listed, limit=pagination.MAX_NUMBERED_DEPTH)
    deepest = max(1, math.ceil(min(reachable, pagination.MAX_NUMBERED_DEPTH) / PAGE_SIZE))
    return DeepPages(page, pagination.encode_cursor(last_before), deepest)


def apply_database_settings(database_url: str, *, shipped: bool) -> list[str]:
    """Give the database the settings shipped in ``deployment/postgres/api-settings.sql`` (or reset them to the
    server's defaults); return the statements applied. New connections (the API's) see them."""
    name = database_url.rpartition("/")[2]
    statements = [
        line.strip().rstrip(";").replace(':"db"', f'"{name}"')
        for line in API_SETTINGS.read_text().splitlines()
        if line.startswith("ALTER DATABASE")
    ]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" RESET ALL')
        for statement in statements if shipped else []:
            conn.execute(statement)
    return [statement.split(" SET ", 1)[1] for statement in statements] if shipped else []


def start_api(database_url: str, port: int, gunicorn_args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "EMG_DATABASE__URL": database_url, "DJANGO_SETTINGS_MODULE": "emgapiv2.settings"}
    command = [
        str(ROOT / ".venv/bin/gunicorn"), "-c", "python:emgapiv2.gunicorn_conf", "emgapiv2.wsgi",
        "-b", f"127.0.0.1:{port}", "-w", "2", "--timeout", "120", *gunicorn_args,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{API}/biomes", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"the API did not start: {process.stderr.read().decode()[-2000:]}")


def measure(endpoint: Endpoint, client: httpx.Client, conn: psycopg.Connection, requests: int) -> None:
    """Warm up, then ``requests`` times: the HTTP request, then its SQL in raw psycopg."""
    for _ in range(3):
        client.get(endpoint.path).raise_for_status()
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(endpoint.path)
        endpoint.http_ms.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        started = time.perf_counter()
        for sql in endpoint.queries:
            with conn.cursor() as cursor:
                cursor.execute(sql.encode())
                if cursor.description is not None:
                    cursor.fetchall()
        endpoint.sql_ms.append((time.perf_counter() - started) * 1000)


def time_deep_by_number(client: httpx.Client, page: int, requests: int) -> str:
    """Time ``/analyses?page=<page>`` over HTTP (``requests`` times after a warm-up, whatever its status) and
    describe the answer in one line: past ``MAX_NUMBERED_DEPTH`` items it is a 422 naming ``page``."""
    from core import pagination

    path = f"{API}/analyses?page={page}"
    for _ in range(3):
        client.get(path)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
    depth, bound = (page - 1) * PAGE_SIZE, pagination.MAX_NUMBERED_DEPTH
    answer = str(response.status_code)
    if response.status_code == 422:
        named = {".".join(map(str, error.get("loc", ()))) for error in response.json().get("errors", [])}
        answer += " naming page" if named == {"query.page"} else f" naming {', '.join(sorted(named))}"
    where = f"deeper than {bound:,} items: by cursor" if depth >= bound else f"{depth:,} items deep, within {bound:,}"
    return f"page {page} by number: {answer} in {statistics.median(timings):.1f} ms p50 ({where})"


def p(values: list[float], quantile: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(quantile * (len(ordered) - 1)))]


def report(
    measured: list[Endpoint], first_page_ms: float | None, deep_cursor_ms: float | None, deep_by_number: str
) -> None:
    """Print the table and the verdict; the cursor line only when both pages were measured (not left out by
    ``--only``)."""
    header = (
        f"{'endpoint':<32} {'queries':>7} {'HTTP p50':>9} {'p95':>8} {'SQL p50':>8} {'p95':>8} {'ratio':>6}  verdict"
    )
    print(header)
    print("-" * len(header))
    failures = 0
    for endpoint in measured:
        http50, sql50 = statistics.median(endpoint.http_ms), statistics.median(endpoint.sql_ms)
        ratio = http50 / sql50 if sql50 > 0 else float("inf")
        problems = []
        if http50 > P50_TARGET_MS:
            problems.append(f"p50 > {P50_TARGET_MS:g} ms")
        if sql50 > RATIO_JUDGED_ABOVE_MS and ratio > RATIO_TARGET:
            problems.append(f"> {RATIO_TARGET:g}x its SQL")
        failures += bool(problems)
        print(
            f"{endpoint.name:<32} {len(endpoint.queries):>7} {http50:>8.1f}ms {p(endpoint.http_ms, 0.95):>6.1f}ms "
            f"{sql50:>6.2f}ms {p(endpoint.sql_ms, 0.95):>6.2f}ms {ratio:>5.1f}x  {'; '.join(problems) or 'ok'}"
        )
    print()
    if first_page_ms is not None and deep_cursor_ms is not None:
        print(
            f"deep page by cursor: {deep_cursor_ms:.1f} ms p50; page 1: {first_page_ms:.1f} ms "
            f"({deep_cursor_ms / first_page_ms:.2f}x)"
        )
    print(deep_by_number)
    print(f"verdict: {len(measured) - failures} of {len(measured)} endpoints meet the targets")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = MGnify's size")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per endpoint")
    parser.add_argument("--rebuild", action="store_true", help="build the database even if it exists")
    parser.add_argument("--database-url", default=default_database_url())
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--only", help="only endpoints whose name contains this")
    parser.add_argument("--gunicorn-args", default="", help='more gunicorn options, e.g. "-k gthread --threads 4"')
    parser.add_argument(
        "--server-defaults", action="store_true", help="measure without deployment/postgres/api-settings.sql"
    )
    args = parser.parse_args()

    # Django is set up first: building the data reads the pipeline's JSON templates from our models.
    os.environ["EMG_DATABASE__URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emgapiv2.settings")
    import django

    django.setup()
    scale_data.build(args.database_url, args.scale, rebuild=args.rebuild)
    settings = apply_database_settings(args.database_url, shipped=not args.server_defaults)

    targets = pick_targets(args.database_url)
    deep_pages = deep_position()
    measured = endpoints(targets, deep_pages)
    if args.only:
        measured = [endpoint for endpoint in measured if args.only in endpoint.name]
    for endpoint in measured:
        capture_queries(endpoint)
    api = start_api(args.database_url, args.port, args.gunicorn_args.split())
    try:
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=30) as client,
            psycopg.connect(args.database_url, autocommit=True) as conn,
        ):
            for endpoint in measured:
                measure(endpoint, client, conn, args.requests)
            deep_by_number = time_deep_by_number(client, deep_pages.deep, args.requests)
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(timeout=30)
    by_name = {endpoint.name: endpoint for endpoint in measured}
    first, deep = by_name.get(FIRST_PAGE), by_name.get(DEEP_BY_CURSOR)
    print(f"\nAPI at scale {args.scale} ({args.requests} requests per endpoint, gunicorn 2 workers, one client)")
    print(f"database settings: {', '.join(settings) if settings else 'the server defaults'}\n")
    report(
        measured,
        statistics.median(first.http_ms) if first else None,
        statistics.median(deep.http_ms) if deep else None,
        deep_by_number,
    )


if __name__ == "__main__":
    main()
