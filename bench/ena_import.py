"""Benchmark: importing a large ENA study (>= 20,000 runs) from the local mirror.

Compares, over the same fetched rows, the project's bulk import (:func:`analyses.ena_sync.store_and_sync`)
with a naive import that ``save()``s one row at a time. Both imports start from the same fetch
(:meth:`ENAPortalClient.fetch_study_bundle`, the project's client: paged, rate-limited at
``requests_per_second=5`` with its burst, as in production), which is timed on its own row; the
end-to-end rows are that fetch plus each write, and the verdict compares those (target: the bulk
import >= 10x the naive import's rows/s). ``import_ena_study`` is also timed as one call, fetch
included, to show the sum is what a caller sees.

The mirror serves from threads of this process, so the fetch includes the mirror's own work
(selecting and rendering JSON) competing for the GIL; against ENA it would be network-bound instead.
The table's header line says how much of the fetch was the client's own CPU. Every write runs inside
a transaction that is rolled back, so the database is left as it was (and the naive loop is spared
per-row commits, which only flatters it).

Other work on the machine moves these timings a lot (2 cores shared), so the methods are
interleaved: each of ``--rounds`` rounds fetches the study once, then runs the bulk and the naive
write of that bundle (their order alternating between rounds), and its end-to-end ratio compares the
two with that same fetch. The table shows medians with their ranges; the verdict is the median of
the per-round ratios. The script reports and exits 0 whatever the verdict.

    EMG_DATABASE__URL=postgresql://... .venv/bin/python bench/ena_import.py [--runs 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emgapiv2.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402

from analyses.ena_sync import import_ena_study, store_and_sync  # noqa: E402
from analyses.models import ExperimentType  # noqa: E402
from analyses.models import Run as PlatformRun  # noqa: E402
from analyses.models import Sample as PlatformSample  # noqa: E402
from analyses.models import Study as PlatformStudy  # noqa: E402
from core.config import ENAConfig, WebinConfig  # noqa: E402
from devtools.ena_mirror.generator import LARGE_STUDY_ACCESSION, large_study_record  # noqa: E402
from devtools.ena_mirror.server import run_mirror_in_thread  # noqa: E402
from ena.models import Run, Sample, Study  # noqa: E402
from ena.portal import ENAPortalClient, ENAStudyBundle  # noqa: E402
from ena.portal.ratelimit import burst_for  # noqa: E402

#: The production default rate (EMG_CONFIG.ena.requests_per_second); the mirror's own config says 1000.
REQUESTS_PER_SECOND = 5.0


class Rollback(Exception):
    pass


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` takes inside a transaction that is then rolled back."""
    started = 0.0
    elapsed = 0.0
    try:
        with transaction.atomic():
            started = time.perf_counter()
            action()
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return elapsed


def naive_import(bundle: ENAStudyBundle) -> None:
    """One ``save()`` per row: the obvious way, for comparison."""
    s = bundle.study
    study = Study(accession=s.accession, title=s.title, ena_accessions=s.all_accessions, metadata=s.raw)
    study.save()
    mgys = PlatformStudy(ena_study=study, title=s.title, ena_accessions=s.all_accessions)
    mgys.save()
    samples, platform_samples = {}, {}
    for x in bundle.samples:
        sample = Sample(
            accession=x.accession,
            study=study,
            title=x.title,
            tax_id=x.tax_id,
            scientific_name=x.scientific_name,
            ena_accessions=x.all_accessions,
            metadata=x.raw,
        )
        sample.save()
        platform_sample = PlatformSample(ena_sample=sample, ena_accessions=x.all_accessions)
        platform_sample.save()
        platform_sample.studies.add(mgys)
        samples[x.accession], platform_samples[x.accession] = sample, platform_sample
    for r in bundle.runs:
        run = Run(
            accession=r.accession,
            study=study,
            sample=samples[r.sample_accession],
            experiment_accession=r.experiment_accession,
            library_strategy=r.library_strategy,
            library_layout=r.library_layout,
            library_source=r.library_source,
            library_selection=r.library_selection,
            instrument_platform=r.instrument_platform,
            instrument_model=r.instrument_model,
            read_count=r.read_count,
            base_count=r.base_count,
            first_public=r.first_public,
            fastq_files=[f.model_dump(mode="json") for f in r.fastq_files],
            ena_accessions=r.all_accessions,
            metadata=r.raw,
        )
        run.save()
        PlatformRun(
            ena_run=run,
            study=mgys,
            sample=platform_samples[r.sample_accession],
            experiment_type=ExperimentType.for_library(r.library_strategy, r.library_source),
            instrument_platform=r.instrument_platform,
            instrument_model=r.instrument_model,
            ena_accessions=r.all_accessions,
        ).save()


