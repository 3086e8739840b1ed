"""Overhead of running the bundled pipeline through the launcher on Slurm, against the tools' own time.

For each run of the local ENA mirror's synthetic study (generated into a temporary directory), the
raw-reads pipeline is launched with the SnakemakeLauncher on the real cluster (a head job; each rule
its own Slurm job) and waited for. Printed per run:

* tools: the sum of the tools' own run times (Snakemake ``benchmark:`` wall seconds of each rule's
  command, measured inside its Slurm job)
* step jobs: the sum of the step jobs' elapsed times as Slurm accounted them (sacct)
* wall: launch() to the end of wait(), through the launcher on Slurm
* overhead: wall / tools

Usage: ``SLURM_CONF=... .venv/bin/python bench/pipeline_overhead.py [--runs N]`` (needs task slurm:up).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emgapiv2.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="how many of the study's 4 runs (one after another)")
    parser.add_argument("--partition", default="pipelines")
    parser.add_argument("--keep", action="store_true", help="keep the work areas")
    args = parser.parse_args()

    from devtools.ena_mirror.generator import generate_synthetic_study
    from devtools.ena_mirror.layout import fastq_dir
    from workflows.pipelines import PipelineState, RunInputs, SnakemakeLauncher, WorkArea, get_pipeline
    from workflows.slurm import SlurmClient

    client = SlurmClient()
    launcher = SnakemakeLauncher(client, partition=args.partition)
    pipeline = get_pipeline("raw-reads", "1.0.0")
    root = Path(tempfile.mkdtemp(prefix="emg-bench-pipeline-"))
    record = generate_synthetic_study(root / "mirror")

    rows = []
    for index, run in enumerate(record.runs[: args.runs], start=1):
        accession = run["run_accession"]
        reads = sorted((root / "mirror" / fastq_dir(accession)).glob("*.fastq.gz"))
        work = WorkArea.for_analysis(f"MGYA{index:08d}", work_root=root / "work", keep=args.keep)
        started = time.monotonic()
        handle = launcher.launch(pipeline, inputs=RunInputs(fastq=reads), work_area=work)
        progress = launcher.wait(handle, timeout_seconds=1800, poll_interval_seconds=0.5)
        wall = time.monotonic() - started
        if progress.state != PipelineState.COMPLETED:
            raise SystemExit(f"{accession}: {progress.state} at {progress.failed_step}\n{progress.log_tail}")
        tools = sum(step.duration_seconds or 0 for step in progress.steps)
        jobs = client.states([s.slurm_job_id for s in progress.steps if s.slurm_job_id])
        step_jobs = sum(job.elapsed_seconds or 0 for job in jobs.values())
        rows.append((accession, len(progress.steps), tools, step_jobs, wall))

    header = f"{'run':<12} {'steps':>5} {'tools (s)':>10} {'step jobs (s)':>14} {'wall (s)':>9} {'overhead':>9}"
    print(header)
    print("-" * len(header))
    for accession, steps, tools, step_jobs, wall in rows:
        print(f"{accession:<12} {steps:>5} {tools:>10.1f} {step_jobs:>14.1f} {wall:>9.1f} {wall / tools:>8.1f}x")
    if len(rows) > 1:
        tools = sum(r[2] for r in rows)
        step_jobs = sum(r[3] for r in rows)
        wall = sum(r[4] for r in rows)
        print(f"{'total':<12} {'':>5} {tools:>10.1f} {step_jobs:>14.1f} {wall:>9.1f} {wall / tools:>8.1f}x")
    print(
        "\ntools = sum of each rule's command wall time (Snakemake benchmark files, inside its Slurm job); "
        "step jobs = sum of sacct Elapsed of the rules' jobs; wall = launch() .. wait() through the launcher."
    )
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
