"""The raw-reads parsers on real tool output: fastp's JSON, hmmsearch's tables, barrnap's GFF.

The fixtures in ``data/raw_reads`` were made by running the tools on small real inputs
(``data/raw_reads/make_fixtures.py`` rebuilds them); where a tool is installed, the test also runs it
again here and checks the parser against the fresh output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analyses.schemas import PfamThreshold, RrnaGeneType, RrnaKingdom
from devtools.ena_mirror.real_genes import FN3, GLOBIN, PKINASE, PROTEINS_FASTA, load_proteins
from workflows.pipelines import RunInputs, get_pipeline
from workflows.pipelines.raw_reads import RawReadsParameters, RawReadsPipeline
from workflows.pipelines.raw_reads.parsers import (
    length_bin_edges,
    length_histogram,
    parse_domtblout,
    parse_fastp_json,
    parse_pfam,
    parse_rrna,
    read_hmm_models,
    rrna_gene_type,
)
from workflows.pipelines.raw_reads.pipeline import PFAM_MODELS_DIR, RRNA_DEOVERLAP_SCRIPT
from workflows.pipelines.raw_reads.rrna_deoverlap import deoverlap, read_barrnap_gff
from workflows.pipelines.raw_reads.tool_versions import parse_tool_versions

DATA = Path(__file__).parent / "data" / "raw_reads"
KINGDOM_FILES = [DATA / f"barrnap.{kingdom}.gff" for kingdom in ("bac", "arc", "euk", "mito")]
OPERON_1 = "synthetic_genome_1_operon_33943_37160"
OPERON_2 = "synthetic_genome_2_operon_31962_35186"


@pytest.fixture
def models_file(tmp_path: Path) -> Path:
    """The pipeline's Pfam models concatenated, as its ``pfam`` step writes ``pfam/models.hmm``."""
    path = tmp_path / "models.hmm"
    path.write_text("".join(model.read_text() for model in sorted(PFAM_MODELS_DIR.glob("*.hmm"))))
    return path


def test_fastp_quality_curves_per_mate() -> None:
    report = json.loads((DATA / "fastp_paired.json").read_text())
    qc = parse_fastp_json(DATA / "fastp_paired.json")
    assert [curve.mate for curve in qc.quality_curves] == ["read1", "read2"]
    read1 = qc.quality_curves[0]
    assert read1.before_filtering == report["read1_before_filtering"]["quality_curves"]["mean"]
    assert read1.after_filtering == report["read1_after_filtering"]["quality_curves"]["mean"]
    assert len(read1.before_filtering) == 150  # the mirror simulates 150 bp reads
    # the simulator's qualities decline towards the 3' end, and fastp saw that
    assert read1.before_filtering[0] > read1.before_filtering[-1] + 5
    single = parse_fastp_json(DATA / "fastp_single.json")
    assert [curve.mate for curve in single.quality_curves] == ["read1"]
    assert single.before_filtering.total_reads == 3_000


def test_contig_length_histogram_bins_every_length_once() -> None:
    assert length_bin_edges(200, 50_046) == [200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000]
    assert length_bin_edges(237, 999) == [200, 500, 1_000]
    lengths = [200, 250, 499, 500, 1_999, 2_000, 50_046]
    histogram = length_histogram(lengths)
    assert histogram.counts == [3, 1, 1, 1, 0, 0, 0, 1]
    assert sum(histogram.counts) == len(lengths)
    assert length_histogram([]).counts == []


def test_hmm_models_with_and_without_gathering_cutoffs(models_file: Path) -> None:
    models = {model.key: model for model in read_hmm_models(models_file)}
    assert set(models) == {PKINASE, FN3, GLOBIN}
    assert models[PKINASE].gathering == (70.3, 70.3) and models[PKINASE].threshold == PfamThreshold.GATHERING
    assert models[FN3].gathering == (8.0, 7.2) and models[FN3].name == "fn3"
    assert models[GLOBIN].accession is None and models[GLOBIN].threshold == PfamThreshold.EVALUE


