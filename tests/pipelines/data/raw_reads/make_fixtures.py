"""Rebuild this directory's fixtures by running the real tools (fastp, barrnap, hmmsearch) on small real inputs.

``.venv/bin/python tests/pipelines/data/raw_reads/make_fixtures.py`` (needs fastp, barrnap and HMMER on PATH).
The contigs are slices of the local ENA mirror's synthetic genomes around their planted rRNA operons
(real barrnap-model rRNA genes), plus a truncated 16S (a partial gene) and a 5S on its own.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from pathlib import Path

from devtools.ena_mirror.generator import generate_layouts_study, synthetic_genomes
from devtools.ena_mirror.layout import fastq_dir
from devtools.ena_mirror.real_genes import load_rrna
from devtools.ena_mirror.simulate import coding_genome

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[3]
PFAM_MODELS = sorted((PROJECT / "workflows/pipelines/raw_reads/models/pfam").glob("*.hmm"))
KINGDOMS = ("bac", "arc", "euk", "mito")


def contigs() -> str:
    genomes = synthetic_genomes()
    records = []
    for genome in genomes[:2]:
        start = min(g.start for g in genome.planted_rna) - 600
        end = max(g.end for g in genome.planted_rna) + 600
        records.append((f"{genome.name}_operon_{start + 1}_{end}", genome.sequence[start:end]))
    rrna = load_rrna()
    background = coding_genome(random.Random(7), name="bg", length=6_000, gc=0.5).sequence
    partial = rrna["archaea_16S_rRNA"].sequence[:800]
    records.append(("partial_archaeal_16S_at_1001", background[:1000] + partial + background[1000:2000]))
    records.append(
        ("lone_5S_at_1001", background[2000:3000] + rrna["archaea_5S_rRNA"].sequence + background[3000:4000])
    )
    return "".join(f">{name}\n{sequence}\n" for name, sequence in records)


def main() -> None:
    (HERE / "contigs.fasta").write_text(contigs())
    for kingdom in KINGDOMS:
        gff = subprocess.run(
            ["barrnap", "--quiet", "--kingdom", kingdom, "--threads", "1", str(HERE / "contigs.fasta")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (HERE / f"barrnap.{kingdom}.gff").write_text(gff)
    proteins = PROJECT / "devtools/ena_mirror/planted_proteins.faa"
    domtbl, tbl = HERE / "pfam.domtblout", HERE / "pfam.tblout"
    domtbl.write_text("")
    tbl.write_text("")
    with tempfile.TemporaryDirectory() as tmp:
        for model in PFAM_MODELS:
            ga = any(line.startswith("GA ") for line in model.read_text().splitlines())
            cutoffs = ["--cut_ga"] if ga else ["-E", "1e-5", "--domE", "1e-5"]
            subprocess.run(
                ["hmmsearch", *cutoffs, "--domtblout", f"{tmp}/d", "--tblout", f"{tmp}/t", "-o", "/dev/null"]
                + [str(model), str(proteins)],
                check=True,
            )
            with domtbl.open("a") as out:
                out.write(Path(f"{tmp}/d").read_text())
            with tbl.open("a") as out:
                out.write(Path(f"{tmp}/t").read_text())
        data = Path(tmp) / "mirror"
        generate_layouts_study(data)
        for run, paired in (("ERR9000406", True), ("ERR9000401", False)):
            reads = sorted((data / fastq_dir(run)).glob("*.fastq.gz"))
            io = ["-i", str(reads[0]), "-o", f"{tmp}/1.fq.gz"]
            if paired:
                io += ["-I", str(reads[1]), "-O", f"{tmp}/2.fq.gz"]
            name = "fastp_paired.json" if paired else "fastp_single.json"
            subprocess.run(
                ["fastp", *io, "--json", str(HERE / name), "--html", f"{tmp}/f.html", "--thread", "1"]
                + ["--length_required", "50", "--qualified_quality_phred", "15"],
                check=True,
                capture_output=True,
            )


if __name__ == "__main__":
    main()
