"""Benchmark of the work ledger over HTTP: bulk registration, and claims by 1, 4, 8 and 16 claimers.

It prepares its own database (``<db>_bench``, dropped and re-created, migrated), starts gunicorn
on a free loopback port against it, mints tokens, and then:

1. registers 10,000 items with one bulk request and prints registrations/second (and again, to time
   the idempotent path where all of them already exist);
2. for each concurrency level, registers fresh items for a pipeline of its own and lets that many
   concurrent claimers (httpx, one connection each: asyncio tasks, or ``--client processes``) claim
   batches until the items run out or the time budget ends, in interleaved rounds; prints
   claims/second, failed requests and latency, relative to 4 claimers;
3. checks in the database that no item was claimed twice and none was lost.

Usage::

    EMG_DATABASE__URL=postgresql://postgres@127.0.0.1:5432/emg_ledger .venv/bin/python bench/claims.py \
        [--workers 4] [--seconds 8] [--batch 10] [--keep-db]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
LEVELS = (1, 4, 8, 16)
REGISTER_ITEMS = 10_000
BULK_CHUNK = 10_000
PIPELINE_VERSION = "1.0"


def bench_database_url(base_url: str) -> tuple[str, str, str]:
    """``(bench db url, maintenance url, bench db name)`` next to the database of ``base_url``."""
    parts = urlsplit(base_url)
    name = (parts.path.lstrip("/") or "emg") + "_bench"
    return urlunsplit(parts._replace(path=f"/{name}")), urlunsplit(parts._replace(path="/postgres")), name


def recreate_database(maintenance_url: str, name: str) -> None:
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(maintenance_url: str, name: str) -> None:
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(GUNICORN), "emgapiv2.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--backlog", "256"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited:\n{server.stderr.read()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/work/pipelines", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.terminate()
    sys.exit("gunicorn did not answer within 60 s")


def post(client: httpx.Client, path: str, body: dict, token: str, expect: tuple[int, ...] = (200, 201)) -> dict:
    response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=300)
    if response.status_code not in expect:
        sys.exit(f"POST {path} -> {response.status_code}: {response.text[:500]}")
    return response.json()


def register(client: httpx.Client, token: str, pipeline: str, count: int, offset: int = 0) -> float:
    """Register ``count`` items in bulk requests; returns the seconds it took."""
    began = time.perf_counter()
    for start in range(offset, offset + count, BULK_CHUNK):
        items = [
            {"input": {"run": f"ERR{n:08d}", "reads": n % 7}}
            for n in range(start, min(start + BULK_CHUNK, offset + count))
        ]
        post(client, f"/api/v2/work/pipelines/{pipeline}/{PIPELINE_VERSION}/items/bulk", {"items": items}, token)
    return time.perf_counter() - began


class ClaimTally:
    """What one claimer saw: claimed ids, requests, failures, latencies, items claimed inside the window.

    Shared by the process claimer and the asyncio claimer so both count a response the same way.
    """

    def __init__(self, holder: str, deadline: float):
        self.holder = holder
        self.deadline = deadline
        self.claimed: list[int] = []
        self.requests = 0
        self.failures = 0
        self.latencies: list[float] = []
        self.in_window = 0

    def failed_request(self) -> None:
        self.requests += 1
        self.failures += 1

    def record(self, response: httpx.Response, began: float) -> bool:
        """Count one answered claim; return False when the pipeline has no pending work left."""
        self.requests += 1
        self.latencies.append(time.perf_counter() - began)
        if response.status_code != 200:
            self.failures += 1
            return True
        items = response.json()["items"]
        if not items:
            return False
        self.claimed.extend(item["id"] for item in items)
        if time.perf_counter() <= self.deadline:
            self.in_window += len(items)
        return True

    def result(self) -> tuple[str, list[int], int, int, list[float], float, int]:
        return (
            self.holder,
            self.claimed,
            self.requests,
            self.failures,
            self.latencies,
            time.perf_counter(),
            self.in_window,
        )


def claimer(base_url: str, token: str, pipeline: str, holder: str, batch: int, seconds: float, start, results) -> None:
    path = f"/api/v2/work/pipelines/{pipeline}/{PIPELINE_VERSION}/claim"
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        start.wait()
        tally = ClaimTally(holder, time.perf_counter() + seconds)
        while time.perf_counter() < tally.deadline:
            began = time.perf_counter()
            try:
                response = client.post(path, json={"holder": holder, "limit": batch})
            except httpx.HTTPError:
                tally.failed_request()
                continue
            if not tally.record(response, began):
                break
    results.put(tally.result())


async def async_claimer(
    client: httpx.AsyncClient, pipeline: str, holder: str, batch: int, deadline: float
) -> tuple[str, list[int], int, int, list[float], float, int]:
    """The same loop as :func:`claimer`, as an asyncio task with its own client (one connection)."""
    path = f"/api/v2/work/pipelines/{pipeline}/{PIPELINE_VERSION}/claim"
    tally = ClaimTally(holder, deadline)
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        try:
            response = await client.post(path, json={"holder": holder, "limit": batch})
        except httpx.HTTPError:
            tally.failed_request()
            continue
        if not tally.record(response, began):
            break
    return tally.result()


def run_level(
    base_url: str, token: str, pipeline: str, claimers: int, batch: int, seconds: float, client_mode: str = "async"
) -> dict:
    if client_mode == "async":

        async def all_claimers() -> tuple[float, list]:
            # Clients are made before the clock starts: making one (its SSL context) costs
            # milliseconds of CPU that would otherwise be charged to the levels with more claimers.
            limits = httpx.Limits(max_connections=1)
            headers = {"Authorization": f"Bearer {token}"}
            clients = [
                httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60, limits=limits)
                for _ in range(claimers)
            ]
            try:
                began = time.perf_counter()
                deadline = began + seconds
                rows = await asyncio.gather(
                    *(
                        async_claimer(client, pipeline, f"{pipeline}-c{n}", batch, deadline)
                        for n, client in enumerate(clients)
                    )
                )
            finally:
                for client in clients:
                    await client.aclose()
            return began, rows

        began, rows = asyncio.run(all_claimers())
        return level_result(claimers, rows, began, seconds)
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(claimers + 1), ctx.Queue()
    processes = [
        ctx.Process(
            target=claimer, args=(base_url, token, pipeline, f"{pipeline}-c{n}", batch, seconds, start, results)
        )
        for n in range(claimers)
    ]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    rows = [results.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return level_result(claimers, rows, began, seconds)


def level_result(claimers: int, rows: list, began: float, seconds: float) -> dict:
    elapsed = max(row[5] for row in rows) - began
    ids = [item_id for row in rows for item_id in row[1]]
    latencies = sorted(latency for row in rows for latency in row[4])
    return {
        "claimers": claimers,
        "requests": sum(row[2] for row in rows),
        "failed": sum(row[3] for row in rows),
        "claimed": len(ids),
        "distinct": len(set(ids)),
        "seconds": elapsed,
        "in_window": sum(row[6] for row in rows),
        # Fixed window: items whose claim completed within the budget, over the budget (or over the
        # time to exhaustion), so the tail latency of the last in-flight request is not counted.
        "window": min(elapsed, seconds),
        "claims_per_s": sum(row[6] for row in rows) / min(elapsed, seconds),
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000 if latencies else 0.0,
    }


def summarise(rows: list[dict]) -> dict:
    """One level over all rounds: totals; claims/s over all rounds' windows; the median round's latencies."""
    median = sorted(rows, key=lambda row: row["claims_per_s"])[len(rows) // 2]
    return {
        **median,
        "claims_per_s": sum(row["in_window"] for row in rows) / sum(row["window"] for row in rows),
        "requests": sum(row["requests"] for row in rows),
        "failed": sum(row["failed"] for row in rows),
        "claimed": sum(row["claimed"] for row in rows),
        "distinct": sum(row["distinct"] for row in rows),
        "seconds": sum(row["seconds"] for row in rows),
        "all_rates": [row["claims_per_s"] for row in rows],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--seconds", type=float, default=3.0, help="time budget per level and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over all levels (median reported)")
    parser.add_argument("--batch", type=int, default=10, help="items per claim request")
    parser.add_argument("--items-per-level", type=int, default=60_000)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)), help="claimer counts; must include 4")
    parser.add_argument(
        "--client",
        choices=["async", "processes"],
        default="async",
        help="claimers as asyncio tasks in this process (each its own connection; least client overhead "
        "on a small machine) or as one process each",
    )
    args = parser.parse_args()

    levels = tuple(int(level) for level in args.levels.split(","))
    if 4 not in levels:
        parser.error("--levels must include 4 (the reference)")
    base = os.environ.get("EMG_DATABASE__URL", "postgresql://postgres@127.0.0.1:5432/emg_ledger")
    url, maintenance_url, name = bench_database_url(base)
    env = {**os.environ, "EMG_DATABASE__URL": url, "EMG_DEBUG": "false", "DJANGO_SETTINGS_MODULE": "emgapiv2.settings"}
    print(
        f"database {name}; gunicorn -w {args.workers}; {os.cpu_count()} CPUs; claim batch {args.batch}; "
        f"claimers: {args.client}",
        flush=True,
    )
    print(f"load average (1/5/15 min) at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    recreate_database(maintenance_url, name)
    manage(env, "migrate", "--skip-checks", "-v", "0")
    admin_token = manage(env, "create_ledger_token", "bench-admin", "--role", "admin").splitlines()[-1]
    port = free_port()
    server = start_gunicorn(env, port, args.workers)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url) as client:
            pipelines = ["bench-register", *[f"bench-c{level}" for level in levels]]
            tokens = {}
            for pipeline in pipelines:
                post(client, "/api/v2/work/pipelines", {"name": pipeline, "version": PIPELINE_VERSION}, admin_token)
                body = {"name": pipeline, "role": "pipeline", "pipeline_name": pipeline, "pipeline_version": "1.0"}
                tokens[pipeline] = post(client, "/api/v2/work/tokens", body, admin_token)["token"]

            first = register(client, tokens["bench-register"], "bench-register", REGISTER_ITEMS)
            again = register(client, tokens["bench-register"], "bench-register", REGISTER_ITEMS)
            print(f"\nbulk registration of {REGISTER_ITEMS:,} items in one request")
            print(f"  new:      {first:6.2f} s  {REGISTER_ITEMS / first:10,.0f} registrations/s")
            print(f"  existing: {again:6.2f} s  {REGISTER_ITEMS / again:10,.0f} registrations/s (idempotent, 200)")

            for level in levels:
                register(client, tokens[f"bench-c{level}"], f"bench-c{level}", args.items_per_level)

        # Levels are interleaved over several rounds and each level's median round is reported, so
        # noise from other work on the machine spreads over all levels instead of hitting one.
        rounds: dict[int, list[dict]] = {level: [] for level in levels}
        for round_number in range(args.rounds):
            for level in levels if round_number % 2 == 0 else reversed(levels):
                pipeline = f"bench-c{level}"
                rounds[level].append(
                    run_level(base_url, tokens[pipeline], pipeline, level, args.batch, args.seconds, args.client)
                )
        results = [summarise(rounds[level]) for level in levels]
    finally:
        server.terminate()
        server.wait(timeout=30)

    with psycopg.connect(url) as conn:
        db_claimed, max_attempts, claim_events = conn.execute(
            "SELECT count(*) FILTER (WHERE state = 'claimed'), coalesce(max(attempts), 0), "
            "(SELECT count(*) FROM workflows_workevent WHERE to_state = 'claimed') FROM workflows_workitem"
        ).fetchone()
    if not args.keep_db:
        drop_database(maintenance_url, name)

    reference = next(row["claims_per_s"] for row in results if row["claimers"] == 4)
    reference_rates = next(row["all_rates"] for row in results if row["claimers"] == 4)
    print(
        f"\nclaims over HTTP ({args.rounds} rounds x {args.seconds:g} s per level, {args.batch} items per request; "
        "claims/s over all rounds' windows, latencies of the median round;\n 'vs 4' = claims/s over the 4-claimer "
        "figure; 'paired' = median over rounds of the ratio to the 4-claimer run of the same round)"
    )
    header = f"{'claimers':>8} {'requests':>9} {'failed':>7} {'claimed':>8} {'seconds':>8} {'claims/s':>9} "
    header += f"{'p50 ms':>7} {'p95 ms':>7} {'vs 4':>6} {'paired':>6}"
    print(header)
    print("-" * len(header))
    for row in results:
        ratio = row["claims_per_s"] / reference
        paired = statistics.median(rate / base for rate, base in zip(row["all_rates"], reference_rates, strict=True))
        cells = f"{row['claimers']:>8} {row['requests']:>9,} {row['failed']:>7} {row['claimed']:>8,} "
        cells += f"{row['seconds']:>8.2f} {row['claims_per_s']:>9,.0f} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f}"
        rates = "/".join(f"{rate:,.0f}" for rate in row["all_rates"])
        print(f"{cells} {ratio:>6.2f} {paired:>6.2f}   rounds: {rates}")
    total = sum(row["claimed"] for row in results)
    duplicates = sum(row["claimed"] - row["distinct"] for row in results)
    print(
        f"\ndatabase check: {db_claimed:,} items claimed (clients saw {total:,}), duplicates across clients: "
        f"{duplicates}, max attempts {max_attempts}, claim events {claim_events:,}"
    )
    ok = (
        duplicates == 0
        and db_claimed == total == claim_events
        and max_attempts <= 1
        and all(row["failed"] == 0 for row in results if row["claimers"] >= 8)
        and all(row["claims_per_s"] >= reference for row in results if row["claimers"] >= 8)
    )
    print(f"load average (1/5/15 min) at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        "verdict:",
        "PASS" if ok else "FAIL",
        "(no duplicates, none lost, 0 failures and >= 4-claimer throughput at 8/16)",
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