def test_pfam_counts_from_domtblout_of_the_real_proteins(models_file: Path) -> None:
    pfam = parse_pfam(DATA / "pfam.domtblout", models_file)
    assert sorted(pfam.models) == sorted([PKINASE, FN3, GLOBIN])
    counts = {count.accession: count for count in pfam.counts}
    # 7LESS_DROME has 7 fibronectin type III domains by UniProt; 6 pass fn3's gathering cut-offs,
    # as the HMMER tutorial shows; and one kinase domain, as do the 5 kinase seed members
    assert (counts[FN3].domains, counts[FN3].proteins) == (6 + 3, 4)
    assert (counts[PKINASE].domains, counts[PKINASE].proteins) == (6, 6)
    assert (counts[GLOBIN].domains, counts[GLOBIN].proteins) == (5, 5)
    assert counts[GLOBIN].threshold == PfamThreshold.EVALUE and counts[FN3].threshold == PfamThreshold.GATHERING
    assert [count.accession for count in pfam.counts] == [FN3, PKINASE, GLOBIN]  # most domains first
    # every planted protein is hit by exactly the models whose domains it carries
    hit = {(h.protein, h.accession) for h in pfam.hits}
    expected = {(p.name, family) for p in load_proteins().values() for family in p.families}
    assert hit == expected
    kinase = next(h for h in pfam.hits if h.protein == "7LESS_DROME" and h.accession == PKINASE)
    assert kinase.name == "Pkinase" and kinase.score >= 70.3
    # by UniProt, 7LESS_DROME's kinase domain is residues 2209-2485
    assert 2150 < kinase.envelope_start < kinase.envelope_end < 2540


@pytest.mark.skipif(shutil.which("hmmsearch") is None, reason="HMMER not installed (scripts/setup.sh)")
def test_pfam_parser_agrees_with_a_fresh_hmmsearch(tmp_path: Path, models_file: Path) -> None:
    """hmmsearch run here with --cut_ga reports the same domains as the fixture the parser read."""
    fresh = tmp_path / "fn3.domtblout"
    subprocess.run(
        ["hmmsearch", "--cut_ga", "--domtblout", fresh, "-o", "/dev/null", PFAM_MODELS_DIR / "fn3.hmm", PROTEINS_FASTA],
        check=True,
    )
    fixture = [h for h in parse_domtblout(DATA / "pfam.domtblout") if h.accession == FN3]
    assert parse_domtblout(fresh) == fixture


def test_rrna_deoverlap_keeps_the_best_kingdom_of_each_gene() -> None:
    hits = [hit for path in KINGDOM_FILES for hit in read_barrnap_gff(path, path.name.split(".")[1])]
    assert len(hits) == 21  # what barrnap found with each kingdom's models
    kept = deoverlap(hits)
    genes = {(hit.contig, hit.name): hit for hit in kept}
    assert len(genes) == len(kept) == 6  # two operons of 16S and 5S, a partial 16S, a lone 5S
    # the bacterial 16S: bacterial model E=0 beats archaeal 1e-254, the eukaryotic 18S and mitochondrial 12S
    assert genes[OPERON_1, "16S_rRNA"].kingdom == "bacteria" and genes[OPERON_1, "16S_rRNA"].evalue == 0
    assert genes[OPERON_2, "16S_rRNA"].kingdom == "archaea"
    # the 5S model is one Rfam model in every kingdom's set: its kingdom is its operon's 16S
    assert genes[OPERON_1, "5S_rRNA"].kingdom == "bacteria"
    assert genes[OPERON_2, "5S_rRNA"].kingdom == "archaea"
    # a 5S alone on its contig has no context: the first kingdom that hit it
    assert genes["lone_5S_at_1001", "5S_rRNA"].kingdom == "bacteria"
    # no eukaryotic or mitochondrial gene survives: they were all worse hits on the same genes
    assert {hit.kingdom for hit in kept} == {"bacteria", "archaea"}
    partial = genes["partial_archaeal_16S_at_1001", "16S_rRNA"]
    assert partial.kingdom == "archaea" and partial.partial
    assert not any(hit.partial for hit in kept if hit is not partial)


