"""Deterministic studies for the local ENA mirror, as ENA-format records and real files.

* :func:`generate_synthetic_study` -- ``SYNTHETIC_STUDY_ACCESSION`` (PRJEB90001 / ERP900001): four
  samples, one paired-end WGS METAGENOMIC Illumina run each, reads simulated from three coding-like
  genomes mixed differently per sample, real gzipped FASTQ with real md5s and sizes. The genomes'
  backgrounds are synthetic, but they carry real genes (:mod:`devtools.ena_mirror.real_genes`,
  :data:`PLANTED_PROTEINS`, :data:`PLANTED_RRNA`): Pfam seed proteins (protein kinase, fibronectin
  type III, globins) reverse-translated at the genome's GC, and rRNA operons drawn from barrnap's
  bacterial and archaeal models, so the pipeline's Pfam and rRNA annotation find real things. They are
  listed in ``<data_dir>/genomes/PRJEB90001.planted.tsv`` and ``PRJEB90001.rrna.tsv``.
* :func:`generate_amplicon_study` -- ``AMPLICON_STUDY_ACCESSION`` (PRJEB90003): one single-end
  AMPLICON run.
* :func:`large_study_record` -- ``LARGE_STUDY_ACCESSION`` (PRJEB90002): metadata only, tens of
  thousands of runs (FASTQ not materialised), for paging tests and the import benchmark.
* :func:`generate_layouts_study` -- ``LAYOUTS_STUDY_ACCESSION`` (PRJEB90004): one run of every file
  layout ENA really serves, each with its own sample, small (:data:`LAYOUT_PAIRS` pairs) so a pipeline
  runs fast: single-end (``LAYOUT_SINGLE_RUN``); a run whose record is blank where ENA leaves blanks,
  BioSample accession included (``LAYOUT_BLANKS_RUN``); paired with a third file of unpaired reads
  listed first (``LAYOUT_THREE_FILE_RUN``); an empty ``fastq_md5`` slot (``LAYOUT_BROKEN_RUN``); two
  files whose names do not say which mate is which (``LAYOUT_UNTAKEABLE_RUN``); Illumina file names
  (``LAYOUT_ILLUMINA_NAMES_RUN``); and a suppressed run, which the mirror does not serve
  (``LAYOUT_SUPPRESSED_RUN``). Some runs carry ``submitted_ftp`` files with submitter-style names.
* :func:`generate_private_study` -- ``PRIVATE_STUDY_ACCESSION`` (PRJEB90005): private to the Webin
  account ``PRIVATE_STUDY_WEBIN_ACCOUNT``, one paired run; its password is generated into
  ``<data_dir>/webin_accounts.json`` (mode 0600) and read by :func:`mirror_webin_accounts`.

A study is stored as one JSON document (:class:`StudyRecord`) of ENA-format records (all values
strings; a field a record does not set is absent and served as ENA's blank, "") under
``<data_dir>/studies/``; FASTQ files live at ENA's paths under ``<data_dir>/vol1/fastq/``, submitted
files under ``<data_dir>/vol1/run/``. ``*_ftp`` values are stored without host; the server prefixes its
own ``host:port`` when it answers. ``suppressed`` lists the runs and samples ENA would no longer show.
Each record carries :data:`GENERATOR_VERSION`; :func:`ensure_mirror_data` regenerates a study whose
record was written by another version, so a change to the generator reaches every data dir.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.ena_mirror.layout import (
    DEFAULT_DATA_DIR,
    fastq_dir,
    fastq_names,
    studies_dir,
    submitted_dir,
    webin_accounts_path,
)
from devtools.ena_mirror.real_genes import load_proteins, load_rrna
from devtools.ena_mirror.simulate import Genome, WrittenFile, coding_genome, simulate_reads, write_fasta

SYNTHETIC_STUDY_ACCESSION = "PRJEB90001"
SYNTHETIC_SECONDARY_STUDY_ACCESSION = "ERP900001"
LARGE_STUDY_ACCESSION = "PRJEB90002"
LARGE_SECONDARY_STUDY_ACCESSION = "ERP900002"
AMPLICON_STUDY_ACCESSION = "PRJEB90003"
AMPLICON_SECONDARY_STUDY_ACCESSION = "ERP900003"

LAYOUTS_STUDY_ACCESSION = "PRJEB90004"
LAYOUTS_SECONDARY_STUDY_ACCESSION = "ERP900004"
LAYOUTS_STUDY_TITLE = "Synthetic study of every ENA run layout (local ENA mirror)"
#: Single-end: one file, ``ERR9000401.fastq.gz``.
LAYOUT_SINGLE_RUN = "ERR9000401"
#: Paired, but library_layout, read_count, base_count, instrument_model, first_public and the BioSample
#: accession (of the run and of its sample) are blank, as ENA leaves them for some old records.
LAYOUT_BLANKS_RUN = "ERR9000402"
#: Paired with a third file of unpaired reads, listed first as ENA lists it.
LAYOUT_THREE_FILE_RUN = "ERR9000403"
#: Paired, both files there, but ``fastq_md5`` has an empty slot for the second file.
LAYOUT_BROKEN_RUN = "ERR9000404"
#: Paired, but two files of single-end reads whose names do not say which mate is which.
LAYOUT_UNTAKEABLE_RUN = "ERR9000405"
#: Paired, with Illumina file names (``S6_L001_R1_001.fastq.gz``) in the run's ENA directory.
LAYOUT_ILLUMINA_NAMES_RUN = "ERR9000406"
#: A normal paired run, suppressed: neither search nor filereport returns it.
LAYOUT_SUPPRESSED_RUN = "ERR9000407"
#: Read pairs (or single reads) per file of the layouts and private studies.
LAYOUT_PAIRS = 3_000
#: Single reads in the unpaired file of ``LAYOUT_THREE_FILE_RUN`` (named apart from the pairs).
LAYOUT_UNPAIRED_READS = 700
LAYOUT_ILLUMINA_NAMES = ("S6_L001_R1_001.fastq.gz", "S6_L001_R2_001.fastq.gz")
LAYOUT_UNTAKEABLE_NAMES = (f"{LAYOUT_UNTAKEABLE_RUN}_lane1.fastq.gz", f"{LAYOUT_UNTAKEABLE_RUN}_lane2.fastq.gz")

PRIVATE_STUDY_ACCESSION = "PRJEB90005"
PRIVATE_SECONDARY_STUDY_ACCESSION = "ERP900005"
PRIVATE_STUDY_WEBIN_ACCOUNT = "Webin-90005"
PRIVATE_STUDY_RUN = "ERR9000501"

SYNTHETIC_SEED = 20240917
#: Read pairs and genome mixing proportions per sample of the synthetic study.
SYNTHETIC_SAMPLES: tuple[tuple[int, tuple[float, float, float]], ...] = (
    (12_000, (0.70, 0.20, 0.10)),
    (10_000, (0.10, 0.60, 0.30)),
    (15_000, (0.34, 0.33, 0.33)),
    (9_000, (0.05, 0.15, 0.80)),
)
GENOME_SPECS: tuple[tuple[str, int, float], ...] = (
    ("synthetic_genome_1", 42_000, 0.38),
    ("synthetic_genome_2", 36_000, 0.52),
    ("synthetic_genome_3", 48_000, 0.64),
)
#: Real proteins (names in :data:`devtools.ena_mirror.real_genes.PROTEINS`) planted per genome of
#: GENOME_SPECS: genome 1 carries kinases and fibronectin type III proteins (7LESS_DROME has both),
#: genome 2 globins and fn3, genome 3 kinases and globins but no fn3.
PLANTED_PROTEINS: tuple[tuple[str, ...], ...] = (
    ("AKT1_HUMAN/150-408", "MK04_HUMAN/20-312", "CDC5_YEAST/82-337", "7LESS_DROME", "FINC_BOVIN/1176-1257"),
    ("MYG_HORSE", "HBA_MACFA", "HBB_RABIT", "EPHA2_HUMAN/330-419", "ITB4_HUMAN/1128-1208"),
    ("PIM1_HUMAN/129-381", "WEE1_HUMAN/299-569", "HBB_COLLI", "HBA_COLLI"),
)
#: rRNA operons (16S, spacer, 5S; names in :data:`devtools.ena_mirror.real_genes.RRNA`) per genome:
#: one copy each (repeats collapse in an assembly), bacterial in genome 1, archaeal in genome 2, none in 3.
PLANTED_RRNA: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("bacteria_16S_rRNA", "bacteria_5S_rRNA"),),
    (("archaea_16S_rRNA", "archaea_5S_rRNA"),),
    (),
)
READ_LENGTH = 150
FIRST_PUBLIC = "2024-03-01"
LAST_UPDATED = "2024-03-15"
CENTER_NAME = "EMG"
FORMAT_VERSION = 1
#: Bump whenever generated data changes (genomes, reads, records): older data dirs are then regenerated.
#: 2: family members planted in the synthetic genomes; 3: their codons drawn to match the genome's GC
#: (data dirs made from the short-lived uncommitted version 2 are regenerated too); 4: records carry only
#: fields of ENA's real field sets (no ``secondary_study_accession`` on samples), more of them (centre,
#: dates, location, library name), and a ``suppressed`` list; 5: real genes planted (Pfam seed proteins,
#: barrnap-model rRNA operons) instead of the synthetic EMGSYN families.
GENERATOR_VERSION = 5


@dataclass
class StudyRecord:
    """One study of the mirror, as ENA-format records (every value a string).

    :ivar private: only HTTP Basic credentials of ``webin_submitter`` see it (and its FASTQ files)
    :ivar suppressed: accessions of runs and samples ENA no longer shows (search and filereport skip them)
    """

    study: dict[str, str]
    samples: list[dict[str, str]]
    runs: list[dict[str, str]]
    data_portals: tuple[str, ...] = ("metagenome", "ena")
    private: bool = False
    webin_submitter: str = ""
    suppressed: list[str] = field(default_factory=list)

    @property
    def accession(self) -> str:
        return self.study["study_accession"]

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "generator_version": GENERATOR_VERSION,
            "data_portals": list(self.data_portals),
            "private": self.private,
            "webin_submitter": self.webin_submitter,
            "suppressed": list(self.suppressed),
            "study": self.study,
            "samples": self.samples,
            "runs": self.runs,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudyRecord:
        return cls(
            study=data["study"],
            samples=data["samples"],
            runs=data["runs"],
            data_portals=tuple(data.get("data_portals", ("metagenome", "ena"))),
            private=bool(data.get("private", False)),
            webin_submitter=data.get("webin_submitter", ""),
            suppressed=list(data.get("suppressed", [])),
        )


def study_path(data_dir: Path, accession: str) -> Path:
    return studies_dir(data_dir) / f"{accession}.json"


def write_study(record: StudyRecord, data_dir: Path) -> Path:
    """Write ``record`` atomically (temporary file, then rename) and return its path."""
    path = study_path(data_dir, record.accession)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record.to_json(), separators=(",", ":")))
    tmp.replace(path)
    return path


def read_studies(data_dir: Path) -> list[StudyRecord]:
    folder = studies_dir(data_dir)
    if not folder.is_dir():
        return []
    return [StudyRecord.from_json(json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def _study_row(accession: str, secondary: str, title: str, description: str) -> dict[str, str]:
    return {
        "study_accession": accession,
        "secondary_study_accession": secondary,
        "study_title": title,
        "study_description": description,
        "tax_id": "256318",
        "scientific_name": "metagenome",
        "first_public": FIRST_PUBLIC,
        "center_name": CENTER_NAME,
        "last_updated": LAST_UPDATED,
    }


def _sample_row(study: dict[str, str], biosample: str, ena_sample: str, title: str, tax_id: str, name: str) -> dict:
    """A sample as ENA's ``sample`` result has it (its study by ``study_accession`` only, as ENA's)."""
    return {
        "sample_accession": biosample,
        "secondary_sample_accession": ena_sample,
        "sample_title": title,
        "tax_id": tax_id,
        "scientific_name": name,
        "first_public": FIRST_PUBLIC,
        "collection_date": "2023-06-01",
        "country": "United Kingdom: Hinxton",
        "location": "52.08 N 0.19 E",
        "lat": "52.08",
        "lon": "0.19",
        "environment_biome": "synthetic mock community",
        "last_updated": LAST_UPDATED,
        "study_accession": study["study_accession"],
    }


#: Sample fields ENA's ``read_run`` result repeats on each run of the sample.
_RUN_SAMPLE_FIELDS = ("sample_title", "location", "lat", "lon", "host_tax_id", "host_scientific_name")


def _files_fields(prefix: str, files: Sequence[tuple[str, str, int]]) -> dict[str, str]:
    """``<prefix>_ftp``/``_md5``/``_bytes``: ``;``-joined, same order (nothing when there are no files)."""
    if not files:
        return {}
    return {
        f"{prefix}_ftp": ";".join(path for path, _md5, _size in files),
        f"{prefix}_md5": ";".join(md5 for _path, md5, _size in files),
        f"{prefix}_bytes": ";".join(str(size) for _path, _md5, size in files),
    }


def _run_row(
    study: dict[str, str],
    sample: dict[str, str],
    *,
    run: str,
    experiment: str,
    strategy: str,
    source: str,
    selection: str,
    layout: str,
    model: str,
    read_count: int,
    base_count: int,
    files: list[tuple[str, str, int]],
    nominal_length: int | None = None,
) -> dict[str, str]:
    row = {
        "run_accession": run,
        "experiment_accession": experiment,
        "sample_accession": sample["sample_accession"],
        "secondary_sample_accession": sample["secondary_sample_accession"],
        "study_accession": study["study_accession"],
        "secondary_study_accession": study["secondary_study_accession"],
        "library_strategy": strategy,
        "library_layout": layout,
        "library_source": source,
        "library_selection": selection,
        "library_name": f"{sample['secondary_sample_accession']}_lib",
        "instrument_platform": "ILLUMINA",
        "instrument_model": model,
        "read_count": str(read_count),
        "base_count": str(base_count),
        **_files_fields("fastq", files),
        "tax_id": sample["tax_id"],
        "scientific_name": sample["scientific_name"],
        "center_name": CENTER_NAME,
        "first_public": FIRST_PUBLIC,
        "last_updated": LAST_UPDATED,
        **{name: sample[name] for name in _RUN_SAMPLE_FIELDS if name in sample},
    }
    if nominal_length is not None:
        row["nominal_length"] = str(nominal_length)
    return row


def synthetic_genomes(seed: int = SYNTHETIC_SEED) -> list[Genome]:
    """The synthetic study's three genomes, with :data:`PLANTED_PROTEINS` and :data:`PLANTED_RRNA`. Deterministic."""
    rng = random.Random(seed)
    proteins = load_proteins()
    rrna = load_rrna()
    return [
        coding_genome(
            rng,
            name=name,
            length=length,
            gc=gc,
            planted=[(protein, proteins[protein].protein) for protein in planted],
            operons=[[(gene, rrna[gene].sequence) for gene in operon] for operon in operons],
        )
        for (name, length, gc), planted, operons in zip(GENOME_SPECS, PLANTED_PROTEINS, PLANTED_RRNA, strict=True)
    ]


