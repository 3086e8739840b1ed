"""Seeded simulation of coding-like genomes and Illumina-like reads, in plain Python.

Genomes are built from open reading frames (ATG, sense codons, a stop codon) on both strands with
short intergenic spacers, so a gene caller such as prodigal finds a realistic number of genes.
Given proteins (real Pfam domain proteins, :mod:`devtools.ena_mirror.real_genes`) are planted among
them as genes, reverse-translated with codons drawn at the genome's own base composition; given
non-coding genes (rRNA) are planted as operons, laid down as they are.
"""

from __future__ import annotations

import gzip
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

STOP_CODONS = frozenset({"TAA", "TAG", "TGA"})
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
_SUBSTITUTE = {"A": "CGT", "C": "AGT", "G": "ACT", "T": "ACG"}
_BASES = "TCAG"
#: The standard genetic code (translation table 11 for bacteria): codon -> amino acid, ``*`` for stops.
GENETIC_CODE: dict[str, str] = {
    a + b + c: aa
    for (a, b, c), aa in zip(
        ((a, b, c) for a in _BASES for b in _BASES for c in _BASES),
        "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
        strict=True,
    )
}


def reverse_complement(sequence: str) -> str:
    return sequence.translate(_COMPLEMENT)[::-1]


def translate(sequence: str) -> str:
    """The protein of an in-frame coding ``sequence`` (standard code; ``*`` for stops, ``X`` otherwise)."""
    return "".join(GENETIC_CODE.get(sequence[i : i + 3], "X") for i in range(0, len(sequence) - 2, 3))


@dataclass(frozen=True)
class PlantedGene:
    """A given protein laid down as a gene of a simulated genome.

    :ivar name: the gene's name (e.g. ``synthetic_genome_1_gene_3``)
    :ivar label: what the protein is (e.g. its source, ``AKT1_HUMAN/150-408``)
    :ivar start: 0-based start of the gene (ATG..stop, or its reverse complement) on the genome
    :ivar end: exclusive end on the genome
    :ivar strand: ``+`` or ``-``
    :ivar protein: the encoded protein (without the stop)
    """

    name: str
    label: str
    start: int
    end: int
    strand: str
    protein: str


@dataclass(frozen=True)
class PlantedRna:
    """A given non-coding gene (e.g. a 16S rRNA) laid down in a simulated genome, as one of an operon.

    :ivar name: the gene's name (e.g. ``synthetic_genome_1_bacteria_16S_rRNA``)
    :ivar label: what the gene is (e.g. ``bacteria_16S_rRNA``)
    :ivar start: 0-based start on the genome
    :ivar end: exclusive end on the genome
    :ivar strand: ``+`` or ``-`` (the operon's strand)
    """

    name: str
    label: str
    start: int
    end: int
    strand: str


@dataclass(frozen=True)
class Genome:
    name: str
    sequence: str
    gene_count: int
    planted: tuple[PlantedGene, ...] = field(default=())
    planted_rna: tuple[PlantedRna, ...] = field(default=())

    def planted_sequence(self, gene: PlantedGene) -> str:
        """The coding sequence of a planted gene, 5' to 3' (ATG..stop)."""
        sequence = self.sequence[gene.start : gene.end]
        return sequence if gene.strand == "+" else reverse_complement(sequence)

    def rna_sequence(self, gene: PlantedRna) -> str:
        """The sequence of a planted non-coding gene, 5' to 3'."""
        sequence = self.sequence[gene.start : gene.end]
        return sequence if gene.strand == "+" else reverse_complement(sequence)


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


def _synonymous_codons(gc: float) -> dict[str, tuple[list[str], list[float]]]:
    """Amino acid -> its codons and their weights: the chance of the codon's bases at GC fraction ``gc``."""
    base_weight = {"A": (1 - gc) / 2, "C": gc / 2, "G": gc / 2, "T": (1 - gc) / 2}
    table: dict[str, tuple[list[str], list[float]]] = {}
    for codon, aa in sorted(GENETIC_CODE.items()):
        if aa != "*":
            codons, weights = table.setdefault(aa, ([], []))
            codons.append(codon)
            weights.append(base_weight[codon[0]] * base_weight[codon[1]] * base_weight[codon[2]])
    return table


def _expected_gc(protein: str, gc: float) -> float:
    """The GC fraction expected of ``protein``'s codons when drawn by :func:`_synonymous_codons` at ``gc``."""
    table = _synonymous_codons(gc)
    per_residue = {
        aa: sum(w * sum(base in "GC" for base in codon) for codon, w in zip(codons, weights, strict=True))
        / sum(weights)
        for aa, (codons, weights) in table.items()
    }
    return sum(per_residue[aa] for aa in protein) / (3 * len(protein))


def reverse_translate(rng: random.Random, protein: str, gc: float) -> str:
    """A gene (ATG, codons, a stop) encoding ``protein``, with about the GC fraction ``gc``.

    Each codon is drawn among its synonyms in proportion to the chance of its bases at a GC fraction
    chosen so that the gene's expected GC is ``gc`` (as far as the protein allows): the amino acids
    fix most first and second codon positions, so the synonymous choice makes up the difference, as
    codon usage does in real genomes. The planted gene then has the composition of its neighbours.

    :param rng: the seeded random source
    :param protein: the protein, starting with M (the start codon is always ATG)
    :param gc: the GC fraction of the genome's coding sequence
    :raises ValueError: if the protein does not start with M or has a residue outside the 20 standard ones
    """
    if not protein.startswith("M"):
        raise ValueError(f"a planted protein must start with M, not {protein[:1]!r}")
    unknown = set(protein) - {aa for aa in GENETIC_CODE.values() if aa != "*"}
    if unknown:
        raise ValueError(f"cannot reverse-translate residues {''.join(sorted(unknown))!r}")
    low, high = 0.02, 0.98
    for _ in range(30):  # bisection: the expected GC rises with the codon-choice GC
        middle = (low + high) / 2
        low, high = (middle, high) if _expected_gc(protein, middle) < gc else (low, middle)
    table = _synonymous_codons((low + high) / 2)
    codons = [rng.choices(*table[aa])[0] for aa in protein[1:]]
    return "ATG" + "".join(codons) + rng.choice(sorted(STOP_CODONS))


