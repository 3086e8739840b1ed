"""Benchmark: importing a large ENA study (>= 20,000 runs) from the local mirror.

Compares, over the same fetched rows, the project's bulk import (:func:`analyses.ena_sync.store_and_sync`)
with a naive import that ``save()``s one row at a time. Both imports start from the same fetch
(:meth:`ENAPortalClient.fetch_study_bundle`, the project's client: paged, rate-limited at
``requests_per_second=5`` with its burst, as in production), which is timed on its own row; the
end-to-end rows are that fetch plus each write, and the verdict compares those (target: the bulk
import >= 10x the naive import's rows/s). ``import_ena_study`` is also timed as one call, fetch
included, to show the sum is what a caller sees.

The mirror serves from a thread of this process, so the fetch includes the mirror's own work
(rendering JSON) competing for the GIL; against ENA it would be network-bound instead. Every write
runs inside a transaction that is rolled back, so the database is left as it was (and the naive
loop is spared per-row commits, which only flatters it). Fetch and bulk writes are the median of
``--repeat`` runs; the naive loop (about a minute) runs once. The script reports and exits 0
whatever the verdict.

    EMG_DATABASE__URL=postgresql://... .venv/bin/python bench/ena_import.py [--runs 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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

    def __call__(self) -> tuple[ENAStudyBundle, float, int, float]:
        """The bundle, the seconds taken, the requests made and the seconds spent waiting for the rate limit."""
        with self.client() as client:
            bucket = client._bucket  # counted here only, to show where fetch time goes
            waits: list[float] = []
            acquire = bucket.acquire
            bucket.acquire = lambda: waits.append(acquire()) or waits[-1]  # type: ignore[method-assign]
            started = time.perf_counter()
            bundle = client.fetch_study_bundle(LARGE_STUDY_ACCESSION)
            return bundle, time.perf_counter() - started, len(waits), sum(waits)


def table(rows: int, lines: list[tuple[str, float, float]]) -> None:
    """Print ``(method, seconds, naive seconds it compares with)`` lines as a Markdown table."""
    header = f"| {'method':<46} | {'rows':>6} | {'seconds':>8} | {'rows/s':>8} | {'vs naive':>8} |"
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    for name, seconds, naive_seconds in lines:
        ratio = f"{naive_seconds / seconds:>7.1f}x" if naive_seconds else f"{'':>8}"
        print(f"| {name:<46} | {rows:>6} | {seconds:>8.2f} | {rows / seconds:>8.0f} | {ratio} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000, help="runs in the study (default 20000)")
    parser.add_argument("--runs-per-sample", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="fetches and bulk writes timed (median)")
    args = parser.parse_args()
    if Study.objects.filter(accession=LARGE_STUDY_ACCESSION).exists():
        sys.exit(f"{LARGE_STUDY_ACCESSION} is already in this database; benchmark on a database without it")

    record = large_study_record(args.runs, runs_per_sample=args.runs_per_sample)
    with (
        tempfile.TemporaryDirectory() as empty,
        run_mirror_in_thread(Path(empty), generate=False, studies=[record]) as mirror,
    ):
        fetch = Fetch(mirror.ena_config(requests_per_second=REQUESTS_PER_SECOND))
        fetches = [fetch() for _ in range(args.repeat)]
        bundle = fetches[0][0]
        fetch_seconds = statistics.median(f[1] for f in fetches)
        requests, waited = fetches[0][2], statistics.median(f[3] for f in fetches)
        rows = len(bundle.samples) + len(bundle.runs)

        bulk = statistics.median(timed(lambda: store_and_sync(bundle=bundle)) for _ in range(args.repeat))

        def reimport() -> None:
            store_and_sync(bundle=bundle)
            started = time.perf_counter()
            summary = store_and_sync(bundle=bundle)
            assert summary.writes == 0, summary
            reimport.seconds = time.perf_counter() - started  # type: ignore[attr-defined]

        timed(reimport)
        unchanged = reimport.seconds  # type: ignore[attr-defined]

        def one_call() -> None:
            with fetch.client() as client:
                import_ena_study(LARGE_STUDY_ACCESSION, client=client)

        measured = timed(one_call)
        naive = timed(lambda: naive_import(bundle))

    print(
        f"\nENA study import: {len(bundle.runs)} runs + {len(bundle.samples)} samples = {rows} ENA rows "
        f"(each also writes its platform row). Fetch: {requests} requests at {REQUESTS_PER_SECOND:g} req/s "
        f"(burst {burst_for(REQUESTS_PER_SECOND):g}), {waited:.2f} s of it waiting for the rate limit.\n"
    )
    bulk_total, naive_total = fetch_seconds + bulk, fetch_seconds + naive
    table(
        rows,
        [
            ("fetch (shared by both imports)", fetch_seconds, 0.0),
            ("bulk write (store_and_sync)", bulk, naive),
            ("naive write (save() per row)", naive, naive),
            ("bulk re-import, unchanged (0 writes)", unchanged, naive),
            ("bulk import end to end (fetch + bulk write)", bulk_total, naive_total),
            ("naive import end to end (fetch + naive write)", naive_total, naive_total),
            ("import_ena_study, one call (own fetch)", measured, naive_total),
        ],
    )
    ratio = naive_total / bulk_total
    verdict = "meets" if ratio >= 10 else "MISSES"
    print(
        f"\nverdict: bulk import end to end {rows / bulk_total:.0f} rows/s vs naive import end to end "
        f"{rows / naive_total:.0f} rows/s = {ratio:.1f}x ({verdict} the 10x target; write only: {naive / bulk:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
