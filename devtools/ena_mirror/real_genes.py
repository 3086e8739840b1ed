"""Real genes the local ENA mirror plants in its synthetic genomes: Pfam proteins and rRNA genes.

The proteins are real: ungapped members of Pfam seed alignments (``Pkinase.sto``, ``fn3.sto``), a
whole UniProt protein (``7LESS_DROME``: fibronectin type III domains and a kinase domain) and globins
(``globins45.fa``), all from Debian's ``hmmer-examples`` (the HMMER tutorial). The rRNA genes are
drawn from barrnap's own models (Debian's ``barrnap``: Rfam-derived nucleotide HMMs) with
``hmmemit``. Both are cached next to this module (:data:`PROTEINS_FASTA`, :data:`RRNA_FASTA`), so
generating the mirror needs neither package nor any tool; ``python -m devtools.ena_mirror.real_genes``
rebuilds the files from the installed packages, and each record's header says where it came from
(the rRNA records carry the exact ``hmmfetch | hmmemit`` command).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

HMMER_TUTORIAL = Path("/usr/share/doc/hmmer/examples/tutorial")
BARRNAP_DB = Path("/usr/share/barrnap/db")
PROTEINS_FASTA = Path(__file__).with_name("planted_proteins.faa")
RRNA_FASTA = Path(__file__).with_name("planted_rrna.fasta")

#: Pfam accessions (with version) of the hmmer-examples models, as their ``ACC`` lines give them.
PKINASE = "PF00069.17"
FN3 = "PF00041.13"
#: ``globins4.hmm`` has no accession: the pipeline reports it by name.
GLOBIN = "globins4"


class ProteinSource(StrEnum):
    """The hmmer-examples file a planted protein is taken from."""

    PKINASE_SEED = "Pkinase.sto"
    FN3_SEED = "fn3.sto"
    UNIPROT = "7LESS_DROME"
    GLOBINS = "globins45.fa"


#: Planted proteins: (name in the source file, source, Pfam models whose domains it carries).
PROTEINS: tuple[tuple[str, ProteinSource, tuple[str, ...]], ...] = (
    ("AKT1_HUMAN/150-408", ProteinSource.PKINASE_SEED, (PKINASE,)),
    ("MK04_HUMAN/20-312", ProteinSource.PKINASE_SEED, (PKINASE,)),
    ("CDC5_YEAST/82-337", ProteinSource.PKINASE_SEED, (PKINASE,)),
    ("PIM1_HUMAN/129-381", ProteinSource.PKINASE_SEED, (PKINASE,)),
    ("WEE1_HUMAN/299-569", ProteinSource.PKINASE_SEED, (PKINASE,)),
    ("7LESS_DROME", ProteinSource.UNIPROT, (FN3, PKINASE)),
    ("FINC_BOVIN/1176-1257", ProteinSource.FN3_SEED, (FN3,)),
    ("EPHA2_HUMAN/330-419", ProteinSource.FN3_SEED, (FN3,)),
    ("ITB4_HUMAN/1128-1208", ProteinSource.FN3_SEED, (FN3,)),
    ("MYG_HORSE", ProteinSource.GLOBINS, (GLOBIN,)),
    ("HBA_MACFA", ProteinSource.GLOBINS, (GLOBIN,)),
    ("HBB_RABIT", ProteinSource.GLOBINS, (GLOBIN,)),
    ("HBB_COLLI", ProteinSource.GLOBINS, (GLOBIN,)),
    ("HBA_COLLI", ProteinSource.GLOBINS, (GLOBIN,)),
)


class Kingdom(StrEnum):
    """barrnap's model sets (``--kingdom``), by the names the pipeline's schema uses."""

    BACTERIA = "bacteria"
    ARCHAEA = "archaea"


#: barrnap's database file of each kingdom planted.
KINGDOM_DB = {Kingdom.BACTERIA: "bac.hmm", Kingdom.ARCHAEA: "arc.hmm"}

#: Planted rRNA genes: (name, kingdom, barrnap model, gene type, hmmemit options).
#: Debian's barrnap ships no 23S/28S models (their SILVA source is not free), so SSU and 5S only.
#: The 5S model (Rfam RF00001) is the same in every kingdom's file: the archaeal 5S is a seeded sample
#: rather than the consensus, so the two genomes do not share an identical 5S (a repeat megahit collapses).
RRNA: tuple[tuple[str, Kingdom, str, str, tuple[str, ...]], ...] = (
    ("bacteria_16S_rRNA", Kingdom.BACTERIA, "16S_rRNA", "SSU", ("-c",)),
    ("bacteria_5S_rRNA", Kingdom.BACTERIA, "5S_rRNA", "5S", ("-c",)),
    ("archaea_16S_rRNA", Kingdom.ARCHAEA, "16S_rRNA", "SSU", ("-c",)),
    ("archaea_5S_rRNA", Kingdom.ARCHAEA, "5S_rRNA", "5S", ("--seed", "7", "-N", "1")),
)

STANDARD_RESIDUES = frozenset("ACDEFGHIKLMNPQRSTVWY")


@dataclass(frozen=True)
class RealProtein:
    """A real protein to plant: its name, the Pfam models it carries, the source file, the sequence."""

    name: str
    families: tuple[str, ...]
    source: str
    protein: str


@dataclass(frozen=True)
class RealRrna:
    """An rRNA gene drawn from barrnap's model ``model`` of ``kingdom`` (DNA, 5' to 3')."""

    name: str
    kingdom: str
    model: str
    gene: str
    sequence: str