def _operon(rng: random.Random, genes: Sequence[tuple[str, str]], weights: list[float]) -> tuple[str, list[int]]:
    """The genes joined by random spacers of 250-450 bp (an internal transcribed spacer): the
    operon's sequence and each gene's offset in it."""
    parts: list[str] = []
    offsets: list[int] = []
    position = 0
    for index, (_label, dna) in enumerate(genes):
        if index:
            spacer = "".join(rng.choices("ACGT", weights=weights, k=rng.randint(250, 450)))
            parts.append(spacer)
            position += len(spacer)
        offsets.append(position)
        parts.append(dna)
        position += len(dna)
    return "".join(parts), offsets


def coding_genome(
    rng: random.Random,
    *,
    name: str,
    length: int,
    gc: float,
    planted: Sequence[tuple[str, str]] = (),
    operons: Sequence[Sequence[tuple[str, str]]] = (),
) -> Genome:
    """A genome of about ``length`` bp made of ORFs (100-450 codons) on both strands, ~88% coding.

    :param rng: the seeded random source
    :param name: the FASTA name of the genome
    :param length: the target length in bp (planted genes included)
    :param gc: the GC fraction of the coding sequence
    :param planted: (label, protein) pairs to lay down as genes too, at random places among the
        random ORFs and on random strands, reverse-translated with :func:`reverse_translate`
    :param operons: non-coding genes to lay down as they are, each operon a list of (label, DNA 5' to 3')
        joined by spacers on one random strand, at random places among the random ORFs
    """
    weights = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    # (label, protein or "" for an operon, DNA, [(label, offset, length)] of an operon's genes)
    units: list[tuple[str, str, str, list[tuple[str, int, int]]]] = [
        (label, protein, reverse_translate(rng, protein, gc), []) for label, protein in planted
    ]
    for genes in operons:
        dna, offsets = _operon(rng, genes, weights)
        members = [(label, offset, len(gene)) for (label, gene), offset in zip(genes, offsets, strict=True)]
        units.append(("operon", "", dna, members))
    planted_length = sum(len(dna) + 70 for _label, _protein, dna, _members in units)
    parts: list[str] = []
    total = 0
    genes = 0
    while total < length - planted_length:
        spacer = "".join(rng.choices("ACGT", weights=weights, k=rng.randint(20, 120)))
        gene = "ATG" + "".join(_sense_codons(rng, rng.randint(100, 450), gc)) + rng.choice(sorted(STOP_CODONS))
        if rng.random() < 0.5:
            gene = reverse_complement(gene)
        parts += [spacer, gene]
        total += len(spacer) + len(gene)
        genes += 1
    if not units:
        return Genome(name=name, sequence="".join(parts), gene_count=genes)
    if genes <= len(units):
        raise ValueError(f"{name}: {length} bp leave room for {genes} random genes, too few for {len(units)} planted")
    # Each planted unit goes after a distinct random gene other than the last, so none is at either end.
    slots = dict(zip(sorted(rng.sample(range(1, genes), len(units))), units, strict=True))
    sequence: list[str] = []
    position = 0
    records: list[PlantedGene] = []
    rna_records: list[PlantedRna] = []
    for index in range(genes):
        for part in parts[2 * index : 2 * index + 2]:
            sequence.append(part)
            position += len(part)
        if index + 1 not in slots:
            continue
        label, protein, dna, members = slots[index + 1]
        spacer = "".join(rng.choices("ACGT", weights=weights, k=rng.randint(20, 120)))
        strand = "+" if rng.random() < 0.5 else "-"
        start = position + len(spacer)
        sequence += [spacer, dna if strand == "+" else reverse_complement(dna)]
        position = start + len(dna)
        if not members:
            records.append(
                PlantedGene(
                    name=f"{name}_gene_{len(records) + 1}",
                    label=label,
                    start=start,
                    end=position,
                    strand=strand,
                    protein=protein,
                )
            )
            continue
        for member, offset, size in members:
            gene_start = start + offset if strand == "+" else position - offset - size
            rna_records.append(
                PlantedRna(
                    name=f"{name}_{member}", label=member, start=gene_start, end=gene_start + size, strand=strand
                )
            )
    return Genome(
        name=name,
        sequence="".join(sequence),
        gene_count=genes + len(records),
        planted=tuple(records),
        planted_rna=tuple(rna_records),
    )


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
        planted = f" planted={len(genome.planted)}" if genome.planted else ""
        planted += f" rrna={len(genome.planted_rna)}" if genome.planted_rna else ""
        lines.append(f">{genome.name} genes={genome.gene_count}{planted} length={len(genome.sequence)}")
        lines += [genome.sequence[i : i + width] for i in range(0, len(genome.sequence), width)]
    path.write_text("\n".join(lines) + "\n")
