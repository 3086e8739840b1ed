"""A study of many runs with tiny real FASTQ files: for following a study's analyses all at once.

:func:`~devtools.ena_mirror.generator.large_study_record` lists tens of thousands of runs but has no
files behind them; the fan-out needs each run's reads fetched (md5-checked) before its head job is
submitted, so here every run has a real gzipped pair of a few reads, written once under the
mirror's data directory (``vol1/fastq/...``, as ENA lays them out). Serve it with
``run_mirror_in_thread(data_dir, studies=[record])`` or ``python -m devtools.ena_mirror serve --fanout-runs N``.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from devtools.ena_mirror.generator import StudyRecord, _run_row, _sample_row, _study_row
from devtools.ena_mirror.layout import fastq_dir, fastq_names

FANOUT_STUDY_ACCESSION = "PRJEB90010"
FANOUT_SECONDARY_STUDY_ACCESSION = "ERP900010"
RUN_START = 9_500_001
READS_PER_FILE = 4
READ_LENGTH = 50


def _fastq(run: str, mate: int) -> bytes:
    """A few reads, different per run and mate (so every file has its own md5), gzipped reproducibly."""
    bases = "ACGT"
    records = []
    for index in range(READS_PER_FILE):
        seed = hashlib.sha256(f"{run}/{mate}/{index}".encode()).digest()
        sequence = "".join(bases[byte % 4] for byte in (seed * 2)[:READ_LENGTH])
        records.append(f"@{run}.{index + 1}/{mate}\n{sequence}\n+\n{'I' * READ_LENGTH}\n")
    return gzip.compress("".join(records).encode(), mtime=0)


def fanout_study_record(
    data_dir: Path,
    n_runs: int,
    *,
    accession: str = FANOUT_STUDY_ACCESSION,
    secondary: str = FANOUT_SECONDARY_STUDY_ACCESSION,
    run_start: int = RUN_START,
) -> StudyRecord:
    """A study of ``n_runs`` paired-end runs, one sample each, writing their FASTQ files under ``data_dir``.

    Files already there are kept (their content is deterministic), so a second call is cheap.

    :param data_dir: the mirror's data directory (it serves ``vol1/`` from there)
    :param n_runs: how many runs (ERR accessions from ``run_start``)
    """
    study = _study_row(accession, secondary, f"Fan-out survey ({n_runs} runs)", "Many small runs.")
    samples, runs = [], []
    for i in range(n_runs):
        number = run_start + i
        run = f"ERR{number}"
        sample = _sample_row(study, f"SAMEA{number}", f"ERS{number}", f"Fan-out sample {i + 1}", "256318", "metagenome")
        files = []
        for mate, name in enumerate(fastq_names(run, paired=True), start=1):
            relative = f"{fastq_dir(run)}/{name}"
            path = data_dir / relative
            content = _fastq(run, mate)
            if not path.is_file() or path.stat().st_size != len(content):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            files.append((relative, hashlib.md5(content).hexdigest(), len(content)))
        samples.append(sample)
        runs.append(
            _run_row(
                study,
                sample,
                run=run,
                experiment=f"ERX{number}",
                strategy="WGS",
                source="METAGENOMIC",
                selection="RANDOM",
                layout="PAIRED",
                model="Illumina NovaSeq 6000",
                read_count=READS_PER_FILE,
                base_count=2 * READS_PER_FILE * READ_LENGTH,
                files=files,
                nominal_length=300,
            )
        )
    return StudyRecord(study=study, samples=samples, runs=runs)