def write_planted_table(path: Path, genomes: list[Genome]) -> None:
    """Write the planted proteins as TSV: genome, gene, protein (its source name), pfam (the accessions
    of the models whose domains it carries, comma-separated), start (1-based), end, strand, sequence."""
    proteins = load_proteins()
    lines = ["genome\tgene\tprotein\tpfam\tstart\tend\tstrand\tsequence"]
    for genome in genomes:
        lines += [
            f"{genome.name}\t{g.name}\t{g.label}\t{','.join(proteins[g.label].families)}"
            f"\t{g.start + 1}\t{g.end}\t{g.strand}\t{g.protein}"
            for g in genome.planted
        ]
    path.write_text("\n".join(lines) + "\n")


def write_rrna_table(path: Path, genomes: list[Genome]) -> None:
    """Write the planted rRNA genes as TSV: genome, gene, kingdom, type (SSU, 5S), model (barrnap's),
    start (1-based), end, strand."""
    rrna = load_rrna()
    lines = ["genome\tgene\tkingdom\ttype\tmodel\tstart\tend\tstrand"]
    for genome in genomes:
        for g in genome.planted_rna:
            source = rrna[g.label]
            lines.append(
                f"{genome.name}\t{g.name}\t{source.kingdom}\t{source.gene}\t{source.model}"
                f"\t{g.start + 1}\t{g.end}\t{g.strand}"
            )
    path.write_text("\n".join(lines) + "\n")


