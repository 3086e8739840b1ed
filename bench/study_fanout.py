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

Run: ``EMG_DATABASE__URL=postgresql://postgres@127.0.0.1:5432/fanout SLURM_CONF=... .venv/bin/python
bench/study_fanout.py [--runs 1000]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.ena_mirror.fanout_study import FANOUT_STUDY_ACCESSION, fanout_study_record  # noqa: E402
from devtools.ena_mirror.server import run_mirror_in_thread  # noqa: E402
from emgapiv2.database import parse_database_url  # noqa: E402
from workflows.prefect_utils.local_server import free_port  # noqa: E402


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
    args = parser.parse_args()

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


if __name__ == "__main__":
    raise SystemExit(main())