class Fetch:
    """One timed fetch of the study with a fresh client (a full token bucket, as for a new import)."""

    def __init__(self, config: ENAConfig):
        self.config = config

    def client(self) -> ENAPortalClient:
        return ENAPortalClient(self.config, WebinConfig())

    def __call__(self) -> FetchResult:
        """The bundle and where the fetch's time went."""
        with self.client() as client:
            bucket = client._bucket  # counted here only, to show where fetch time goes
            waits: list[float] = []
            acquire = bucket.acquire
            bucket.acquire = lambda: waits.append(acquire()) or waits[-1]  # type: ignore[method-assign]
            started, cpu_started = time.perf_counter(), time.thread_time()
            bundle = client.fetch_study_bundle(LARGE_STUDY_ACCESSION)
            seconds, client_cpu = time.perf_counter() - started, time.thread_time() - cpu_started
            return FetchResult(bundle, seconds, client_cpu, len(waits), sum(waits))


@dataclass
class FetchResult:
    bundle: ENAStudyBundle
    seconds: float
    #: CPU time of this thread alone: the client's own work (the mirror answers from other threads)
    client_cpu: float
    requests: int
    waited: float


@dataclass
class Round:
    """One round's timings (seconds): a fetch, then both writes of its bundle, in alternating order."""

    fetch: FetchResult
    bulk: float
    naive: float

    @property
    def bulk_total(self) -> float:
        return self.fetch.seconds + self.bulk

    @property
    def naive_total(self) -> float:
        return self.fetch.seconds + self.naive

    @property
    def ratio(self) -> float:
        return self.naive_total / self.bulk_total


