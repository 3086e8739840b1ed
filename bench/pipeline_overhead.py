"""Overhead of running the bundled pipeline through the launcher on Slurm, against the tools' own time.

The local ENA mirror's synthetic study is generated into a temporary directory; its first run's
reads go through the raw-reads pipeline with the SnakemakeLauncher on the real cluster, once per
step placement and repetition, interleaved (placements alternate, so load drifts hit both alike):

* ``head-job``: the steps run inside the head job's allocation (the default for small inputs);
* ``own-jobs``: each step is its own Slurm job through Snakemake's Slurm executor (the baseline).

Printed per placement (medians over the repetitions):

* critical path: the longest chain of dependent steps, each weighted by its tool's own wall time
  (Snakemake's ``benchmark:`` of the rule's command), with the DAG read from Snakemake's log
* tools sum: all steps' tool times added (overlapping steps counted twice: for reference only)
* wall: ``launch()`` to the end of ``wait()`` through the launcher on Slurm
* overhead: wall / critical path, the figure issue 15 bounds at 1.5x (median, and its range over the launches)

Usage: ``SLURM_CONF=... .venv/bin/python bench/pipeline_overhead.py [--repeat N]`` (needs task slurm:up).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emgapiv2.settings")


@dataclass(frozen=True)
class Measurement:
    placement: str
    steps: int
    critical_path: float
    chain: list[str]
    tools_sum: float
    wall: float


def measure(launcher, pipeline, reads: list[Path], work_root: Path, name: str) -> Measurement:
    """Launch once on a new work area, wait, and read the tools' times and the DAG back."""
    from workflows.pipelines import PipelineState, RunInputs, WorkArea
    from workflows.pipelines.launchers.critical_path import critical_path
    from workflows.pipelines.launchers.snakemake_log import read_snakemake_log

    work = WorkArea.for_analysis(name, work_root=work_root)
    started = time.monotonic()
    handle = launcher.launch(pipeline, inputs=RunInputs(fastq=reads), work_area=work)
    progress = launcher.wait(handle, timeout_seconds=1800, poll_interval_seconds=0.2)
    wall = time.monotonic() - started
    if progress.state != PipelineState.COMPLETED:
        raise SystemExit(f"{name}: {progress.state} at {progress.failed_step}\n{progress.log_tail}")
    seconds = {step.step: step.duration_seconds or 0.0 for step in progress.steps}
    dependencies = read_snakemake_log(handle.head_log).rule_dependencies()
    total, chain = critical_path(seconds, dependencies)
    return Measurement(
        placement=launcher.step_placement.value,
        steps=len(progress.steps),
        critical_path=total,
        chain=[step for step in chain if step in seconds],
        tools_sum=sum(seconds.values()),
        wall=wall,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="launches per placement (interleaved)")
    parser.add_argument("--partition", default="pipelines")
    parser.add_argument("--keep", action="store_true", help="keep the work areas")
    args = parser.parse_args()

    from core.config import StepPlacement, current_config
    from devtools.ena_mirror.generator import generate_synthetic_study
    from devtools.ena_mirror.layout import fastq_dir
    from workflows.pipelines import SnakemakeLauncher, get_pipeline
    from workflows.slurm import SlurmClient

    client = SlurmClient()
    launchers = [
        SnakemakeLauncher(client, partition=args.partition, step_placement=placement)
        for placement in (StepPlacement.HEAD_JOB, StepPlacement.OWN_JOBS)
    ]
    pipelines_config = current_config().pipelines
    identity = (pipelines_config.bundled_pipeline_name, pipelines_config.bundled_pipeline_version)
    pipeline = get_pipeline(*identity)
    root = Path(tempfile.mkdtemp(prefix="emg-bench-pipeline-"))
    record = generate_synthetic_study(root / "mirror")
    run = record.runs[0]["run_accession"]
    reads = sorted((root / "mirror" / fastq_dir(run)).glob("*.fastq.gz"))

    load_before = os.getloadavg()[0]
    measurements: list[Measurement] = []
    for repetition in range(args.repeat):
        for index, launcher in enumerate(launchers):
            name = f"MGYA{repetition * len(launchers) + index + 1:08d}"
            measurements.append(measure(launcher, pipeline, reads, root / "work", name))

    print(f"{identity[0]} {identity[1]} on {run} ({sum(p.stat().st_size for p in reads) / 1e6:.1f} MB of reads)")
    print(
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"{args.repeat} launches per placement, interleaved; medians\n"
    )
    header = (
        f"{'placement':<10} {'steps':>5} {'critical path (s)':>18} {'tools sum (s)':>14} {'wall (s)':>9} "
        f"{'overhead':>9} {'range':>12} {'vs own-jobs':>12}"
    )
    print(header)
    print("-" * len(header))
    medians = {}
    for launcher in launchers:
        mine = [m for m in measurements if m.placement == launcher.step_placement.value]
        medians[launcher.step_placement.value] = (
            mine[0].steps,
            statistics.median(m.critical_path for m in mine),
            statistics.median(m.tools_sum for m in mine),
            statistics.median(m.wall for m in mine),
            statistics.median(m.wall / m.critical_path for m in mine),
            min(m.wall / m.critical_path for m in mine),
            max(m.wall / m.critical_path for m in mine),
        )
    baseline_wall = medians[StepPlacement.OWN_JOBS.value][3]
    for placement, (steps, path, tools, wall, overhead, lowest, highest) in medians.items():
        print(
            f"{placement:<10} {steps:>5} {path:>18.1f} {tools:>14.1f} {wall:>9.1f} {overhead:>8.2f}x "
            f"{f'{lowest:.2f}-{highest:.2f}x':>12} {wall / baseline_wall:>11.2f}x"
        )
    print(f"\ncritical path: {' -> '.join(measurements[0].chain)}")
    print(
        "critical path = longest chain of dependent steps by each tool's own wall time (Snakemake benchmark files); "
        "wall = launch() .. wait() through the launcher; overhead = wall / critical path."
    )
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
