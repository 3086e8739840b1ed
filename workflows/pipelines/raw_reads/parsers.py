"""Parsers of the raw-reads tools' own outputs into ``analyses.schemas`` objects."""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from analyses.schemas import (
    AssemblyStats,
    LengthHistogram,
    PfamAnnotations,
    PfamDomainCount,
    PfamThreshold,
    ProteinDomainHit,
    QualityControl,
    QualityCurve,
    ReadStats,
    RrnaAnnotations,
    RrnaCount,
    RrnaGene,
    RrnaGeneType,
    RrnaKingdom,
    SequenceFileStats,
)
from workflows.pipelines.raw_reads.rrna_deoverlap import BarrnapHit, read_barrnap_gff

#: Keys of fastp's JSON report.
FASTP_SUMMARY = "summary"
FASTP_BEFORE = "before_filtering"
FASTP_AFTER = "after_filtering"
FASTP_FILTERING = "filtering_result"
FASTP_QUALITY_CURVES = "quality_curves"
FASTP_MEAN_CURVE = "mean"
FASTP_MATES = ("read1", "read2")


def _read_stats(summary: dict) -> ReadStats:
    lengths = [summary[key] for key in ("read1_mean_length", "read2_mean_length") if summary.get(key)]
    return ReadStats(
        total_reads=summary["total_reads"],
        total_bases=summary["total_bases"],
        q20_rate=summary.get("q20_rate"),
        q30_rate=summary.get("q30_rate"),
        gc_content=summary.get("gc_content"),
        mean_read_length=sum(lengths) / len(lengths) if lengths else None,
    )


def parse_fastp_json(path: Path) -> QualityControl:
    """QC before and after filtering from fastp's ``--json`` report.

    :param path: fastp's JSON report
    """
    report = json.loads(Path(path).read_text())
    summary = report[FASTP_SUMMARY]
    filtering = report.get(FASTP_FILTERING, {})
    return QualityControl(
        before_filtering=_read_stats(summary[FASTP_BEFORE]),
        after_filtering=_read_stats(summary[FASTP_AFTER]),
        passed_filter_reads=filtering.get("passed_filter_reads"),
        low_quality_reads=filtering.get("low_quality_reads"),
        too_short_reads=filtering.get("too_short_reads"),
        quality_curves=fastp_quality_curves(report),
    )


def fastp_quality_curves(report: dict) -> list[QualityCurve]:
    """Mean quality per read position of each mate fastp saw (``read1_before_filtering.quality_curves.mean``).

    fastp reports ``read2_*`` sections only for paired-end input, so single-end runs have read1 only.
    """
    curves = []
    for mate in FASTP_MATES:
        before = report.get(f"{mate}_{FASTP_BEFORE}")
        after = report.get(f"{mate}_{FASTP_AFTER}")
        if before is None or after is None:
            continue
        curves.append(
            QualityCurve(
                mate=mate,
                before_filtering=before[FASTP_QUALITY_CURVES][FASTP_MEAN_CURVE],
                after_filtering=after[FASTP_QUALITY_CURVES][FASTP_MEAN_CURVE],
            )
        )
    return curves


def length_bin_edges(shortest: int, longest: int) -> list[int]:
    """Log-spaced "nice" bin edges (1, 2, 5 times powers of ten) from at most ``shortest`` to above ``longest``.

    Contig lengths span orders of magnitude (a few hundred bp to hundreds of kb), so equal-width bins
    would put almost every contig in the first one.
    """
    edges: list[int] = []
    power = 1
    while True:
        for step in (1, 2, 5):
            edge = step * power
            if edge <= shortest:
                edges = [edge]  # the largest such edge not above the shortest length starts the bins
                continue
            edges.append(edge)
            if edge > longest:
                return edges
        power *= 10


def length_histogram(lengths: Iterable[int]) -> LengthHistogram:
    """Lengths binned on :func:`length_bin_edges` (an empty histogram for no sequences)."""
    values = sorted(lengths)
    if not values:
        return LengthHistogram(bin_edges=[0], counts=[])
    edges = length_bin_edges(values[0], values[-1])
    counts = [0] * (len(edges) - 1)
    bin_index = 0
    for value in values:
        while value >= edges[bin_index + 1]:
            bin_index += 1
        counts[bin_index] += 1
    return LengthHistogram(bin_edges=edges, counts=counts)


