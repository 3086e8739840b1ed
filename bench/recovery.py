"""Recovery from a worker crash: how long until the orphaned pipelines are followed again, and what
adopting them saves against running them again from scratch.

Starts its own database, local ENA mirror, Prefect server and worker, launches analyse-study of the
synthetic study on the real Slurm cluster, and once every pipeline is running with a step done,
SIGKILLs the worker with its flow-run process (a host crash). A new worker starts, the dead holder's
leases lapse, analyse-study is launched again, and the new claims adopt the running head jobs.

Printed per analysis:

* recovery: seconds from the kill to the ``adopted head job`` event (lease lapse + relaunch + adoption);
* Slurm seconds of the pipeline as it ran (every job once) against re-running from scratch, which
  would throw away the work done before the kill and do it again (ratio = adopted / from scratch).

Run: ``EMG_DATABASE__URL=postgresql://postgres@127.0.0.1:5432/emg .venv/bin/python bench/recovery.py
[--runs 2] [--lease-seconds 15]`` with Slurm up (the URL names the server; the benchmark makes and
drops its own database there).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools.ena_mirror.generator import SYNTHETIC_STUDY_ACCESSION
from devtools.ena_mirror.server import run_mirror_in_thread
from emgapiv2.database import parse_database_url
from workflows.prefect_utils.local_server import kill_process_tree, local_prefect

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "emg_bench_recovery"
DEPLOYMENT = "analyse-study/analyse-study"


def server_admin_url(server_url: str) -> str:
    settings = parse_database_url(server_url)
    return f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}/postgres"


def recreate_database(server_url: str) -> str:
    admin = server_admin_url(server_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {BENCH_DB}")
    return admin.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def drop_database(server_url: str) -> None:
    with psycopg.connect(server_admin_url(server_url), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def launch(prefect, runs: int) -> str:
    out = prefect.run_cli(
        "deployment",
        "run",
        DEPLOYMENT,
        "-p",
        f"study_accession={SYNTHETIC_STUDY_ACCESSION}",
        "-p",
        f"sample_limit={runs}",
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return out.stdout


def running_with_a_step_done(db: psycopg.Connection, runs: int) -> bool:
    rows = db.execute(
        "SELECT provenance FROM analyses_analysis WHERE state = 'running' AND provenance IS NOT NULL"
    ).fetchall()
    done = [
        any(job["step"] != "head" and job["state"] == "COMPLETED" for job in (row[0] or {}).get("slurm_jobs", []))
        for row in rows
    ]
    return len(rows) == runs and all(done)


def sacct_jobs(work_root: Path, since: datetime) -> list[tuple[str, str, int, datetime | None, datetime | None, str]]:
    """(job id, name, elapsed seconds, start, end, work dir) of our jobs, each run of a requeued job once."""
    out = subprocess.run(
        [
            "sacct",
            "-X",
            "-n",
            "-P",
            "-a",
            "--duplicates",
            "-S",
            since.strftime("%Y-%m-%dT%H:%M:%S"),
            "-o",
            "JobIDRaw,JobName,ElapsedRaw,Start,End,WorkDir",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    jobs = []
    for line in out.splitlines():
        job_id, name, elapsed, start, end, work_dir = line.split("|")
        if str(work_root) in work_dir:
            parse = lambda value: datetime.fromisoformat(value) if value[:1].isdigit() else None  # noqa: E731
            jobs.append((job_id, name, int(elapsed or 0), parse(start), parse(end), work_dir))
    return jobs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of the synthetic study to analyse")
    parser.add_argument("--lease-seconds", type=int, default=15, help="the work ledger's lease per analysis")
    args = parser.parse_args()

    server_url = os.environ.get("EMG_DATABASE__URL", "postgresql://postgres@127.0.0.1:5432/emg")
    database_url = recreate_database(server_url)
    scratch = Path(tempfile.mkdtemp(prefix="emg-bench-recovery-"))
    work_root = scratch / "work"
    mirror = run_mirror_in_thread()
    env = {
        **os.environ,
        "EMG_DATABASE__URL": database_url,
        "EMG_ENA__PORTAL_API_URL": mirror.portal_api_url,
        "EMG_ENA__FASTQ_URL_SCHEME": "http",
        "EMG_STORAGE__WORK_ROOT": str(work_root),
        "EMG_STORAGE__RESULTS_ROOT": str(scratch / "results"),
        "EMG_STORAGE__EXPORTS_ROOT": str(scratch / "exports"),
        "EMG_PIPELINES__LEASE_SECONDS": str(args.lease_seconds),
        "DJANGO_SETTINGS_MODULE": "emgapiv2.settings",
    }
    since = datetime.now()
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        with local_prefect(scratch / "prefect") as prefect, psycopg.connect(database_url, autocommit=True) as db:
            prefect.deploy("analyse_study", extra_env=env)
            worker = prefect.start_worker(extra_env=env)
            launch(prefect, args.runs)
            deadline = time.monotonic() + 900
            while not running_with_a_step_done(db, args.runs):
                if time.monotonic() > deadline:
                    raise TimeoutError("the pipelines never ran with a step done")
                time.sleep(0.5)

            killed_at = datetime.now().astimezone()
            kill_process_tree(worker.pid)
            worker.wait()
            prefect.start_worker(extra_env=env)
            while db.execute(
                "SELECT count(*) FROM workflows_workitem WHERE state IN ('claimed', 'running') "
                "AND lease_expires_at > now()"
            ).fetchone()[0]:
                time.sleep(0.2)
            lapsed_at = datetime.now().astimezone()
            launch(prefect, args.runs)
            while db.execute("SELECT count(*) FROM workflows_workitem WHERE state = 'done'").fetchone()[0] < args.runs:
                if db.execute("SELECT count(*) FROM workflows_workitem WHERE state = 'failed'").fetchone()[0]:
                    raise RuntimeError("an analysis failed")
                time.sleep(1)

            adopted = dict(
                db.execute(
                    "SELECT i.external_ref, e.at FROM workflows_workevent e"
                    " JOIN workflows_workitem i ON i.id = e.item_id WHERE e.message LIKE 'adopted head job%%'"
                ).fetchall()
            )
            jobs = sacct_jobs(work_root, since)
            print(f"\nRecovery from a worker crash ({args.runs} analyses, lease {args.lease_seconds} s, real Slurm)")
            print(f"lease lapsed {(lapsed_at - killed_at).total_seconds():.1f} s after the kill\n")
            header = (
                f"{'analysis':<14}{'recovery s':>11}{'steps before':>13}{'Slurm s before':>15}"
                f"{'Slurm s adopted':>16}{'from scratch':>13}{'ratio':>7}"
            )
            print(header)
            totals = [0.0, 0.0]
            for accession in sorted(adopted):
                mine = [job for job in jobs if Path(job[5]).name == accession or f"/{accession}/" in job[5]]
                steps_before = [job for job in mine if job[4] is not None and job[4].astimezone() <= killed_at]
                before = sum(job[2] for job in steps_before)
                head = next(job for job in mine if job[1].endswith("-head"))
                head_before = (killed_at - head[3].astimezone()).total_seconds() if head[3] else 0.0
                as_run = sum(job[2] for job in mine)
                scratch_cost = as_run + before + head_before
                totals[0] += as_run
                totals[1] += scratch_cost
                print(
                    f"{accession:<14}{(adopted[accession] - killed_at).total_seconds():>11.1f}"
                    f"{len(steps_before):>13}{before + head_before:>15.0f}{as_run:>16.0f}{scratch_cost:>13.0f}"
                    f"{as_run / scratch_cost:>7.2f}"
                )
            ratio = totals[0] / totals[1]
            print(f"{'total':<14}{'':>11}{'':>13}{'':>15}{totals[0]:>16.0f}{totals[1]:>13.0f}{ratio:>7.2f}")
            print(
                "recovery = kill -> 'adopted head job' event; Slurm s = sum of elapsed seconds of the head job and "
                "step jobs;\nfrom scratch = as run + the work done before the kill, done again; ratio = adopted / "
                "from scratch (lower is better)"
            )
    finally:
        mirror.stop()
        drop_database(server_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