def _read_fasta_records(text: str) -> list[tuple[str, str]]:
    """(header without ``>``, sequence) pairs of FASTA text."""
    records: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith(">"):
            records.append((line[1:].strip(), []))
        elif records and line.strip():
            records[-1][1].append(line.strip())
    return [(header, "".join(parts)) for header, parts in records]


def _header_values(header: str) -> tuple[str, dict[str, str]]:
    name, *pairs = header.split(" ", 1)
    values = {}
    for item in pairs[0].split(" ") if pairs else ():
        key, _, value = item.partition("=")
        values[key] = value
    return name, values


def load_proteins(path: Path = PROTEINS_FASTA) -> dict[str, RealProtein]:
    """The cached real proteins by name (headers ``>name families=A,B source=file``)."""
    proteins = {}
    for header, sequence in _read_fasta_records(path.read_text()):
        name, values = _header_values(header)
        proteins[name] = RealProtein(
            name=name, families=tuple(values["families"].split(",")), source=values["source"], protein=sequence
        )
    return proteins


def load_rrna(path: Path = RRNA_FASTA) -> dict[str, RealRrna]:
    """The cached rRNA genes by name (headers ``>name kingdom=K model=M gene=G command=...``)."""
    genes = {}
    for header, sequence in _read_fasta_records(path.read_text()):
        name, values = _header_values(header.split(" command=", 1)[0])
        genes[name] = RealRrna(
            name=name, kingdom=values["kingdom"], model=values["model"], gene=values["gene"], sequence=sequence
        )
    return genes


def _stockholm_sequences(path: Path) -> dict[str, str]:
    """Ungapped, upper-cased sequences of a Stockholm alignment (``.``/``-`` are gaps)."""
    parts: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith(("#", "//")):
            continue
        name, aligned = line.split()
        parts.setdefault(name, []).append(aligned)
    return {name: "".join(chunks).replace(".", "").replace("-", "").upper() for name, chunks in parts.items()}


def _uniprot_sequence(path: Path) -> str:
    """The sequence of a UniProt flat file (the lines after ``SQ``, up to ``//``)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("SQ "))
    body = lines[start + 1 : lines.index("//", start)]
    return "".join("".join(line.split()) for line in body)


def _source_sequence(name: str, source: ProteinSource, tutorial: Path) -> str:
    if source is ProteinSource.UNIPROT:
        return _uniprot_sequence(tutorial / name)
    if source is ProteinSource.GLOBINS:
        return dict(_read_fasta_records((tutorial / source).read_text()))[name]
    return _stockholm_sequences(tutorial / source)[name]


def build_proteins(tutorial: Path = HMMER_TUTORIAL) -> list[RealProtein]:
    """Read :data:`PROTEINS` from hmmer-examples; a protein not starting with M gets one (a start codon).

    :raises ValueError: a protein has residues outside the 20 standard ones (it could not be reverse-translated)
    """
    proteins = []
    for name, source, families in PROTEINS:
        sequence = _source_sequence(name, source, tutorial)
        odd = set(sequence) - STANDARD_RESIDUES
        if odd:
            raise ValueError(f"{name}: non-standard residues {''.join(sorted(odd))}")
        protein = sequence if sequence.startswith("M") else "M" + sequence
        proteins.append(RealProtein(name=name, families=families, source=str(source), protein=protein))
    return proteins


def emit_command(kingdom: Kingdom, model: str, options: tuple[str, ...], db: Path = BARRNAP_DB) -> str:
    """The shell command that emits one rRNA gene from barrnap's model (RNA alphabet; U is read as T)."""
    return f"hmmfetch {db / KINGDOM_DB[kingdom]} {model} | hmmemit {' '.join(options)} -"


def build_rrna(db: Path = BARRNAP_DB) -> list[tuple[RealRrna, str]]:
    """Emit :data:`RRNA` with HMMER's ``hmmfetch``/``hmmemit``: (gene, the command that made it)."""
    genes = []
    for name, kingdom, model, gene, options in RRNA:
        command = emit_command(kingdom, model, options, db)
        output = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout
        sequence = _read_fasta_records(output)[0][1].upper().replace("U", "T")
        genes.append((RealRrna(name=name, kingdom=kingdom, model=model, gene=gene, sequence=sequence), command))
    return genes


def _wrap(sequence: str, width: int = 60) -> list[str]:
    return [sequence[i : i + width] for i in range(0, len(sequence), width)]


def write_cached_files() -> None:
    """Rebuild :data:`PROTEINS_FASTA` and :data:`RRNA_FASTA` from the installed Debian packages."""
    lines = []
    for protein in build_proteins():
        lines += [f">{protein.name} families={','.join(protein.families)} source={protein.source}"]
        lines += _wrap(protein.protein)
    PROTEINS_FASTA.write_text("\n".join(lines) + "\n")
    lines = []
    for gene, command in build_rrna():
        lines += [f">{gene.name} kingdom={gene.kingdom} model={gene.model} gene={gene.gene} command={command}"]
        lines += _wrap(gene.sequence)
    RRNA_FASTA.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    write_cached_files()
    print(PROTEINS_FASTA, RRNA_FASTA, sep="\n")