def _number(value: str) -> float:
    return float(value.replace(",", ""))


def parse_seqkit_stats(path: Path) -> list[SequenceFileStats]:
    """Rows of ``seqkit stats -T -a`` (tab-separated, header line first).

    :param path: seqkit's table
    """
    rows = []
    with Path(path).open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            rows.append(
                SequenceFileStats(
                    file=row["file"],
                    format=row["format"],
                    type=row["type"],
                    num_seqs=int(_number(row["num_seqs"])),
                    sum_len=int(_number(row["sum_len"])),
                    min_len=int(_number(row["min_len"])),
                    avg_len=_number(row["avg_len"]),
                    max_len=int(_number(row["max_len"])),
                    n50=int(_number(row["N50"])) if row.get("N50") not in (None, "", "-") else None,
                )
            )
    return rows


def seqkit_gc_fraction(path: Path, file_name: str) -> float | None:
    """The ``GC(%)`` column of one file's row in a ``seqkit stats -a`` table, as a fraction."""
    with Path(path).open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["file"] == file_name and row.get("GC(%)") not in (None, "", "-"):
                return _number(row["GC(%)"]) / 100
    return None


def assembly_stats_from_seqkit(stats: SequenceFileStats, gc_content: float | None = None) -> AssemblyStats:
    """Assembly statistics from seqkit's row for the contigs file."""
    return AssemblyStats(
        contig_count=stats.num_seqs,
        total_length=stats.sum_len,
        n50=stats.n50 or 0,
        longest_contig=stats.max_len,
        shortest_contig=stats.min_len,
        gc_content=gc_content,
    )


_MEGAHIT_STAT = re.compile(
    r"(?:\[STAT\]\s+|- )(?P<contigs>\d+) contigs, total (?P<total>\d+) bp, min (?P<min>\d+) bp, "
    r"max (?P<max>\d+) bp, avg (?P<avg>\d+) bp, N50 (?P<n50>\d+) bp"
)


def parse_megahit_log(path: Path) -> AssemblyStats | None:
    """The final ``[STAT]`` line megahit prints (``3 contigs, total 150012 bp, ... N50 50046 bp``)."""
    matches = list(_MEGAHIT_STAT.finditer(Path(path).read_text(errors="replace")))
    if not matches:
        return None
    match = matches[-1]
    return AssemblyStats(
        contig_count=int(match["contigs"]),
        total_length=int(match["total"]),
        n50=int(match["n50"]),
        longest_contig=int(match["max"]),
        shortest_contig=int(match["min"]),
    )


@dataclass(frozen=True)
class HmmModel:
    """What the pipeline reports of a searched HMM: its name, accession, description, gathering cut-offs."""

    name: str
    accession: str | None
    description: str
    gathering: tuple[float, float] | None

    @property
    def key(self) -> str:
        """The accession with version (PF00069.17), or the name of a model without one."""
        return self.accession or self.name

    @property
    def threshold(self) -> PfamThreshold:
        return PfamThreshold.GATHERING if self.gathering else PfamThreshold.EVALUE


def read_hmm_models(path: Path) -> list[HmmModel]:
    """The models of an HMMER3 file (several concatenated), from their ``NAME``/``ACC``/``DESC``/``GA`` lines."""
    models: list[HmmModel] = []
    fields: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("//"):
            ga = fields.get("GA")
            models.append(
                HmmModel(
                    name=fields["NAME"],
                    accession=fields.get("ACC"),
                    description=fields.get("DESC", ""),
                    gathering=tuple(float(value) for value in ga.rstrip(";").split()[:2]) if ga else None,
                )
            )
            fields = {}
        elif line[:4].strip() in ("NAME", "ACC", "DESC", "GA") and not fields.get("HMM"):
            key, _, value = line.partition(" ")
            fields.setdefault(key, value.strip())
        elif line.startswith("HMM "):
            fields["HMM"] = "1"
    return models