def generate_synthetic_study(data_dir: Path = DEFAULT_DATA_DIR, *, seed: int = SYNTHETIC_SEED) -> StudyRecord:
    """Simulate the synthetic study's reads into ``data_dir`` and write its record. Deterministic.

    Also writes the source genomes to ``<data_dir>/genomes/PRJEB90001.fasta`` (for checking assemblies)
    their planted proteins to ``<data_dir>/genomes/PRJEB90001.planted.tsv`` and their planted rRNA genes
    to ``<data_dir>/genomes/PRJEB90001.rrna.tsv``.
    """
    genomes = synthetic_genomes(seed)
    (data_dir / "genomes").mkdir(parents=True, exist_ok=True)
    write_fasta(data_dir / "genomes" / f"{SYNTHETIC_STUDY_ACCESSION}.fasta", genomes)
    write_planted_table(data_dir / "genomes" / f"{SYNTHETIC_STUDY_ACCESSION}.planted.tsv", genomes)
    write_rrna_table(data_dir / "genomes" / f"{SYNTHETIC_STUDY_ACCESSION}.rrna.tsv", genomes)
    study = _study_row(
        SYNTHETIC_STUDY_ACCESSION,
        SYNTHETIC_SECONDARY_STUDY_ACCESSION,
        "Synthetic mock community metagenomes (local ENA mirror)",
        "Shotgun metagenomes simulated from three coding-like genomes mixed in different proportions;"
        " the genomes carry real Pfam proteins (kinases, fibronectin type III, globins) and rRNA operons.",
    )
    samples, runs = [], []
    for index, (pairs, proportions) in enumerate(SYNTHETIC_SAMPLES, start=1):
        sample = _sample_row(
            study,
            f"SAMEA9000000{index}",
            f"ERS900000{index}",
            f"Synthetic mock community sample {index}",
            "256318",
            "metagenome",
        )
        run = f"ERR900000{index}"
        relative = fastq_dir(run)
        folder = data_dir / relative
        folder.mkdir(parents=True, exist_ok=True)
        outputs = [folder / name for name in fastq_names(run, paired=True)]
        written = simulate_reads(
            random.Random(f"{seed}-{run}"),
            genomes,
            proportions,
            run_accession=run,
            pairs=pairs,
            outputs=outputs,
            read_length=READ_LENGTH,
        )
        files = [(f"{relative}/{w.path.name}", w.md5, w.bytes) for w in written]
        samples.append(sample)
        runs.append(
            _run_row(
                study,
                sample,
                run=run,
                experiment=f"ERX900000{index}",
                strategy="WGS",
                source="METAGENOMIC",
                selection="RANDOM",
                layout="PAIRED",
                model="Illumina NovaSeq 6000",
                read_count=pairs,
                base_count=2 * READ_LENGTH * pairs,
                files=files,
                nominal_length=350,
            )
        )
    record = StudyRecord(study=study, samples=samples, runs=runs)
    write_study(record, data_dir)
    return record


