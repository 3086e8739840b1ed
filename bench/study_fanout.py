"""Study-sized fan-out of analyse-study: a 1,000-run study launched at once and followed with batched polls.

Starts what it needs: the local ENA mirror on a free port serving ``PRJEB90010`` with N runs of tiny
real FASTQ pairs, Prefect's test harness (a temporary Prefect server), and the real 3-node Slurm
cluster. It calls the ``analyse-study`` flow **directly** in this process (not through the API and a
worker: a worker would only add its ~3 s flow-run start), with a pipeline whose one step sleeps
(``tests/flows/fanout_pipeline.py``): the bundled pipeline would take hours for 1,000 runs on the
dev cluster's 2 shared cores, and what is measured here is the platform's part (claiming,
fetching reads, submitting, following), which does not depend on what the head job runs.

It measures:

* the time from the flow's start to every head job submitted (a launch record written after
  ``sbatch`` answered), and the fan-out task's own figure (claim to last submission);
* database queries per analysis (every connection of the process, by thread kind) and Prefect task
  runs per analysis;
* the process' peak RSS (this process is the worker's flow-run process);
* the cost of one poll cycle over 10, 100 and 1,000 of the launched pipelines: batched
  (``Launcher.poll_many``, as the flow does) against one ``poll`` per analysis (as before), in time
  and Slurm backend calls (the real backend, wrapped to count).

Then it cancels every head job (``scancel``) at once, lets the flow conclude them, and cleans up.
The database named by ``EMG_DATABASE__URL`` is dropped and made anew.

With ``--via-api`` it goes the real way instead (issue 16: the time from the API POST to every head
job submitted): a fresh ``fanoutapi*`` database, a Prefect server (SQLite, own PREFECT_HOME and port),
the ``analyse-study`` deployment in the ``slurm`` pool, one process worker, the API under gunicorn on
its own port, all started with the end-to-end tests' helpers (``LocalPrefect``). A superuser's
``launch`` token POSTs ``/api/v2/private/studies/PRJEB90010/analyse``; the worker's environment makes
the waiting pipeline the default (``EMG_PIPELINES__BUNDLED_PIPELINE_*`` and
``bench/fanout_wait_registered.py`` in ``EMG_PIPELINES__MODULES``), since the POST names no pipeline.
It reports POST -> flow run start (Prefect's ``start_time``) -> first and all head jobs submitted
(launch records, and ``squeue`` submit times), ``pg_stat_database`` deltas (the flow runs in another
process, so statements cannot be counted per connection), the flow run's task runs, and the peak RSS
of the processes under the worker (sampled with psutil). Then it cancels the flow run and every job,
stops everything and drops the database.

Run: ``EMG_DATABASE__URL=postgresql://postgres@127.0.0.1:5432/fanout SLURM_CONF=... .venv/bin/python
bench/study_fanout.py [--runs 1000] [--via-api]`` (``--via-api`` wants a database named ``fanoutapi*``)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import httpx
import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.ena_mirror.fanout_study import FANOUT_STUDY_ACCESSION, fanout_study_record  # noqa: E402
from devtools.ena_mirror.server import run_mirror_in_thread  # noqa: E402
from emgapiv2.database import parse_database_url  # noqa: E402
from workflows.prefect_utils.local_server import LocalPrefect, free_port, kill_process_tree  # noqa: E402


def recreate_database(url: str) -> None:
    settings = parse_database_url(url)
    admin = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {settings['NAME']} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {settings['NAME']}")


class QueryCounter:
    """Counts every SQL statement of every connection of this process, by the kind of thread that ran it."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        name = threading.current_thread().name
        kind = "launch pool" if name.startswith("fanout-") else "lease keeper" if name.startswith("leases-") else "flow"
        with self._lock:
            self.counts[kind] += 1
        return execute(sql, params, many, context)


class CountingBackend:
    """The real Slurm command-line backend, its calls counted."""

    def __init__(self) -> None:
        from workflows.slurm.cli import CliBackend

        self.real = CliBackend()
        self.calls = 0

    def submit(self, spec, array=None):
        self.calls += 1
        return self.real.submit(spec, array)

    def query(self, job_ids: Sequence[str]):
        self.calls += 1
        return self.real.query(job_ids)

    def cancel(self, job_ids: Sequence[str]) -> None:
        self.calls += 1
        return self.real.cancel(job_ids)

    def active_jobs(self):
        self.calls += 1
        return self.real.active_jobs()


