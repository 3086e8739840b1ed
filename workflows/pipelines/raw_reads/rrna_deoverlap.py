"""Cross-kingdom de-overlap of barrnap's rRNA genes, as MGnify's ``cmsearch-deoverlap`` does for Rfam.

barrnap searches one kingdom's models at a time, so one real gene is usually hit by several
kingdoms' models (a bacterial 16S by the archaeal 16S, the eukaryotic 18S and the mitochondrial 12S
models too). Where genes of any kingdom overlap on a contig, the one with the lowest E-value is kept.

The 5S model (Rfam RF00001) is the same in the bacterial, archaeal and eukaryotic sets, so a 5S gene
is hit with exactly the same E-value by each: its own score cannot tell its kingdom. It takes the
kingdom of the best other rRNA gene kept on its contig (a 5S is in an operon with its SSU and LSU),
else the first of :data:`KINGDOMS` that hit it.

Plain Python (stdlib only): the pipeline's ``rrna`` step runs this file as a script on the node,
``python rrna_deoverlap.py <kept.gff> <barrnap.bac.gff> <barrnap.arc.gff> ...``; the parsers import it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

#: barrnap's ``--kingdom`` names, in tie-break order, and the names the kept GFF writes.
KINGDOMS: dict[str, str] = {"bac": "bacteria", "arc": "archaea", "euk": "eukaryota", "mito": "mitochondria"}
KINGDOM_ATTRIBUTE = "kingdom"
PARTIAL_MARK = "(partial)"


@dataclass(frozen=True)
class BarrnapHit:
    """One line of barrnap's GFF3, with the kingdom whose models found it.

    :ivar start: 1-based, inclusive (GFF)
    :ivar end: 1-based, inclusive
    :ivar attributes: the GFF attributes column as barrnap wrote it (``Name=16S_rRNA;product=...``)
    """

    contig: str
    source: str
    start: int
    end: int
    evalue: float
    strand: str
    attributes: str
    kingdom: str

    @property
    def name(self) -> str:
        return self.attribute("Name")

    @property
    def partial(self) -> bool:
        """barrnap marks a gene shorter than ``--lencutoff`` of its model with ``product=... (partial)``."""
        return PARTIAL_MARK in self.attribute("product")

    def attribute(self, key: str) -> str:
        for item in self.attributes.split(";"):
            name, _, value = item.partition("=")
            if name == key:
                return value
        return ""

    def overlaps(self, other: BarrnapHit) -> bool:
        return self.contig == other.contig and self.start <= other.end and other.start <= self.end

    def gff_line(self) -> str:
        attributes = f"{self.attributes};{KINGDOM_ATTRIBUTE}={self.kingdom}"
        return "\t".join(
            [self.contig, self.source, "rRNA", str(self.start), str(self.end), f"{self.evalue:g}", self.strand, "."]
            + [attributes]
        )


def read_barrnap_gff(path: Path, kingdom: str | None = None) -> list[BarrnapHit]:
    """barrnap's GFF3 (or a kept GFF written by :func:`write_gff`).

    :param path: the GFF file
    :param kingdom: the kingdom of every line (barrnap's ``--kingdom``, short or long name); ``None``
        to read it from each line's ``kingdom=`` attribute
    """
    hits = []
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        attributes = fields[8]
        line_kingdom = KINGDOMS.get(kingdom, kingdom) if kingdom else None
        if line_kingdom is None:
            kept = [item for item in attributes.split(";") if not item.startswith(f"{KINGDOM_ATTRIBUTE}=")]
            line_kingdom = next(
                item.partition("=")[2] for item in attributes.split(";") if item.startswith(f"{KINGDOM_ATTRIBUTE}=")
            )
            attributes = ";".join(kept)
        hits.append(
            BarrnapHit(
                contig=fields[0],
                source=fields[1],
                start=int(fields[3]),
                end=int(fields[4]),
                evalue=float(fields[5]),
                strand=fields[6],
                attributes=attributes,
                kingdom=line_kingdom,
            )
        )
    return hits


def _kingdom_rank(kingdom: str) -> int:
    names = list(KINGDOMS.values())
    return names.index(kingdom) if kingdom in names else len(names)


def deoverlap(hits: list[BarrnapHit]) -> list[BarrnapHit]:
    """The hits left when, of every set of overlapping hits on a contig, only the best is kept.

    Best is the lowest E-value; a hit tied with a kept one (same model, same E-value: the shared 5S
    model) is noted, and the kept hit then takes the kingdom of the best untied gene kept on its contig
    if that kingdom is among the tied ones. Returned in contig, then start order.
    """
    kept: list[BarrnapHit] = []
    tied: dict[int, set[str]] = {}
    for hit in sorted(hits, key=lambda h: (h.evalue, _kingdom_rank(h.kingdom), h.contig, h.start)):
        rival = next((index for index, other in enumerate(kept) if other.overlaps(hit)), None)
        if rival is None:
            kept.append(hit)
        elif kept[rival].evalue == hit.evalue and kept[rival].name == hit.name:
            tied.setdefault(rival, {kept[rival].kingdom}).add(hit.kingdom)
    resolved = []
    for index, hit in enumerate(kept):
        kingdoms = tied.get(index)
        if kingdoms:
            context = [o for i, o in enumerate(kept) if i not in tied and o.contig == hit.contig]
            best = min(context, key=lambda o: o.evalue, default=None)
            if best is not None and best.kingdom in kingdoms:
                hit = replace(hit, kingdom=best.kingdom)
        resolved.append(hit)
    return sorted(resolved, key=lambda h: (h.contig, h.start, h.end))


def write_gff(path: Path, hits: list[BarrnapHit]) -> None:
    """GFF3 of the kept genes, each with its kingdom as a ``kingdom=`` attribute."""
    Path(path).write_text("##gff-version 3\n" + "".join(hit.gff_line() + "\n" for hit in hits))


def kingdom_of_file(path: Path) -> str:
    """The kingdom of a ``barrnap.<kingdom>.gff`` file name."""
    return Path(path).name.split(".")[-2]


def main(argv: list[str]) -> int:
    """``rrna_deoverlap.py <kept.gff> <barrnap.bac.gff> ...``: write the de-overlapped genes."""
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    output, *inputs = argv
    hits = [hit for path in inputs for hit in read_barrnap_gff(Path(path), kingdom_of_file(Path(path)))]
    kept = deoverlap(hits)
    write_gff(Path(output), kept)
    print(f"{len(hits)} barrnap genes in {len(inputs)} kingdoms, {len(kept)} kept after de-overlap")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