def generate_amplicon_study(data_dir: Path = DEFAULT_DATA_DIR, *, seed: int = SYNTHETIC_SEED) -> StudyRecord:
    """One single-end AMPLICON run (5,000 reads of 250 bp from one short locus). Deterministic."""
    rng = random.Random(f"{seed}-amplicon")
    locus = coding_genome(rng, name="amplicon_locus", length=1_500, gc=0.55)
    study = _study_row(
        AMPLICON_STUDY_ACCESSION,
        AMPLICON_SECONDARY_STUDY_ACCESSION,
        "Synthetic amplicon study (local ENA mirror)",
        "Single-end amplicon reads simulated from one locus.",
    )
    sample = _sample_row(study, "SAMEA90000101", "ERS9000101", "Synthetic amplicon sample", "256318", "metagenome")
    run = "ERR9000101"
    relative = fastq_dir(run)
    (data_dir / relative).mkdir(parents=True, exist_ok=True)
    reads = 5_000
    written = simulate_reads(
        rng,
        [locus],
        [1.0],
        run_accession=run,
        pairs=reads,
        outputs=[data_dir / relative / fastq_names(run, paired=False)[0]],
        read_length=250,
        fragment_mean=400,
        fragment_sd=10,
    )
    files = [(f"{relative}/{w.path.name}", w.md5, w.bytes) for w in written]
    record = StudyRecord(
        study=study,
        samples=[sample],
        runs=[
            _run_row(
                study,
                sample,
                run=run,
                experiment="ERX9000101",
                strategy="AMPLICON",
                source="METAGENOMIC",
                selection="PCR",
                layout="SINGLE",
                model="Illumina MiSeq",
                read_count=reads,
                base_count=250 * reads,
                files=files,
            )
        ],
    )
    write_study(record, data_dir)
    return record