def parse_domtblout(path: Path) -> list[ProteinDomainHit]:
    """Every row of ``hmmsearch --domtblout`` (each a domain that passed the search's thresholds).

    Columns (space-separated, the description last): target, accession, tlen, query name, query
    accession, qlen, full E-value, score, bias, #, of, c-Evalue, i-Evalue, domain score, bias, hmm
    from/to, ali from/to, env from/to, acc, description.
    """
    hits = []
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(maxsplit=22)
        hits.append(
            ProteinDomainHit(
                protein=fields[0],
                accession=fields[4] if fields[4] != "-" else fields[3],
                name=fields[3],
                score=float(fields[13]),
                i_evalue=float(fields[12]),
                envelope_start=int(fields[19]),
                envelope_end=int(fields[20]),
            )
        )
    return hits


def parse_pfam(domtblout: Path, models: Path) -> PfamAnnotations:
    """Pfam annotation from the pipeline's ``pfam`` step: its domain table and the models it searched.

    :param domtblout: the concatenated ``--domtblout`` of every model
    :param models: the concatenated models searched (each model's threshold follows from its GA line)
    """
    searched = read_hmm_models(models)
    hits = parse_domtblout(domtblout)
    by_model: dict[str, list[ProteinDomainHit]] = {}
    for hit in hits:  # one pass: a full Pfam search has thousands of models and millions of hits
        by_model.setdefault(hit.accession, []).append(hit)
    counts = []
    for model in searched:
        own = by_model.get(model.key)
        if own:
            counts.append(
                PfamDomainCount(
                    accession=model.key,
                    name=model.name,
                    description=model.description,
                    domains=len(own),
                    proteins=len({hit.protein for hit in own}),
                    threshold=model.threshold,
                )
            )
    counts.sort(key=lambda count: (-count.domains, count.accession))
    return PfamAnnotations(models=[model.key for model in searched], counts=counts, hits=hits)


#: barrnap's model names -> gene type (the mitochondrial 16S is the LSU of mitochondria).
_RRNA_TYPES: dict[str, RrnaGeneType] = {
    "16S_rRNA": RrnaGeneType.SSU,
    "18S_rRNA": RrnaGeneType.SSU,
    "12S_rRNA": RrnaGeneType.SSU,
    "23S_rRNA": RrnaGeneType.LSU,
    "28S_rRNA": RrnaGeneType.LSU,
    "5S_rRNA": RrnaGeneType.FIVE_S,
    "5_8S_rRNA": RrnaGeneType.FIVE_EIGHT_S,
}


def rrna_gene_type(model: str, kingdom: RrnaKingdom) -> RrnaGeneType:
    """The gene type of a barrnap model in a kingdom."""
    if kingdom == RrnaKingdom.MITOCHONDRIA and model == "16S_rRNA":
        return RrnaGeneType.LSU
    return _RRNA_TYPES[model]


def rrna_gene(hit: BarrnapHit) -> RrnaGene:
    kingdom = RrnaKingdom(hit.kingdom)
    return RrnaGene(
        contig=hit.contig,
        start=hit.start,
        end=hit.end,
        strand=hit.strand,
        kingdom=kingdom,
        gene=rrna_gene_type(hit.name, kingdom),
        model=hit.name,
        evalue=hit.evalue,
        partial=hit.partial,
    )


def parse_rrna(kept_gff: Path) -> RrnaAnnotations:
    """rRNA genes and their counts per kingdom and gene type, from the ``rrna`` step's de-overlapped GFF."""
    genes = [rrna_gene(hit) for hit in read_barrnap_gff(kept_gff)]
    tally: dict[tuple[RrnaKingdom, RrnaGeneType], int] = {}
    for gene in genes:
        tally[gene.kingdom, gene.gene] = tally.get((gene.kingdom, gene.gene), 0) + 1
    kingdoms, types = list(RrnaKingdom), list(RrnaGeneType)
    counts = [
        RrnaCount(kingdom=kingdom, gene=gene, count=count)
        for (kingdom, gene), count in sorted(
            tally.items(), key=lambda i: (kingdoms.index(i[0][0]), types.index(i[0][1]))
        )
    ]
    return RrnaAnnotations(counts=counts, genes=genes)


def fasta_lengths(path: Path) -> Iterator[int]:
    """Sequence lengths of a (optionally gzipped) FASTA file, streaming."""
    opener = gzip.open if str(path).endswith(".gz") else open
    length = None
    with opener(path, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                if length is not None:
                    yield length
                length = 0
            elif length is not None:
                length += len(line.strip())
    if length is not None:
        yield length
