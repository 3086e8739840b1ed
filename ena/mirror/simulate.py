"""Seeded simulation of coding-like genomes and Illumina-like reads, in plain Python.

Genomes are built from open reading frames (ATG, sense codons, a stop codon) on both strands with
short intergenic spacers, so a gene caller such as prodigal finds a realistic number of genes.
"""

from __future__ import annotations

import gzip
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

STOP_CODONS = frozenset({"TAA", "TAG", "TGA"})
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
_SUBSTITUTE = {"A": "CGT", "C": "AGT", "G": "ACT", "T": "ACG"}


def reverse_complement(sequence: str) -> str:
    return sequence.translate(_COMPLEMENT)[::-1]


@dataclass(frozen=True)
class Genome:
    name: str
    sequence: str
    gene_count: int


def _sense_codons(rng: random.Random, count: int, gc: float) -> list[str]:
    weights = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    codons: list[str] = []
    while len(codons) < count:
        bases = rng.choices("ACGT", weights=weights, k=3 * (count - len(codons)) + 30)
        for i in range(0, len(bases) - 2, 3):
            codon = bases[i] + bases[i + 1] + bases[i + 2]
            if codon not in STOP_CODONS:
                codons.append(codon)
                if len(codons) == count:
                    break
    return codons


def coding_genome(rng: random.Random, *, name: str, length: int, gc: float) -> Genome:
    """A genome of about ``length`` bp made of ORFs (100-450 codons) on both strands, ~88% coding.

    :param rng: the seeded random source
    :param name: the FASTA name of the genome
    :param length: the target length in bp
    :param gc: the GC fraction of the coding sequence
    """
    weights = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    parts: list[str] = []
    total = 0
    genes = 0
    while total < length:
        spacer = "".join(rng.choices("ACGT", weights=weights, k=rng.randint(20, 120)))
        gene = "ATG" + "".join(_sense_codons(rng, rng.randint(100, 450), gc)) + rng.choice(sorted(STOP_CODONS))
        if rng.random() < 0.5:
            gene = reverse_complement(gene)
        parts += [spacer, gene]
        total += len(spacer) + len(gene)
        genes += 1
    return Genome(name=name, sequence="".join(parts), gene_count=genes)


def _quality_pool(rng: random.Random, read_length: int, size: int = 64) -> list[str]:
    """Phred+33 quality strings: high at the start, slowly declining and noisier towards the 3' end."""
    pool = []
    for _ in range(size):
        quals = []
        for i in range(read_length):
            mean = 38 - 10 * (i / read_length) ** 2
            q = int(min(41, max(2, rng.gauss(mean, 2 + 3 * i / read_length))))
            quals.append(chr(33 + q))
        pool.append("".join(quals))
    return pool


def _with_errors(rng: random.Random, read: str, error_rate: float) -> str:
    if rng.random() >= error_rate * len(read):
        return read
    position = rng.randrange(len(read))
    base = read[position]
    return read[:position] + rng.choice(_SUBSTITUTE.get(base, "ACGT")) + read[position + 1 :]


def _gzip_writer(raw: BinaryIO) -> gzip.GzipFile:
    # mtime=0 and an empty filename make the gzip bytes depend only on the content.
    return gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    md5: str
    bytes: int


def file_digest(path: Path) -> WrittenFile:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return WrittenFile(path=path, md5=digest.hexdigest(), bytes=path.stat().st_size)


def simulate_reads(
    rng: random.Random,
    genomes: Sequence[Genome],
    proportions: Sequence[float],
    *,
    run_accession: str,
    pairs: int,
    outputs: Sequence[Path],
    read_length: int = 150,
    fragment_mean: int = 350,
    fragment_sd: int = 30,
    error_rate: float = 0.002,
) -> list[WrittenFile]:
    """Write gzipped FASTQ reads drawn from ``genomes`` mixed in ``proportions``.

    Two outputs make paired-end reads (R1 forward, R2 the reverse complement of the fragment's
    other end); one output makes single-end reads. Headers follow ENA's ``@ERR123.1 1/1`` style.

    :returns: the written files with their md5 and size
    """
    paired = len(outputs) == 2
    quality = _quality_pool(rng, read_length)
    raws = [path.with_name(path.name + ".tmp").open("wb") for path in outputs]
    handles = [_gzip_writer(raw) for raw in raws]
    try:
        for i in range(1, pairs + 1):
            genome = rng.choices(genomes, weights=proportions)[0].sequence
            fragment_length = max(read_length, int(rng.gauss(fragment_mean, fragment_sd)))
            start = rng.randrange(0, len(genome) - fragment_length)
            fragment = genome[start : start + fragment_length]
            if rng.random() < 0.5:
                fragment = reverse_complement(fragment)
            reads = [fragment[:read_length]]
            if paired:
                reads.append(reverse_complement(fragment)[:read_length])
            for mate, (handle, read) in enumerate(zip(handles, reads, strict=True), start=1):
                read = _with_errors(rng, read, error_rate)
                record = f"@{run_accession}.{i} {i}/{mate}\n{read}\n+\n{rng.choice(quality)}\n"
                handle.write(record.encode("ascii"))
    finally:
        for handle, raw in zip(handles, raws, strict=True):
            handle.close()
            raw.close()
    written = []
    for path in outputs:
        path.with_name(path.name + ".tmp").replace(path)
        written.append(file_digest(path))
    return written


def write_fasta(path: Path, genomes: Sequence[Genome], width: int = 80) -> None:
    lines = []
    for genome in genomes:
        lines.append(f">{genome.name} genes={genome.gene_count} length={len(genome.sequence)}")
        lines += [genome.sequence[i : i + width] for i in range(0, len(genome.sequence), width)]
    path.write_text("\n".join(lines) + "\n")