def large_study_record(
    n_runs: int = 25_000,
    *,
    runs_per_sample: int = 5,
    accession: str = LARGE_STUDY_ACCESSION,
    secondary: str = LARGE_SECONDARY_STUDY_ACCESSION,
    run_start: int = 9_100_001,
    sample_start: int = 9_100_001,
    seed: int = SYNTHETIC_SEED,
) -> StudyRecord:
    """A metadata-only study of ``n_runs`` paired-end runs (FASTQ files not materialised). Deterministic.

    :param n_runs: how many runs (ERR accessions from ``run_start``)
    :param runs_per_sample: runs per sample (SAMEA/ERS accessions from ``sample_start``)
    """
    rng = random.Random(f"{seed}-large-{accession}-{n_runs}")
    study = _study_row(
        accession, secondary, f"Large synthetic metagenome survey ({n_runs} runs)", "Metadata-only benchmark study."
    )
    n_samples = max(1, -(-n_runs // runs_per_sample))
    samples = [
        _sample_row(
            study,
            f"SAMEA{sample_start + i}",
            f"ERS{sample_start + i}",
            f"Survey sample {i + 1}",
            "256318",
            "metagenome",
        )
        for i in range(n_samples)
    ]
    runs = []
    for i in range(n_runs):
        run = f"ERR{run_start + i}"
        pairs = rng.randint(50_000, 5_000_000)
        relative = fastq_dir(run)
        files = [
            (f"{relative}/{name}", hashlib.md5(f"{run}/{name}".encode()).hexdigest(), pairs * 70 + rng.randint(0, 999))
            for name in fastq_names(run, paired=True)
        ]
        runs.append(
            _run_row(
                study,
                samples[i // runs_per_sample],
                run=run,
                experiment=f"ERX{run_start + i}",
                strategy="WGS",
                source="METAGENOMIC",
                selection="RANDOM",
                layout="PAIRED",
                model=rng.choice(["Illumina NovaSeq 6000", "Illumina HiSeq 2500", "Illumina NextSeq 500"]),
                read_count=pairs,
                base_count=pairs * 300,
                files=files,
                nominal_length=350,
            )
        )
    return StudyRecord(study=study, samples=samples, runs=runs)


def _relative(data_dir: Path, written: Sequence[WrittenFile]) -> list[tuple[str, str, int]]:
    """(path relative to the data dir, md5, bytes) of written files, as ``fastq_ftp`` stores them."""
    return [(w.path.relative_to(data_dir).as_posix(), w.md5, w.bytes) for w in written]


def _simulate(
    data_dir: Path,
    genomes: list[Genome],
    *,
    seed: int,
    label: str,
    reads: int,
    names: Sequence[str],
    folder: str,
) -> list[tuple[str, str, int]]:
    """Simulate ``reads`` reads (pairs when two names) named ``@<label>.<i>`` into ``folder``."""
    (data_dir / folder).mkdir(parents=True, exist_ok=True)
    written = simulate_reads(
        random.Random(f"{seed}-{label}"),
        genomes,
        (0.4, 0.35, 0.25),
        run_accession=label,
        pairs=reads,
        outputs=[data_dir / folder / name for name in names],
        read_length=READ_LENGTH,
    )
    return _relative(data_dir, written)


def _submitted(data_dir: Path, run: str, files: list[tuple[str, str, int]], names: Sequence[str]) -> dict[str, str]:
    """The files as their submitter uploaded them (same bytes, their own names) under ``vol1/run/``.

    ENA keeps submitted files apart from the FASTQ it generates; here they are hard links to the
    FASTQ files (copies where links are impossible), listed in ``submitted_ftp``/``_md5``/``_bytes``.
    """
    folder = submitted_dir(run)
    (data_dir / folder).mkdir(parents=True, exist_ok=True)
    listed = []
    for (path, md5, size), name in zip(files, names, strict=True):
        target = data_dir / folder / name
        target.unlink(missing_ok=True)
        try:
            os.link(data_dir / path, target)
        except OSError:
            target.write_bytes((data_dir / path).read_bytes())
        listed.append((f"{folder}/{name}", md5, size))
    return {**_files_fields("submitted", listed), "submitted_format": ";".join("FASTQ" for _ in names)}


def generate_layouts_study(
    data_dir: Path = DEFAULT_DATA_DIR, *, seed: int = SYNTHETIC_SEED, genomes: list[Genome] | None = None
) -> StudyRecord:
    """One run of every file layout ENA serves (see the module docstring), real FASTQ. Deterministic.

    :param genomes: the synthetic genomes to draw reads from (default :func:`synthetic_genomes`)
    """
    genomes = genomes or synthetic_genomes(seed)
    study = _study_row(
        LAYOUTS_STUDY_ACCESSION,
        LAYOUTS_SECONDARY_STUDY_ACCESSION,
        LAYOUTS_STUDY_TITLE,
        "One small run of each FASTQ file layout ENA serves, blank and broken records included.",
    )
    pairs = LAYOUT_PAIRS
    paired_bases = 2 * READ_LENGTH * pairs
    samples: list[dict[str, str]] = []
    runs: list[dict[str, str]] = []

    def add(run: str, what: str, files: list[tuple[str, str, int]], **values: Any) -> dict[str, str]:
        index = run[-2:]
        sample = _sample_row(
            study, f"SAMEA900004{index}", f"ERS900040{index[-1]}", f"Layout sample: {what}", "256318", "metagenome"
        )
        samples.append(sample)
        defaults: dict[str, Any] = {
            "layout": "PAIRED",
            "model": "Illumina NovaSeq 6000",
            "read_count": pairs,
            "base_count": paired_bases,
            "nominal_length": 350,
        }
        defaults.update(values)
        row = _run_row(
            study,
            sample,
            run=run,
            experiment=f"ERX900040{index[-1]}",
            strategy="WGS",
            source="METAGENOMIC",
            selection="RANDOM",
            files=files,
            **defaults,
        )
        runs.append(row)
        return row

    def simulate(run: str, names: Sequence[str], *, label: str | None = None, reads: int = pairs):
        return _simulate(
            data_dir, genomes, seed=seed, label=label or run, reads=reads, names=names, folder=fastq_dir(run)
        )

    # single-end
    run = LAYOUT_SINGLE_RUN
    files = simulate(run, fastq_names(run, paired=False))
    row = add(run, "single-end", files, layout="SINGLE", base_count=READ_LENGTH * pairs, nominal_length=None)
    row.update(_submitted(data_dir, run, files, ["layout_single_reads.fastq.gz"]))

    # blank where ENA leaves blanks, the BioSample accession of run and sample included
    run = LAYOUT_BLANKS_RUN
    row = add(run, "blank record", simulate(run, fastq_names(run, paired=True)))
    row.update(library_layout="", read_count="", base_count="", instrument_model="", first_public="")
    row["sample_accession"] = samples[-1]["sample_accession"] = ""

    # paired plus unpaired reads, the unpaired file first
    run = LAYOUT_THREE_FILE_RUN
    unpaired = simulate(run, fastq_names(run, paired=False), label=f"{run}.orphan", reads=LAYOUT_UNPAIRED_READS)
    files = unpaired + simulate(run, fastq_names(run, paired=True))
    row = add(
        run,
        "paired with unpaired reads",
        files,
        read_count=pairs + LAYOUT_UNPAIRED_READS,
        base_count=paired_bases + READ_LENGTH * LAYOUT_UNPAIRED_READS,
    )
    row.update(_submitted(data_dir, run, files, ["s3_unpaired.fastq.gz", "s3_R1.fastq.gz", "s3_R2.fastq.gz"]))

    # an empty md5 slot for the second file
    run = LAYOUT_BROKEN_RUN
    row = add(run, "missing md5", simulate(run, fastq_names(run, paired=True)))
    row["fastq_md5"] = row["fastq_md5"].split(";")[0] + ";"

    # PAIRED, two files of single-end reads whose names do not say which mate is which
    run = LAYOUT_UNTAKEABLE_RUN
    files = [
        *simulate(run, LAYOUT_UNTAKEABLE_NAMES[:1], label=f"{run}.lane1"),
        *simulate(run, LAYOUT_UNTAKEABLE_NAMES[1:], label=f"{run}.lane2"),
    ]
    add(run, "unnamed mates", files, read_count=2 * pairs, base_count=paired_bases)

    # Illumina file names in the run's ENA directory
    run = LAYOUT_ILLUMINA_NAMES_RUN
    files = simulate(run, LAYOUT_ILLUMINA_NAMES)
    row = add(run, "Illumina file names", files)
    row.update(_submitted(data_dir, run, files, list(LAYOUT_ILLUMINA_NAMES)))

    # suppressed: on disk and in the record, never served
    run = LAYOUT_SUPPRESSED_RUN
    add(run, "suppressed run", simulate(run, fastq_names(run, paired=True)))

    record = StudyRecord(study=study, samples=samples, runs=runs, suppressed=[LAYOUT_SUPPRESSED_RUN])
    write_study(record, data_dir)
    return record


def generate_private_study(
    data_dir: Path = DEFAULT_DATA_DIR, *, seed: int = SYNTHETIC_SEED, genomes: list[Genome] | None = None
) -> StudyRecord:
    """A private study of ``PRIVATE_STUDY_WEBIN_ACCOUNT``: one sample, one paired run. Deterministic.

    :param genomes: the synthetic genomes to draw reads from (default :func:`synthetic_genomes`)
    """
    genomes = genomes or synthetic_genomes(seed)
    study = _study_row(
        PRIVATE_STUDY_ACCESSION,
        PRIVATE_SECONDARY_STUDY_ACCESSION,
        "Synthetic private metagenome (local ENA mirror)",
        "A study only its Webin submitter can see, files included.",
    )
    sample = _sample_row(study, "SAMEA90000501", "ERS9000501", "Private synthetic sample", "256318", "metagenome")
    run = PRIVATE_STUDY_RUN
    files = _simulate(
        data_dir,
        genomes,
        seed=seed,
        label=run,
        reads=LAYOUT_PAIRS,
        names=fastq_names(run, paired=True),
        folder=fastq_dir(run),
    )
    record = StudyRecord(
        study=study,
        samples=[sample],
        runs=[
            _run_row(
                study,
                sample,
                run=run,
                experiment="ERX9000501",
                strategy="WGS",
                source="METAGENOMIC",
                selection="RANDOM",
                layout="PAIRED",
                model="Illumina NovaSeq 6000",
                read_count=LAYOUT_PAIRS,
                base_count=2 * READ_LENGTH * LAYOUT_PAIRS,
                files=files,
                nominal_length=350,
            )
        ],
        private=True,
        webin_submitter=PRIVATE_STUDY_WEBIN_ACCOUNT,
    )
    write_study(record, data_dir)
    return record


def mirror_webin_accounts(data_dir: Path = DEFAULT_DATA_DIR) -> dict[str, str]:
    """The Webin accounts (account -> password) of ``<data_dir>/webin_accounts.json``; {} without one."""
    try:
        data = json.loads(webin_accounts_path(data_dir).read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{webin_accounts_path(data_dir)}: expected a JSON object of account -> password")
    return {str(account): str(password) for account, password in data.items()}


def ensure_webin_accounts(data_dir: Path = DEFAULT_DATA_DIR) -> dict[str, str]:
    """Make sure ``webin_accounts.json`` has a password for ``PRIVATE_STUDY_WEBIN_ACCOUNT``; return all accounts.

    A random password (``secrets.token_urlsafe``), so no two data dirs share one; the file is
    written mode 0600 (created with it, never readable by others in between).
    """
    accounts = mirror_webin_accounts(data_dir)
    if PRIVATE_STUDY_WEBIN_ACCOUNT in accounts:
        return accounts
    accounts[PRIVATE_STUDY_WEBIN_ACCOUNT] = secrets.token_urlsafe(24)
    path = webin_accounts_path(data_dir)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(accounts, handle, indent=2)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return accounts


def _stored(data_dir: Path, accession: str) -> dict[str, Any] | None:
    """The stored record of ``accession`` if this :data:`GENERATOR_VERSION` wrote it, else None."""
    path = study_path(data_dir, accession)
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if data.get("generator_version") == GENERATOR_VERSION else None


def ensure_mirror_data(data_dir: Path = DEFAULT_DATA_DIR, *, large_runs: int | None = None) -> Path:
    """Generate whatever of the standard studies is missing or stale in ``data_dir``; return ``data_dir``.

    Also makes ``<data_dir>/webin_accounts.json`` (the private study's Webin password) if it lacks one.

    A study is stale when its record was written by another :data:`GENERATOR_VERSION` (or none):
    it is generated again, files included. Safe to call from several processes: each study's record
    is written last and atomically, so a study whose current record exists is complete.

    :param large_runs: also make the metadata-only large study with this many runs, if absent, stale
        or of another size
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    if _stored(data_dir, SYNTHETIC_STUDY_ACCESSION) is None:
        generate_synthetic_study(data_dir)
    if _stored(data_dir, AMPLICON_STUDY_ACCESSION) is None:
        generate_amplicon_study(data_dir)
    genomes: list[Genome] = []  # made once, only if a study below needs them
    for accession, generate in (
        (LAYOUTS_STUDY_ACCESSION, generate_layouts_study),
        (PRIVATE_STUDY_ACCESSION, generate_private_study),
    ):
        if _stored(data_dir, accession) is None:
            genomes = genomes or synthetic_genomes()
            generate(data_dir, genomes=genomes)
    ensure_webin_accounts(data_dir)
    if large_runs:
        current = _stored(data_dir, LARGE_STUDY_ACCESSION)
        if current is None or len(current["runs"]) != large_runs:
            write_study(large_study_record(large_runs), data_dir)
    return data_dir
