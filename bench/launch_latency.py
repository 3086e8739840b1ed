"""Launch latency and orchestration overhead of analyse-study, on the real stack.

Starts its own database, local ENA mirror, Prefect server, worker and gunicorn API, then POSTs
``/api/v2/private/studies/PRJEB90001/analyse`` and measures:

* API POST -> answer, -> flow run running on the worker, -> first Slurm job seen in the queue;
* per analysis: the pipeline's own run time (its Slurm head job's elapsed time, from sacct)
  against the analysis' wall time in the platform (created -> completed), the difference being
  the orchestration overhead (claiming, fetching reads, launching, polling, parsing, storing).

Run: ``EMG_DATABASE__URL=postgresql://postgres@127.0.0.1:5432/emg .venv/bin/python bench/launch_latency.py``
(the URL names the server; the benchmark makes and drops its own database there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools.ena_mirror.generator import SYNTHETIC_STUDY_ACCESSION
from devtools.ena_mirror.server import run_mirror_in_thread
from emgapiv2.database import parse_database_url
from workflows.prefect_utils.local_server import free_port, local_prefect

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "emg_bench_launch"


def recreate_database(server_url: str) -> str:
    settings = parse_database_url(server_url)
    admin = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {BENCH_DB}")
    return admin.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def drop_database(server_url: str) -> None:
    settings = parse_database_url(server_url)
    admin = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


class QueueWatcher(threading.Thread):
    """Polls squeue every 0.1 s and notes when the first job working under ``work_root`` appears."""

    def __init__(self, work_root: Path):
        super().__init__(daemon=True)
        self.work_root = str(work_root)
        self.first_seen: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and self.first_seen is None:
            out = subprocess.run(["squeue", "-h", "-o", "%i %Z"], capture_output=True, text=True).stdout
            if any(self.work_root in line for line in out.splitlines()):
                self.first_seen = time.monotonic()
            time.sleep(0.1)


def head_job_elapsed_seconds(job_id: str) -> float:
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-j", job_id, "-o", "ElapsedRaw"], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]) if out else float("nan")


def main() -> int:
    server_url = os.environ.get("EMG_DATABASE__URL", "postgresql://postgres@127.0.0.1:5432/emg")
    database_url = recreate_database(server_url)
    scratch = Path(tempfile.mkdtemp(prefix="emg-bench-launch-"))
    mirror = run_mirror_in_thread()
    api_port = free_port()
    env = {
        **os.environ,
        "EMG_DATABASE__URL": database_url,
        "EMG_ENA__PORTAL_API_URL": mirror.portal_api_url,
        "EMG_ENA__FASTQ_URL_SCHEME": "http",
        "EMG_STORAGE__WORK_ROOT": str(scratch / "work"),
        "EMG_STORAGE__RESULTS_ROOT": str(scratch / "results"),
        "EMG_STORAGE__EXPORTS_ROOT": str(scratch / "exports"),
        "DJANGO_SETTINGS_MODULE": "emgapiv2.settings",
    }
    gunicorn = None
    try:
        manage(env, "migrate", "--no-input")
        manage({**env, "EMG_DEV_SUPERUSER_PASSWORD": "bench"}, "create_dev_superuser")
        with local_prefect(scratch / "prefect") as prefect:
            prefect.deploy("analyse_study", extra_env=env)
            prefect.start_worker(extra_env=env)
            gunicorn = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("gunicorn")),
                    "emgapiv2.wsgi",
                    "-w",
                    "2",
                    "-b",
                    f"127.0.0.1:{api_port}",
                ],
                cwd=ROOT,
                env=prefect.env(env),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}/api/v2", auth=("admin", "bench"), timeout=30)
            for _ in range(120):
                try:
                    api.get("/openapi.json").raise_for_status()
                    break
                except httpx.HTTPError:
                    time.sleep(0.5)
            time.sleep(3)  # let the worker settle into its polling loop

            watcher = QueueWatcher(scratch / "work")
            watcher.start()
            t0 = time.monotonic()
            response = api.post(f"/private/studies/{SYNTHETIC_STUDY_ACCESSION}/analyse", json={})
            t_answer = time.monotonic()
            response.raise_for_status()
            flow_run_id = response.json()["flow_run_id"]
            t_running = t_done = None
            while True:
                state = api.get(f"/private/flow-runs/{flow_run_id}").json()
                now = time.monotonic()
                if state["state_type"] == "RUNNING" and t_running is None:
                    t_running = now
                if state["state_type"] in {"COMPLETED", "FAILED", "CRASHED"}:
                    t_done = now
                    break
                time.sleep(0.2)
            watcher.stop.set()
            study = api.get(f"/studies/{SYNTHETIC_STUDY_ACCESSION}").json()["accession"]
            analyses = api.get(f"/studies/{study}/analyses").json()["items"]

            print("\nLaunch latency (one POST, analyse-study on a real Prefect server + process worker + Slurm)")
            print(f"{'from API POST to':<40}{'seconds':>10}")
            print(f"{'  the API answer (flow run created)':<40}{t_answer - t0:>10.2f}")
            print(f"{'  the flow run running on the worker':<40}{(t_running or t_done) - t0:>10.2f}")
            first = watcher.first_seen
            print(f"{'  the first Slurm job in the queue':<40}{(first - t0) if first else float('nan'):>10.2f}")
            print(f"{'  the flow run completed':<40}{t_done - t0:>10.2f}   ({state['state_name']})")

            print("\nPer-analysis orchestration overhead against the pipeline's own run time")
            header = (
                f"{'analysis':<14}{'run':<12}{'state':<11}{'pipeline s':>11}{'wall s':>9}{'overhead s':>12}{'ratio':>8}"
            )
            print(header)
            total_pipeline = total_wall = 0.0
            for item in sorted(analyses, key=lambda a: a["accession"]):
                detail = api.get(f"/analyses/{item['accession']}").json()
                status = detail["status"]
                if item["state"] != "completed":
                    message = (status.get("analysis_failed") or {}).get("message") or ""
                    print(f"{item['accession']:<14}{item['run_accession']:<12}{item['state']:<11}  {message[:70]}")
                    continue
                created = datetime.fromisoformat(status["analysis_created"]["at"])
                completed = datetime.fromisoformat(status["analysis_completed"]["at"])
                wall = (completed - created).total_seconds()
                head = next(j for j in detail["provenance"]["slurm_jobs"] if j["step"] == "head")
                pipeline = head_job_elapsed_seconds(head["job_id"])
                total_pipeline += pipeline
                total_wall += wall
                print(
                    f"{item['accession']:<14}{item['run_accession']:<12}{item['state']:<11}{pipeline:>11.1f}"
                    f"{wall:>9.1f}{wall - pipeline:>12.1f}{(wall - pipeline) / pipeline:>8.2f}"
                )
            if total_pipeline:
                overhead = total_wall - total_pipeline
                print(
                    f"{'total':<37}{total_pipeline:>11.1f}{total_wall:>9.1f}{overhead:>12.1f}"
                    f"{overhead / total_pipeline:>8.2f}"
                )
                print("ratio = orchestration overhead / pipeline run time (0 = the platform adds nothing)")
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(10)
        mirror.stop()
        drop_database(server_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
