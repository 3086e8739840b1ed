"""Benchmark: submitting many trivial jobs to the real cluster, three ways in one run.

1. ``raw sbatch``: a shell loop calling ``sbatch --parsable`` with the same options and the same
   script on stdin that the client sends (the baseline);
2. ``client one by one``: :meth:`SlurmClient.submit` in a Python loop;
3. ``client array``: one :meth:`SlurmClient.submit_array` with as many tasks.

Only submission is timed. Between methods the benchmark waits for the previous method's jobs to
finish, so each starts on an empty queue; at the end anything left is cancelled. Prints a table
with jobs/second and the ratio to raw sbatch, and checks the targets (one by one within 1.3x of
raw sbatch's time, the array at least 10x faster).

Usage (cluster from ``task slurm:up``)::

    .venv/bin/python bench/slurm_submit.py [--jobs 500] [--hold]
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows.slurm import JobSpec, SlurmClient
from workflows.slurm.cli import sbatch_command
from workflows.slurm.script import batch_script

NAME = "bench-submit"


@dataclass
class Measurement:
    method: str
    jobs: int
    seconds: float
    job_ids: list[str]

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


def raw_sbatch_loop(spec: JobSpec, jobs: int) -> Measurement:
    """The baseline: ``sbatch`` in a bash loop, script on stdin, ids collected by the shell."""
    command = shlex.join(sbatch_command(spec))
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "job.sh"
        script.write_text(batch_script(spec))
        loop = f'for i in $(seq {jobs}); do {command} < "{script}" || exit 1; done'
        started = time.perf_counter()
        result = subprocess.run(["bash", "-c", loop], capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
    return Measurement("raw sbatch (shell loop)", jobs, seconds, result.stdout.split())


def client_one_by_one(client: SlurmClient, spec: JobSpec, jobs: int) -> Measurement:
    started = time.perf_counter()
    job_ids = [client.submit(spec) for _ in range(jobs)]
    return Measurement("client, one by one", jobs, time.perf_counter() - started, job_ids)


def client_array(client: SlurmClient, spec: JobSpec, jobs: int) -> Measurement:
    started = time.perf_counter()
    array_id = client.submit_array(spec, range(jobs))
    return Measurement("client, one array", jobs, time.perf_counter() - started, [array_id])


def drain(client: SlurmClient, measurement: Measurement, hold: bool) -> None:
    """Let the jobs run out (or cancel held ones) so the next method starts on an empty queue."""
    if hold:
        client.cancel(measurement.job_ids)
    try:
        client.wait(measurement.job_ids, timeout_seconds=600, poll=1.0, max_poll=5.0, accounting_grace_seconds=0)
    finally:
        client.cancel(measurement.job_ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--hold", action="store_true", help="submit held jobs (never run; cancelled after)")
    args = parser.parse_args()

    client = SlurmClient()
    spec = JobSpec(name=NAME, command="true", stdout=Path("/dev/null"), extra_args=["--hold"] if args.hold else [])
    resolved = client.resolve(spec)  # the raw loop sends exactly what the client sends

    results: list[Measurement] = []
    try:
        for run in (
            lambda: raw_sbatch_loop(resolved, args.jobs),
            lambda: client_one_by_one(client, spec, args.jobs),
            lambda: client_array(client, spec, args.jobs),
        ):
            measurement = run()
            results.append(measurement)
            print(f"  {measurement.method}: {measurement.seconds:.2f}s; draining the queue...", file=sys.stderr)
            drain(client, measurement, args.hold)
    finally:
        for measurement in results:
            client.cancel(measurement.job_ids)

    raw = results[0]
    print()
    print(f"{'method':<26} {'jobs':>6} {'seconds':>9} {'jobs/s':>9} {'ratio vs raw sbatch':>20}")
    for measurement in results:
        ratio = measurement.rate / raw.rate
        print(
            f"{measurement.method:<26} {measurement.jobs:>6} {measurement.seconds:>9.3f} "
            f"{measurement.rate:>9.1f} {ratio:>19.2f}x"
        )
    one_by_one, array = results[1], results[2]
    overhead = one_by_one.seconds / raw.seconds
    speedup = array.rate / raw.rate
    print()
    print(f"client one by one takes {overhead:.2f}x raw sbatch's time (target <= 1.3x): {_ok(overhead <= 1.3)}")
    print(f"client array is {speedup:.0f}x raw sbatch's rate (target >= 10x): {_ok(speedup >= 10)}")
    return 0 if overhead <= 1.3 and speedup >= 10 else 1


def _ok(passed: bool) -> str:
    return "ok" if passed else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
