"""The raw-reads pipeline's bundled profile families (EMGSYN001..003), as seeded random proteins.

A development tool (plain Python, stdlib only): the pipeline ships the seed alignments this writes
(``workflows/pipelines/raw_reads/profiles/*.afa``) as data and never imports this module; the local
ENA mirror (:mod:`devtools.ena_mirror`) imports it to plant family members in its synthetic genomes.


Each family is a random ancestor protein (``M`` then residues drawn at UniProt background
frequencies) and members that are the ancestor with independent substitutions. The pipeline's seed
alignments (``*.afa``, written by :func:`write_alignments`) are :data:`MEMBERS` members per family;
the local ENA mirror plants further members, drawn the same way with :func:`family_member`, in the
synthetic genomes it simulates reads from, so the pipeline's ``hmmsearch`` has real family members
to find.

Everything is deterministic for a given seed; :func:`family_alignments` replays the exact random
sequence the bundled alignments were made with, so the ancestors here are the alignments' ancestors.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from core.config import PROJECT_ROOT

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
#: Background frequencies (UniProt, rounded) so the profiles look like proteins.
FREQUENCIES = (8.3, 1.4, 5.5, 6.7, 3.9, 7.1, 2.3, 5.9, 5.8, 9.7, 2.4, 4.1, 4.7, 3.9, 5.3, 6.6, 5.4, 6.9, 1.1, 2.9)
#: Family name -> protein length (residues, including the initial M).
FAMILIES: dict[str, int] = {"EMGSYN001": 160, "EMGSYN002": 220, "EMGSYN003": 120}
#: Members per seed alignment.
MEMBERS = 12
#: Chance that a residue (other than the initial M) of a member differs from its ancestor's.
SUBSTITUTION_RATE = 0.2
SEED = 20240501
#: Where the pipeline reads the seed alignments from (``python -m devtools.profile_families`` rewrites them).
PIPELINE_PROFILES_DIR = PROJECT_ROOT / "workflows" / "pipelines" / "raw_reads" / "profiles"


@dataclass(frozen=True)
class Family:
    """One profile family: its ancestor and the members of its seed alignment (name, sequence)."""

    name: str
    ancestor: str
    members: tuple[tuple[str, str], ...]


def family_member(ancestor: str, rng: random.Random, substitution_rate: float = SUBSTITUTION_RATE) -> str:
    """A member of the family of ``ancestor``: each residue but the first substituted at ``substitution_rate``.

    :param ancestor: the family's ancestor protein
    :param rng: the seeded random source
    :param substitution_rate: per-residue chance of a substitution (a substitution may draw the same residue)
    """
    return "".join(
        rng.choices(AMINO_ACIDS, weights=FREQUENCIES)[0] if position and rng.random() < substitution_rate else aa
        for position, aa in enumerate(ancestor)
    )


def _family(name: str, length: int, rng: random.Random) -> Family:
    ancestor = "M" + "".join(rng.choices(AMINO_ACIDS, weights=FREQUENCIES, k=length - 1))
    members = tuple((f"{name}_{index + 1:02d}", family_member(ancestor, rng)) for index in range(MEMBERS))
    return Family(name=name, ancestor=ancestor, members=members)


def family_alignments(seed: int = SEED) -> list[Family]:
    """Every family of the bundled profile set, in :data:`FAMILIES` order. Deterministic.

    :param seed: the seed of the whole set (the bundled ``*.afa`` files use :data:`SEED`)
    """
    rng = random.Random(seed)
    return [_family(name, length, rng) for name, length in FAMILIES.items()]


def write_alignments(directory: Path, seed: int = SEED) -> list[Path]:
    """Write ``<family>.afa`` for every family into ``directory``; return the paths written."""
    written = []
    for family in family_alignments(seed):
        target = directory / f"{family.name}.afa"
        lines = []
        for member, sequence in family.members:
            lines.append(f">{member}")
            lines += [sequence[i : i + 60] for i in range(0, len(sequence), 60)]
        target.write_text("\n".join(lines) + "\n")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_alignments(PIPELINE_PROFILES_DIR):
        print(path)