def spread(values: list[float]) -> str:
    """``median (min-max)`` of ``values``."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def table(rows: int, lines: list[tuple[str, list[float], list[float] | None]]) -> None:
    """Print ``(method, seconds per round, naive seconds per round)`` lines as a Markdown table.

    Seconds are the median over rounds with the range beside; the ratio is the median of the
    per-round ratios (each against the naive time measured in the same round) and its range.
    """
    header = (
        f"| {'method':<46} | {'rows':>6} | {'seconds median (range)':>22} | {'rows/s':>7} "
        f"| {'vs naive median (range)':>23} |"
    )
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    for name, seconds, naive_seconds in lines:
        ratio = ""
        if naive_seconds:
            ratios = [n / s for s, n in zip(seconds, naive_seconds, strict=True)]
            ratio = f"{statistics.median(ratios):.1f}x ({min(ratios):.1f}-{max(ratios):.1f}x)"
        rate = rows / statistics.median(seconds)
        print(f"| {name:<46} | {rows:>6} | {spread(seconds):>22} | {rate:>7.0f} | {ratio:>23} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000, help="runs in the study (default 20000)")
    parser.add_argument("--runs-per-sample", type=int, default=5)
    parser.add_argument("--rounds", "--repeat", type=int, default=3, help="rounds of fetch, bulk and naive write")
    args = parser.parse_args()
    if Study.objects.filter(accession=LARGE_STUDY_ACCESSION).exists():
        sys.exit(f"{LARGE_STUDY_ACCESSION} is already in this database; benchmark on a database without it")

    record = large_study_record(args.runs, runs_per_sample=args.runs_per_sample)
    rounds: list[Round] = []
    unchanged: list[float] = []
    one_calls: list[float] = []
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory() as empty,
        run_mirror_in_thread(Path(empty), generate=False, studies=[record]) as mirror,
    ):
        fetch = Fetch(mirror.ena_config(requests_per_second=REQUESTS_PER_SECOND))

        def reimport(bundle: ENAStudyBundle) -> None:
            store_and_sync(bundle=bundle)
            started = time.perf_counter()
            summary = store_and_sync(bundle=bundle)
            assert summary.writes == 0, summary
            unchanged.append(time.perf_counter() - started)

        def one_call() -> None:
            with fetch.client() as client:
                import_ena_study(LARGE_STUDY_ACCESSION, client=client)

        for number in range(args.rounds):
            fetched = fetch()
            bundle = fetched.bundle
            writes = {
                "bulk": lambda bundle=bundle: timed(lambda: store_and_sync(bundle=bundle)),
                "naive": lambda bundle=bundle: timed(lambda: naive_import(bundle)),
            }
            order = ["bulk", "naive"] if number % 2 == 0 else ["naive", "bulk"]
            seconds = {name: writes[name]() for name in order}
            rounds.append(Round(fetched, seconds["bulk"], seconds["naive"]))
            timed(lambda bundle=bundle: reimport(bundle))
            one_calls.append(timed(one_call))
            print(
                f"  round {number + 1}/{args.rounds}: fetch {fetched.seconds:.2f}s, bulk {seconds['bulk']:.2f}s, "
                f"naive {seconds['naive']:.2f}s -> {rounds[-1].ratio:.1f}x",
                file=sys.stderr,
            )
    load_after = os.getloadavg()

    first = rounds[0].fetch
    rows = len(first.bundle.samples) + len(first.bundle.runs)
    fetches = [r.fetch.seconds for r in rounds]
    naive, naive_totals = [r.naive for r in rounds], [r.naive_total for r in rounds]
    print(
        f"\nENA study import: {len(first.bundle.runs)} runs + {len(first.bundle.samples)} samples = {rows} ENA rows "
        f"(each also writes its platform row), {args.rounds} rounds. Fetch: {first.requests} requests at "
        f"{REQUESTS_PER_SECOND:g} req/s (burst {burst_for(REQUESTS_PER_SECOND):g}), "
        f"{statistics.median(r.fetch.waited for r in rounds):.2f} s of it waiting for the rate limit; the client's "
        f"own CPU {spread([r.fetch.client_cpu for r in rounds])} s of it, the rest the in-process mirror and the wire."
        f"\nLoad average (1, 5, 15 min): {_load(load_before)} before, {_load(load_after)} after.\n"
    )
    table(
        rows,
        [
            ("fetch (shared by both imports)", fetches, None),
            ("bulk write (store_and_sync)", [r.bulk for r in rounds], naive),
            ("naive write (save() per row)", naive, naive),
            ("bulk re-import, unchanged (0 writes)", unchanged, naive),
            ("bulk import end to end (fetch + bulk write)", [r.bulk_total for r in rounds], naive_totals),
            ("naive import end to end (fetch + naive write)", naive_totals, naive_totals),
            ("import_ena_study, one call (own fetch)", one_calls, naive_totals),
        ],
    )
    ratios = [r.ratio for r in rounds]
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio >= 10 else "MISSES"
    write_only = statistics.median(r.naive / r.bulk for r in rounds)
    print(
        f"\nverdict: bulk import end to end vs naive import end to end, per round: "
        f"{', '.join(f'{x:.1f}x' for x in ratios)}; median {ratio:.1f}x ({verdict} the 10x target; "
        f"write only: {write_only:.1f}x)"
    )
    return 0


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    sys.exit(main())
