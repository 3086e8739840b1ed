"""Write the bundled profile set's seed alignments (``*.afa``), deterministically.

The project ships no third-party profile database: each family here is a seeded random ancestor
protein and a dozen descendants with substitutions, aligned by construction (no indels). The
pipeline's ``hmmbuild`` step turns each alignment into an HMM and ``hmmsearch`` scans the
predicted proteins with them. Real deployments point the pipeline at a curated set instead.

Run ``python -m workflows.pipelines.raw_reads.profiles.make_alignments`` to regenerate; the output
is byte-identical for the same seed.
"""

from __future__ import annotations

import random
from pathlib import Path

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
# Background frequencies (UniProt, rounded) so the profiles look like proteins.
FREQUENCIES = [8.3, 1.4, 5.5, 6.7, 3.9, 7.1, 2.3, 5.9, 5.8, 9.7, 2.4, 4.1, 4.7, 3.9, 5.3, 6.6, 5.4, 6.9, 1.1, 2.9]
FAMILIES = {"EMGSYN001": 160, "EMGSYN002": 220, "EMGSYN003": 120}
MEMBERS = 12
SUBSTITUTION_RATE = 0.2
SEED = 20240501


def family_alignment(name: str, length: int, rng: random.Random) -> list[tuple[str, str]]:
    """One family: an ancestor and descendants with independent substitutions."""
    ancestor = "M" + "".join(rng.choices(AMINO_ACIDS, weights=FREQUENCIES, k=length - 1))
    members = []
    for index in range(MEMBERS):
        residues = [
            rng.choices(AMINO_ACIDS, weights=FREQUENCIES)[0] if position and rng.random() < SUBSTITUTION_RATE else aa
            for position, aa in enumerate(ancestor)
        ]
        members.append((f"{name}_{index + 1:02d}", "".join(residues)))
    return members


def write_alignments(directory: Path, seed: int = SEED) -> list[Path]:
    rng = random.Random(seed)
    written = []
    for name, length in FAMILIES.items():
        target = directory / f"{name}.afa"
        lines = []
        for member, sequence in family_alignment(name, length, rng):
            lines.append(f">{member}")
            lines += [sequence[i : i + 60] for i in range(0, len(sequence), 60)]
        target.write_text("\n".join(lines) + "\n")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_alignments(Path(__file__).parent):
        print(path)
