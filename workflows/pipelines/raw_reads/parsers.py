"""Parsers of the raw-reads tools' own outputs into ``analyses.schemas`` objects."""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

from analyses.schemas import AssemblyStats, ProfileHit, QualityControl, ReadStats, SequenceFileStats


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
    summary = report["summary"]
    filtering = report.get("filtering_result", {})
    return QualityControl(
        before_filtering=_read_stats(summary["before_filtering"]),
        after_filtering=_read_stats(summary["after_filtering"]),
        passed_filter_reads=filtering.get("passed_filter_reads"),
        low_quality_reads=filtering.get("low_quality_reads"),
        too_short_reads=filtering.get("too_short_reads"),
    )


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


def parse_hmmsearch_tblout(tblout: Path, profiles: Path | None = None) -> list[ProfileHit]:
    """Distinct proteins hit per profile, from ``hmmsearch --tblout``.

    :param tblout: hmmsearch's per-target table (only hits that passed its ``-E`` threshold)
    :param profiles: the HMM file searched; its profiles with no hit are reported with 0
    """
    hits: dict[str, set[str]] = {}
    if profiles is not None:
        for line in Path(profiles).read_text().splitlines():
            if line.startswith("NAME "):
                hits.setdefault(line.split(maxsplit=1)[1].strip(), set())
    for line in Path(tblout).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        target, query = fields[0], fields[2]
        hits.setdefault(query, set()).add(target)
    return [ProfileHit(profile=name, proteins_hit=len(targets)) for name, targets in sorted(hits.items())]


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
