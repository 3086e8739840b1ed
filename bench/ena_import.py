"""Benchmark: importing a large ENA study (>= 20,000 runs) from the local mirror.

Compares, in the same run and over the same fetched rows, the project's bulk import
(:func:`ena.services.store_study_bundle`) with a naive loop that ``save()``s one row at a time, and
prints a table with rows/second and the ratio. Every measurement runs inside a transaction that is
rolled back, so the database is left as it was (and the naive loop is spared per-row commits,
which only flatters it).

    EMG_DATABASE__URL=postgresql://... .venv/bin/python bench/ena_import.py [--runs 20000]
"""

from __future__ import annotations

import argparse
import os
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

from analyses.models import Run as PlatformRun  # noqa: E402
from analyses.models import Sample as PlatformSample  # noqa: E402
from analyses.models import Study as PlatformStudy  # noqa: E402
from emgapiv2.config import WebinConfig  # noqa: E402
from ena.mirror.generator import LARGE_STUDY_ACCESSION, large_study_record  # noqa: E402
from ena.mirror.server import run_mirror_in_thread  # noqa: E402
from ena.models import Run, Sample, Study  # noqa: E402
from ena.portal import ENAPortalClient, ENAStudyBundle  # noqa: E402
from ena.services import experiment_type_for, import_ena_study, store_study_bundle  # noqa: E402


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
            experiment_type=experiment_type_for(r.library_strategy, r.library_source),
            instrument_platform=r.instrument_platform,
            instrument_model=r.instrument_model,
            ena_accessions=r.all_accessions,
        ).save()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000, help="runs in the study (default 20000)")
    parser.add_argument("--runs-per-sample", type=int, default=5)
    args = parser.parse_args()
    if Study.objects.filter(accession=LARGE_STUDY_ACCESSION).exists():
        sys.exit(f"{LARGE_STUDY_ACCESSION} is already in this database; benchmark on a database without it")

    record = large_study_record(args.runs, runs_per_sample=args.runs_per_sample)
    with (
        tempfile.TemporaryDirectory() as empty,
        run_mirror_in_thread(Path(empty), generate=False, studies=[record]) as mirror,
    ):
        client = ENAPortalClient(mirror.ena_config(requests_per_second=5.0), WebinConfig())
        fetch_started = time.perf_counter()
        bundle = client.fetch_study_bundle(LARGE_STUDY_ACCESSION)
        fetch_seconds = time.perf_counter() - fetch_started
        rows = len(bundle.samples) + len(bundle.runs)

        results: list[tuple[str, float]] = []
        results.append(
            ("bulk import, fetch + write", timed(lambda: import_ena_study(LARGE_STUDY_ACCESSION, client=client)))
        )
        results.append(("bulk import, write only", timed(lambda: store_study_bundle(bundle=bundle))))

        def reimport() -> None:
            store_study_bundle(bundle=bundle)
            started = time.perf_counter()
            summary = store_study_bundle(bundle=bundle)
            assert summary.writes == 0, summary
            reimport.seconds = time.perf_counter() - started  # type: ignore[attr-defined]

        timed(reimport)
        results.append(("bulk re-import, unchanged (0 writes)", reimport.seconds))  # type: ignore[attr-defined]
        results.append(("naive save() per row, write only", timed(lambda: naive_import(bundle))))
        client.close()

    naive_rate = rows / results[-1][1]
    print(
        f"\nENA study import: {len(bundle.runs)} runs + {len(bundle.samples)} samples = {rows} ENA rows "
        f"(each also writes its platform row); fetch from the mirror alone: {fetch_seconds:.2f} s\n"
    )
    header = f"| {'method':<38} | {'rows':>6} | {'seconds':>8} | {'rows/s':>9} | {'vs naive':>8} |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for name, seconds in results:
        rate = rows / seconds
        print(f"| {name:<38} | {rows:>6} | {seconds:>8.2f} | {rate:>9.0f} | {rate / naive_rate:>7.1f}x |")
    bulk_ratio = (rows / results[0][1]) / naive_rate
    print(f"\nbulk import (fetch + write) vs naive save() loop (write only): {bulk_ratio:.1f}x")
    return 0 if bulk_ratio >= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