def launched_handles(work_root: Path) -> list[Path]:
    return sorted(work_root.glob("*/pipeline/launch.json"))


def poll_costs(pipeline, handles, sizes: Sequence[int], legacy_max: int) -> list[tuple[int, str, float, int]]:
    """(analyses, way, median seconds per cycle, Slurm calls per cycle) for batched and one-by-one polls."""
    from workflows.pipelines import launcher_for
    from workflows.slurm import SlurmClient

    rows = []
    for size in sizes:
        subset = handles[:size]
        backend = CountingBackend()
        launcher = launcher_for(pipeline, slurm=SlurmClient(backend=backend))
        times = []
        for _ in range(3):
            began = time.perf_counter()
            launcher.poll_many(subset)
            times.append(time.perf_counter() - began)
        rows.append((len(subset), "batched (poll_many)", statistics.median(times), backend.calls // 3))
        if size <= legacy_max:
            backend = CountingBackend()
            launcher = launcher_for(pipeline, slurm=SlurmClient(backend=backend))
            began = time.perf_counter()
            for handle in subset:
                launcher.poll(handle)
            rows.append((len(subset), "one poll per analysis", time.perf_counter() - began, backend.calls))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--legacy-max", type=int, default=100, help="largest size polled one analysis at a time")
    parser.add_argument("--submit-timeout", type=float, default=300)
    parser.add_argument(
        "--via-api",
        action="store_true",
        help="POST to the API (gunicorn) and let a Prefect worker run the flow, instead of calling it here",
    )
    args = parser.parse_args()
    if args.via_api:
        return run_via_api(args)

    database_url = os.environ.get("EMG_DATABASE__URL", "postgresql://postgres@127.0.0.1:5432/fanout")
    recreate_database(database_url)
    scratch = Path(tempfile.mkdtemp(prefix="study-fanout-"))
    mirror_dir = scratch / "mirror"
    record = fanout_study_record(mirror_dir, args.runs)
    mirror = run_mirror_in_thread(mirror_dir, generate=False, studies=[record], port=free_port())
    work_root = scratch / "work"
    os.environ.update(
        {
            "EMG_DATABASE__URL": database_url,
            "EMG_ENA__PORTAL_API_URL": mirror.portal_api_url,
            "EMG_ENA__FASTQ_URL_SCHEME": "http",
            "EMG_ENA__REQUESTS_PER_SECOND": "1000",
            "EMG_STORAGE__WORK_ROOT": str(work_root),
            "EMG_STORAGE__RESULTS_ROOT": str(scratch / "results"),
            "EMG_STORAGE__EXPORTS_ROOT": str(scratch / "exports"),
            "EMG_PIPELINES__LEASE_SECONDS": "120",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
    )
    os.environ.setdefault("EMG_WEBIN__AUTH_URL", "http://127.0.0.1:9/none")
    from django.core.management import call_command
    from django.db.backends.signals import connection_created
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.testing.utilities import prefect_test_harness

    from workflows.django_activation import EMG_CONFIG  # noqa: F401  (Django set up with the above)

    from tests.flows.fanout_pipeline import NAME, VERSION, pipeline_with
    from workflows.flows.analyse_study import analyse_study
    from workflows.pipelines import get_pipeline, launcher_for
    from workflows.pipelines.launchers.records import read_launch_record
    from workflows.pipelines.workarea import WorkArea
    from workflows.slurm import SlurmClient

    call_command("migrate", verbosity=0)
    counter = QueryCounter()
    connection_created.connect(lambda sender, connection, **_: connection.execute_wrappers.append(counter), weak=False)
    from django.db import connections

    connections.close_all()  # the next connections carry the counter
    pipeline_with(seconds=900.0)  # head jobs that only wait: cancelled below
    pipeline = get_pipeline(NAME, VERSION)
    head_ids: list[str] = []
    result: dict = {}
    try:
        with prefect_test_harness(server_startup_timeout=240):

            def run_flow() -> None:
                try:
                    result["state"] = analyse_study(
                        FANOUT_STUDY_ACCESSION, pipeline_name=NAME, pipeline_version=VERSION, return_state=True
                    )
                finally:
                    connections.close_all()

            flow_thread = threading.Thread(target=run_flow, name="flow")
            started = time.monotonic()
            flow_thread.start()
            first_at = all_at = None
            while time.monotonic() - started < args.submit_timeout:
                launched = len(launched_handles(work_root))
                if launched and first_at is None:
                    first_at = time.monotonic() - started
                if launched >= args.runs:
                    all_at = time.monotonic() - started
                    break
                if not flow_thread.is_alive():
                    break
                time.sleep(0.2)
            records = [read_launch_record(WorkArea(root=path.parent.parent)) for path in launched_handles(work_root)]
            head_ids = [record.attempts[-1].head_job_id for record in records if record and record.attempts]
            launcher = launcher_for(pipeline)
            launcher_handles = [
                handle
                for path in launched_handles(work_root)
                if (handle := launcher.last_launch(WorkArea(root=path.parent.parent))) is not None
            ]
            time.sleep(3)  # a few of the flow's own batched polls
            sizes = [n for n in (10, 100, 1000) if n <= len(launcher_handles)]
            costs = poll_costs(pipeline, launcher_handles, sizes, args.legacy_max)
            cancel_began = time.monotonic()
            SlurmClient().cancel(head_ids)
            flow_thread.join(timeout=900)
            concluded_after = time.monotonic() - cancel_began
            state = result.get("state")
            summary = state.result() if state is not None else None

            async def task_runs() -> int:
                async with get_client() as client:
                    runs = await client.read_task_runs(
                        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
                    )
                    return len(runs)

            import asyncio

            n_task_runs = asyncio.run(task_runs()) if state is not None else -1
    finally:
        if head_ids:
            SlurmClient().cancel(head_ids)
        mirror.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    runs = args.runs
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()
    print(f"\nstudy fan-out: {runs} runs, pipeline {NAME} (its step sleeps; cancelled after measuring)")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; flow called directly under prefect_test_harness")
    print(f"{'measure':58} {'value':>14}")
    rows = [
        ("flow start -> first head job submitted (s)", f"{first_at:.1f}" if first_at else "-"),
        (f"flow start -> all {runs} head jobs submitted (s)", f"{all_at:.1f}" if all_at else "not all"),
        ("head jobs submitted", str(len(head_ids))),
        ("cancel all -> flow ended (s)", f"{concluded_after:.1f}"),
        ("summary: completed / failed / skipped", _summary(summary)),
        ("database queries, whole flow (per analysis)", f"{sum(counter.counts.values()) / runs:.1f}"),
        *[(f"  of which {kind} (per analysis)", f"{n / runs:.2f}") for kind, n in sorted(counter.counts.items())],
        ("Prefect task runs (per analysis)", f"{n_task_runs} ({n_task_runs / runs:.4f})"),
        ("peak RSS of the flow-run process (MB)", f"{peak_rss_mb:.0f}"),
    ]
    for name, value in rows:
        print(f"{name:58} {value:>14}")
    print(f"\n{'poll cycle over':>16} {'way':24} {'seconds':>9} {'Slurm calls':>12}")
    for size, way, seconds, calls in costs:
        print(f"{size:>16} {way:24} {seconds:>9.3f} {calls:>12}")
    return 0 if all_at else 1


def _summary(summary) -> str:
    if summary is None:
        return "-"
    return f"{len(summary.completed)} / {len(summary.failed)} / {len(summary.skipped)}"


# --- through the API (issue 16): POST -> flow run on a worker -> head jobs on Slurm ------------------

#: Database names this mode may create and drop (shared Postgres: never anyone else's).
VIA_API_DATABASE_PREFIX = "fanoutapi"
#: ``pg_stat_database`` counters read before the POST and once every head job is submitted.
DB_COUNTERS = ("xact_commit", "tup_returned", "tup_fetched", "tup_inserted", "tup_updated", "tup_deleted")


def database_counters(url: str) -> dict[str, int]:
    """The database's cumulative activity counters, read from the ``postgres`` database.

    Read over a connection to another database so that reading them does not move them. There is
    no ``pg_stat_statements`` here and the flow runs in the worker's own process, so per-connection
    query counting (the in-process mode's) cannot see it: transactions and tuples are the proxy.
    """
    settings = parse_database_url(url)
    admin = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute("SELECT pg_stat_clear_snapshot()")
        row = connection.execute(
            f"SELECT {', '.join(DB_COUNTERS)} FROM pg_stat_database WHERE datname = %s", (settings["NAME"],)
        ).fetchone()
    return dict(zip(DB_COUNTERS, row, strict=True))


def drop_database(url: str) -> None:
    settings = parse_database_url(url)
    admin = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {settings['NAME']} WITH (FORCE)")


def slurm_jobs_under(work_root: Path) -> list[tuple[str, datetime]]:
    """(job id, submit time) of the queued or running Slurm jobs whose working directory is under ``work_root``.

    Submit times come from ``squeue`` (whole seconds, the controller's clock: this machine's).
    """
    out = subprocess.run(
        ["squeue", "-h", "-a", "-o", "%i|%V|%Z"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    jobs = []
    for line in out.splitlines():
        job_id, submitted, work_dir = line.split("|", 2)
        if work_dir.startswith(str(work_root)):
            jobs.append((job_id, datetime.fromisoformat(submitted).astimezone()))
    return jobs


def cancel_jobs(job_ids: Sequence[str]) -> None:
    """``scancel`` in chunks (one command line for 1,000 ids is fine, but keep it bounded)."""
    ids = list(job_ids)
    for start in range(0, len(ids), 200):
        subprocess.run(["scancel", *ids[start : start + 200]], capture_output=True, timeout=60)


class TreeRss:
    """Peak resident memory below a process (the worker): its flow-run process and what that starts.

    Sampled, so a peak shorter than the sampling interval can be missed; the worker itself is left out.
    """

    def __init__(self, root_pid: int) -> None:
        self.root = psutil.Process(root_pid)
        self.peak_tree = 0
        self.peak_single = 0
        self.seen: set[int] = set()

    def sample(self) -> None:
        total = 0
        for child in self.root.children(recursive=True):
            try:
                rss = child.memory_info().rss
            except psutil.Error:
                continue
            self.seen.add(child.pid)
            total += rss
            self.peak_single = max(self.peak_single, rss)
        self.peak_tree = max(self.peak_tree, total)


def run_via_api(args: argparse.Namespace) -> int:
    """Measure the fan-out the real way: API POST, Prefect server, worker, flow-run process, Slurm.

    Everything started here is a child process on a free port (or a thread: the mirror), stopped and
    its Slurm jobs cancelled in ``finally`` whatever happens; the database is dropped at the end.
    """
    database_url = os.environ.get(
        "EMG_DATABASE__URL", f"postgresql://postgres@127.0.0.1:5432/{VIA_API_DATABASE_PREFIX}"
    )
    if not parse_database_url(database_url)["NAME"].startswith(VIA_API_DATABASE_PREFIX):
        raise SystemExit(f"--via-api creates and drops its database: give one named {VIA_API_DATABASE_PREFIX}*")
    recreate_database(database_url)
    scratch = Path(tempfile.mkdtemp(prefix="study-fanout-api-"))
    mirror_dir = scratch / "mirror"
    work_root = scratch / "work"
    record = fanout_study_record(mirror_dir, args.runs)
    mirror = run_mirror_in_thread(mirror_dir, generate=False, studies=[record], port=free_port())

    from tests.flows.fanout_pipeline import NAME, VERSION

    platform = {
        "DJANGO_SETTINGS_MODULE": "emgapiv2.settings",
        "EMG_DATABASE__URL": database_url,
        "EMG_ENA__PORTAL_API_URL": mirror.portal_api_url,
        "EMG_ENA__FASTQ_URL_SCHEME": "http",
        "EMG_ENA__REQUESTS_PER_SECOND": "1000",
        "EMG_STORAGE__WORK_ROOT": str(work_root),
        "EMG_STORAGE__RESULTS_ROOT": str(scratch / "results"),
        "EMG_STORAGE__EXPORTS_ROOT": str(scratch / "exports"),
        "EMG_PIPELINES__LEASE_SECONDS": "120",
        "EMG_WEBIN__AUTH_URL": os.environ.get("EMG_WEBIN__AUTH_URL", "http://127.0.0.1:9/none"),
        "SLURM_CONF": os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"),
        # The flow runs the configured default pipeline (the POST names none): the waiting one here.
        "EMG_PIPELINES__BUNDLED_PIPELINE_NAME": NAME,
        "EMG_PIPELINES__BUNDLED_PIPELINE_VERSION": VERSION,
        "EMG_PIPELINES__MODULES": json.dumps(["bench.fanout_wait_registered"]),
        "EMG_BENCH_FANOUT_SECONDS": "900",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    os.environ.update(platform)
    from django.core.management import call_command
    from django.db import connections
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.states import Cancelling

    from workflows.django_activation import EMG_CONFIG  # noqa: F401  (Django set up with the above)

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from accounts.models import TokenScope
    from accounts.tokens import issue_user_token

    admin = get_user_model().objects.create_superuser("bench-admin", "bench@example.org", None)
    token = issue_user_token(user=admin, name="study-fanout bench", scopes=[TokenScope.LAUNCH]).plaintext
    connections.close_all()  # this process stays off the database while the fan-out is measured

    prefect = LocalPrefect(home=scratch / "prefect", port=free_port())
    api_port = free_port()
    api = f"http://127.0.0.1:{api_port}"
    flow_run_id: str | None = None
    seen_jobs: set[str] = set()
    worker_descendants: list[int] = []
    timings: dict[str, float | None] = {}
    measures: dict[str, object] = {}
    try:
        setup_began = time.monotonic()
        prefect.start_server(timeout=240)
        prefect.deploy("analyse_study", extra_env=platform)
        worker = prefect.start_worker(extra_env=platform)
        prefect._spawn(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "-c",
                "python:emgapiv2.gunicorn_conf",
                "emgapiv2.wsgi",
                "-b",
                f"127.0.0.1:{api_port}",
                "-w",
                "2",
                "--timeout",
                "120",
                "--control-socket",
                str(scratch / "gunicorn.ctl"),
            ],
            "api.log",
            prefect.env(platform),
        )
        wait_http(f"{api}/api/v2/openapi.json", 120, "API")
        measures["setup"] = time.monotonic() - setup_began
        rss = TreeRss(worker.pid)
        before = database_counters(database_url)

        posted_at = datetime.now().astimezone()
        posted = time.monotonic()
        response = httpx.post(
            f"{api}/api/v2/private/studies/{FANOUT_STUDY_ACCESSION}/analyse",
            json={"sample_limit": args.runs},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        timings["POST answered"] = time.monotonic() - posted
        if response.status_code != 202:
            raise RuntimeError(f"POST answered {response.status_code}: {response.text[:2000]}")
        flow_run_id = response.json()["flow_run_id"]

        first_at = all_at = None
        while time.monotonic() - posted < args.submit_timeout:
            rss.sample()
            launched = len(launched_handles(work_root))
            if launched and first_at is None:
                first_at = time.monotonic() - posted
            if launched >= args.runs:
                all_at = time.monotonic() - posted
                break
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited: {(prefect.home / 'worker.log').read_text()[-2000:]}")
            time.sleep(0.2)
        timings["first launch record"] = first_at
        timings["all launch records"] = all_at
        time.sleep(2)  # Postgres publishes a backend's statistics at most once a second
        rss.sample()
        after = database_counters(database_url)
        measures["db"] = {name: after[name] - before[name] for name in DB_COUNTERS}
        jobs = slurm_jobs_under(work_root)
        seen_jobs.update(job_id for job_id, _ in jobs)
        if jobs:
            submits = sorted(submitted for _, submitted in jobs)
            timings["first sbatch (squeue)"] = (submits[0] - posted_at).total_seconds()
            timings["last sbatch (squeue)"] = (submits[-1] - posted_at).total_seconds()
        measures["jobs"] = len(jobs)
        measures["rss"] = (rss.peak_single, rss.peak_tree)
        with SyncPrefectClient(api=prefect.api_url) as client:
            flow_run = client.read_flow_run(flow_run_id)
            if flow_run.start_time is not None:
                timings["flow run started (Prefect)"] = (flow_run.start_time - posted_at).total_seconds()
            measures["task runs"] = len(
                client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
            )
            measures["flow state"] = flow_run.state.name if flow_run.state else "-"
            # Stop the flow first (no more submissions), then every head job it submitted.
            client.set_flow_run_state(flow_run.id, Cancelling(), force=True)
            flow_run_id = None
        cancel_jobs(sorted(seen_jobs))
    finally:
        if flow_run_id is not None:
            with contextlib.suppress(Exception), SyncPrefectClient(api=prefect.api_url) as client:
                client.set_flow_run_state(flow_run_id, Cancelling(), force=True)
        with contextlib.suppress(Exception):
            seen_jobs.update(job_id for job_id, _ in slurm_jobs_under(work_root))
        cancel_jobs(sorted(seen_jobs))
        with contextlib.suppress(Exception):
            worker_descendants += [p.pid for w in prefect.processes for p in psutil.Process(w.pid).children(True)]
        prefect.stop()
        for pid in set(worker_descendants):  # flow-run processes live in sessions of their own
            with contextlib.suppress(psutil.Error):
                kill_process_tree(pid)
        with contextlib.suppress(Exception):  # jobs submitted while the flow was being stopped
            cancel_jobs([job_id for job_id, _ in slurm_jobs_under(work_root)])
        mirror.stop()
        connections.close_all()
        drop_database(database_url)
        shutil.rmtree(scratch, ignore_errors=True)

    runs = args.runs
    load = os.getloadavg()
    db = measures["db"]
    peak_single, peak_tree = measures["rss"]
    n_task_runs = measures["task runs"]

    def seconds(name: str) -> str:
        value = timings.get(name)
        return "-" if value is None else f"{value:.1f}"

    print(f"\nstudy fan-out through the API: {runs} runs, pipeline {NAME} (its step sleeps; cancelled after measuring)")
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; Prefect server, 1 process worker,"
        f" gunicorn (2 workers) started in {measures['setup']:.1f} s"
    )
    print(f"{'measure (times from the POST being sent)':58} {'value':>14}")
    rows = [
        ("POST answered 202 (s)", f"{timings['POST answered']:.2f}"),
        ("flow run started (Prefect start_time) (s)", seconds("flow run started (Prefect)")),
        ("first head job submitted: launch record (s)", seconds("first launch record")),
        ("first head job submitted: squeue submit time (s)", seconds("first sbatch (squeue)")),
        (
            f"all {runs} head jobs submitted: launch records (s)",
            seconds("all launch records") if timings.get("all launch records") else "not all",
        ),
        (f"all {runs} head jobs submitted: squeue submit time (s)", seconds("last sbatch (squeue)")),
        ("head jobs in squeue", str(measures["jobs"])),
        ("flow run state when measured", str(measures["flow state"])),
        ("DB transactions committed (per analysis)", f"{db['xact_commit']} ({db['xact_commit'] / runs:.1f})"),
        (
            "DB rows inserted+updated+deleted (per analysis)",
            _per(db["tup_inserted"] + db["tup_updated"] + db["tup_deleted"], runs),
        ),
        ("DB rows returned+fetched (per analysis)", _per(db["tup_returned"] + db["tup_fetched"], runs)),
        ("Prefect task runs of the flow run (per analysis)", f"{n_task_runs} ({n_task_runs / runs:.4f})"),
        ("peak RSS, largest process under the worker (MB)", f"{peak_single / 2**20:.0f}"),
        ("peak RSS, all processes under the worker (MB)", f"{peak_tree / 2**20:.0f}"),
    ]
    for name, value in rows:
        print(f"{name:58} {value:>14}")
    print(
        "DB counters are pg_stat_database deltas of the whole database (API, worker's flow run, lease keeper)"
        " from the POST to all submitted, not per-statement counts."
    )
    return 0 if timings.get("all launch records") else 1


def _per(total: int, runs: int) -> str:
    return f"{total} ({total / runs:.1f})"


def wait_http(url: str, timeout: float, what: str) -> None:
    """Wait until ``url`` answers 200 (as ``scripts/wait-http.sh`` does for ``task run``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not answer at {url} in {timeout}s")


if __name__ == "__main__":
    raise SystemExit(main())