def test_rrna_step_script_and_parser(tmp_path: Path) -> None:
    """The de-overlap as the pipeline runs it (a script), then the parser on the GFF it writes."""
    kept = tmp_path / "rrna.gff"
    result = subprocess.run(
        [shutil.which("python3") or "python3", RRNA_DEOVERLAP_SCRIPT, kept, *KINGDOM_FILES],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "21 barrnap genes in 4 kingdoms, 6 kept" in result.stdout
    rrna = parse_rrna(kept)
    assert {(c.kingdom, c.gene): c.count for c in rrna.counts} == {
        (RrnaKingdom.BACTERIA, RrnaGeneType.SSU): 1,
        (RrnaKingdom.BACTERIA, RrnaGeneType.FIVE_S): 2,
        (RrnaKingdom.ARCHAEA, RrnaGeneType.SSU): 2,
        (RrnaKingdom.ARCHAEA, RrnaGeneType.FIVE_S): 1,
    }
    partial = next(gene for gene in rrna.genes if gene.partial)
    assert (partial.contig, partial.start, partial.end) == ("partial_archaeal_16S_at_1001", 1001, 1801)
    operon = [gene for gene in rrna.genes if gene.contig == OPERON_1]
    assert [(g.start, g.end, g.strand, g.model) for g in operon] == [
        (602, 718, "-", "5S_rRNA"),
        (1087, 2616, "-", "16S_rRNA"),
    ]


def test_rrna_gene_types() -> None:
    assert rrna_gene_type("16S_rRNA", RrnaKingdom.BACTERIA) == RrnaGeneType.SSU
    assert rrna_gene_type("16S_rRNA", RrnaKingdom.MITOCHONDRIA) == RrnaGeneType.LSU
    assert rrna_gene_type("12S_rRNA", RrnaKingdom.MITOCHONDRIA) == RrnaGeneType.SSU
    assert rrna_gene_type("5_8S_rRNA", RrnaKingdom.EUKARYOTA) == RrnaGeneType.FIVE_EIGHT_S


def test_tool_versions_include_barrnap(tmp_path: Path) -> None:
    path = tmp_path / "tool_versions.txt"
    path.write_text(
        "## hmmsearch\n# hmmsearch :: search profile(s) against a sequence database\n"
        "# HMMER 3.3.2 (Nov 2020); http://hmmer.org/\n## barrnap\nbarrnap 0.9\n"
    )
    assert parse_tool_versions(path) == {"hmmsearch": "3.3.2", "barrnap": "0.9"}


@pytest.mark.skipif(shutil.which("barrnap") is None, reason="barrnap not installed (scripts/setup.sh)")
def test_rrna_rule_runs_in_a_work_area_whose_path_says_failed(tmp_path: Path, paired_reads) -> None:
    """The Snakefile's ``rrna`` rule, run by Snakemake on the fixture contigs, in a work area named like
    a failure: barrnap 0.9 aborts when nhmmer prints a line with "fail" or "error" (its directory and
    target file are such lines), so the rule must not show barrnap the work area's path."""
    pipeline = get_pipeline("raw-reads", RawReadsPipeline.version)
    work = tmp_path / "test_failed_error_run"
    (work / "results/assembly").mkdir(parents=True)
    shutil.copy(DATA / "contigs.fasta", work / "results/assembly/contigs.fasta")
    config = work / "config.json"
    config.write_text(json.dumps(pipeline.engine_config(RunInputs(fastq=paired_reads), RawReadsParameters())))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", pipeline.entry_point(), "--directory", work]
        + ["--configfile", config, "--cores", "2", "--allowed-rules", "rrna", "--nolock", "results/rrna/rrna.gff"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (work / "logs/rrna.log").read_text() if (work / "logs/rrna.log").exists() else result
    rrna = parse_rrna(work / "results/rrna/rrna.gff")
    assert len(rrna.genes) == 6 and sum(gene.partial for gene in rrna.genes) == 1
