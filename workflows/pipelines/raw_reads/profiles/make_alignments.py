"""Write the bundled profile set's seed alignments (``*.afa``), deterministically.

The project ships no third-party profile database: each family here is a seeded random ancestor
protein and a dozen descendants with substitutions, aligned by construction (no indels); see
:mod:`workflows.pipelines.raw_reads.profiles.families`, which the local ENA mirror also uses to
plant family members in its synthetic genomes. The pipeline's ``hmmbuild`` step turns each
alignment into an HMM and ``hmmsearch`` scans the predicted proteins with them. Real deployments
point the pipeline at a curated set instead.

Run ``python -m workflows.pipelines.raw_reads.profiles.make_alignments`` to regenerate; the output
is byte-identical for the same seed.
"""

from __future__ import annotations

from pathlib import Path

from workflows.pipelines.raw_reads.profiles.families import SEED, family_alignments


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
    for path in write_alignments(Path(__file__).parent):
        print(path)
