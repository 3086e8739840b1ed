"""Benchmark: submitting many trivial jobs to the real cluster, the methods interleaved.

Methods, each submitting ``--block`` held jobs (``--hold``: they never run, others share the cluster)
with the same sbatch options and the same script on stdin:

1. ``raw sbatch, bash loop`` (the baseline of the target): one ``bash -c 'for ...; do sbatch ... <
   job.sh; done'`` started from this process, the script read from a file;
2. ``raw sbatch, Python loop``: ``subprocess.run([sbatch ...], input=script)`` per job from this
   process, with the same environment, to show what spawning from Python costs by itself;
3. ``client, one by one``: :meth:`SlurmClient.submit` per job (resolving defaults, rendering the
   script, building the command, spawning, parsing the id);
4. ``client, one array``: one :meth:`SlurmClient.submit_array` with as many tasks.

Other people's jobs and other work on the 2 cores move these timings, so the methods are interleaved:
each of ``--rounds`` rounds runs one block per method, in an order rotated from round to round, so
no method pays a cold start or a busy moment alone. Only submission is timed; each block's jobs are
cancelled right after it (untimed), and everything submitted is cancelled at the end. The table
shows each method's median seconds per block with the range, and the median (range) of the
per-round ratios to the bash loop; the targets: one by one within 1.3x of the bash loop's time, the
array at least 10x its rate. Exits 1 if a target is missed.

Usage (cluster from ``task slurm:up``)::

    .venv/bin/python bench/slurm_submit.py [--block 50] [--rounds 6]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows.slurm import JobSpec, SlurmClient
from workflows.slurm.cli import sbatch_command
from workflows.slurm.script import batch_script

NAME = "bench-submit"
BASH_LOOP = "raw sbatch, bash loop"
PYTHON_LOOP = "raw sbatch, Python loop"
ONE_BY_ONE = "client, one by one"
ARRAY = "client, one array"


@dataclass
class Block:
    """One method's block of submissions in one round."""

    seconds: float
    job_ids: list[str]


def bash_loop(command: list[str], script: Path, jobs: int) -> Block:
    """``sbatch`` in a bash loop, the script on stdin from a file, the ids collected by the shell."""
    loop = f'for i in $(seq {jobs}); do {shlex.join(command)} < "{script}" || exit 1; done'
    started = time.perf_counter()
    result = subprocess.run(["bash", "-c", loop], capture_output=True, text=True, check=True)
    return Block(time.perf_counter() - started, result.stdout.split())


def python_loop(command: list[str], script: str, jobs: int) -> Block:
    """``sbatch`` spawned per job from this process, the script on stdin, output captured."""
    started = time.perf_counter()
    ids = [
        subprocess.run(command, input=script, capture_output=True, text=True, check=True).stdout.strip()
        for _ in range(jobs)
    ]
    return Block(time.perf_counter() - started, ids)


def one_by_one(client: SlurmClient, spec: JobSpec, jobs: int) -> Block:
    started = time.perf_counter()
    ids = [client.submit(spec) for _ in range(jobs)]
    return Block(time.perf_counter() - started, ids)


def array(client: SlurmClient, spec: JobSpec, jobs: int) -> Block:
    started = time.perf_counter()
    array_id = client.submit_array(spec, range(jobs))
    return Block(time.perf_counter() - started, [array_id])


def spread(values: list[float], unit: str = "") -> str:
    """``median (min-max)``."""
    return f"{statistics.median(values):.3f}{unit} ({min(values):.3f}-{max(values):.3f}{unit})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block", type=int, default=50, help="jobs per method per round (default 50)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds (default 6)")
    args = parser.parse_args()

    client = SlurmClient()
    spec = JobSpec(name=NAME, command="true", stdout=Path("/dev/null"), extra_args=["--hold"])
    resolved = client.resolve(spec)  # the raw loops send exactly what the client sends
    command, script = sbatch_command(resolved), batch_script(resolved)
    submitted: list[str] = []
    times: dict[str, list[float]] = {BASH_LOOP: [], PYTHON_LOOP: [], ONE_BY_ONE: [], ARRAY: []}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        script_file = Path(folder) / "job.sh"
        script_file.write_text(script)
        methods: dict[str, Callable[[], Block]] = {
            BASH_LOOP: lambda: bash_loop(command, script_file, args.block),
            PYTHON_LOOP: lambda: python_loop(command, script, args.block),
            ONE_BY_ONE: lambda: one_by_one(client, spec, args.block),
            ARRAY: lambda: array(client, spec, args.block),
        }
        names = list(methods)
        try:
            for number in range(args.rounds):
                order = names[number % len(names) :] + names[: number % len(names)]
                for name in order:
                    block = methods[name]()
                    submitted.extend(block.job_ids)
                    client.cancel(block.job_ids)
                    times[name].append(block.seconds)
                print(
                    f"  round {number + 1}/{args.rounds}: "
                    + ", ".join(f"{name} {times[name][-1]:.3f}s" for name in names),
                    file=sys.stderr,
                )
        finally:
            client.cancel(submitted)
    load_after = os.getloadavg()

    baseline = times[BASH_LOOP]
    print(
        f"\n{args.block} held jobs per method per round, {args.rounds} rounds, methods interleaved "
        f"(order rotated each round). Load average (1, 5, 15 min): {_load(load_before)} before, "
        f"{_load(load_after)} after.\n"
    )
    header = (
        f"| {'method':<24} | {'seconds per block, median (range)':>34} | {'jobs/s':>7} "
        f"| {'time vs bash loop, median (range)':>34} |"
    )
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    for name in names:
        ratios = [mine / base for mine, base in zip(times[name], baseline, strict=True)]
        rate = args.block / statistics.median(times[name])
        print(f"| {name:<24} | {spread(times[name], 's'):>34} | {rate:>7.1f} | {spread(ratios, 'x'):>34} |")
    overhead = statistics.median(a / b for a, b in zip(times[ONE_BY_ONE], baseline, strict=True))
    speedup = statistics.median(b / a for a, b in zip(times[ARRAY], baseline, strict=True))
    vs_python = statistics.median(a / b for a, b in zip(times[ONE_BY_ONE], times[PYTHON_LOOP], strict=True))
    print()
    print(f"client one by one takes {overhead:.2f}x the bash loop's time (target <= 1.3x): {_ok(overhead <= 1.3)}")
    print(f"  (and {vs_python:.2f}x the Python loop's: the client's own work beside spawning sbatch)")
    print(f"client array is {speedup:.0f}x the bash loop's rate (target >= 10x): {_ok(speedup >= 10)}")
    return 0 if overhead <= 1.3 and speedup >= 10 else 1


def _ok(passed: bool) -> str:
    return "ok" if passed else "MISSED"


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    sys.exit(main())
