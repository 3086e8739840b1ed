"""The bundled raw-reads pipeline end to end on the real Slurm cluster, on the ENA mirror's synthetic reads.

Every rule runs as its own Slurm job (Snakemake's Slurm executor under a head job). The parsed
results are checked against what the tools themselves wrote, and against independent computations:
Pfam domains against an hmmsearch run here, rRNA genes against where the mirror planted them.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from core.config import StepPlacement
from devtools.ena_mirror.generator import SYNTHETIC_STUDY_ACCESSION
from devtools.ena_mirror.real_genes import load_proteins
from devtools.ena_mirror.simulate import reverse_complement
from tests.pipelines.independent_search import domtblout_domains, independent_hmmsearch
from workflows.pipelines import PipelineState, RunInputs, SnakemakeLauncher, WorkArea, get_pipeline
from workflows.pipelines.launchers.snakemake_log import read_snakemake_log
from workflows.pipelines.raw_reads import RawReadsParameters
from workflows.pipelines.raw_reads.parsers import fasta_lengths, parse_megahit_log
from workflows.slurm import JobState

pytestmark = [pytest.mark.slurm, pytest.mark.e2e]

TIMEOUT = 900
VERSION = "2.0.0"
UPSTREAM_OF_PRODIGAL = {"fastp", "megahit", "tool_versions"}
TOOLS = ("fastp", "megahit", "prodigal", "seqkit", "hmmsearch", "barrnap")


def n50(lengths: list[int]) -> int:
    """N50 computed here, independently of the tools: the length at which half the bases are covered."""
    running = 0
    for length in sorted(lengths, reverse=True):
        running += length
        if 2 * running >= sum(lengths):
            return length
    return 0


def fasta_records(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.startswith(">"))


def read_fasta(path: Path) -> dict[str, str]:
    """Name (first word of the header) -> sequence."""
    records: dict[str, list[str]] = {}
    current: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            current = records.setdefault(line[1:].split()[0], [])
        else:
            current.append(line.strip())
    return {name: "".join(parts) for name, parts in records.items()}


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def locate(sequence: str, genomes: dict[str, str]) -> list[tuple[str, int, int]]:
    """Where ``sequence`` (or its reverse complement) lies in the genomes: (genome, 1-based start, end)."""
    places = []
    for name, genome in genomes.items():
        for query in {sequence, reverse_complement(sequence)}:
            index = genome.find(query)
            while index >= 0:
                places.append((name, index + 1, index + len(query)))
                index = genome.find(query, index + 1)
    return places


def kmers(sequence: str, k: int = 20) -> set[str]:
    return {sequence[i : i + k] for i in range(len(sequence) - k + 1)}


@pytest.fixture(scope="module")
def launcher(slurm_client) -> SnakemakeLauncher:
    """Every step in its own Slurm job (the mirror's reads are small enough to run inside the head job by default)."""
    return SnakemakeLauncher(slurm_client, partition="pipelines", step_placement=StepPlacement.OWN_JOBS)


@pytest.fixture(scope="module")
def tools_installed_module():
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        pytest.skip(f"tools missing: {', '.join(missing)} (scripts/setup.sh installs them)")


@pytest.fixture(scope="module")
def completed_run(launcher, synthetic_study, tmp_path_factory, tools_installed_module):
    reads = synthetic_study["ERR9000001"]
    pipeline = get_pipeline("raw-reads", VERSION)
    work = WorkArea.for_analysis("MGYA00000101", work_root=tmp_path_factory.mktemp("work"), keep=True)
    handle = launcher.launch(pipeline, inputs=RunInputs(fastq=reads), work_area=work)
    progress = launcher.wait(handle, TIMEOUT)
    assert progress.state == PipelineState.COMPLETED, progress.log_tail
    return pipeline, work, handle, progress


def test_parsed_results_match_what_the_tools_reported(completed_run, tmp_path) -> None:
    pipeline, work, _, _ = completed_run
    outputs = pipeline.parse_outputs(work, analysis_accession="MGYA00000101")
    results = work.results_dir

    # assembly: independent N50 / count / length from the contigs FASTA, and megahit's own summary line
    lengths = list(fasta_lengths(results / "assembly/contigs.fasta"))
    assembly = outputs.results.assembly
    assert assembly.contig_count == len(lengths) > 0
    assert assembly.total_length == sum(lengths)
    assert assembly.n50 == n50(lengths)
    assert (assembly.longest_contig, assembly.shortest_contig) == (max(lengths), min(lengths))
    megahit_said = parse_megahit_log(work.logs_dir / "megahit.log")
    assert (megahit_said.contig_count, megahit_said.total_length, megahit_said.n50) == (
        assembly.contig_count,
        assembly.total_length,
        assembly.n50,
    )
    # the synthetic community is three genomes of 126 kb in all: the assembly recovers most of it
    assert 100_000 < assembly.total_length < 140_000

    # genes: protein count equals the FASTA's records, and the GFF's CDS lines
    proteins = fasta_records(results / "genes/proteins.faa")
    assert outputs.results.predicted_proteins == proteins > 50
    cds = sum(1 for line in (results / "genes/genes.gff").read_text().splitlines() if "\tCDS\t" in line)
    assert cds == proteins

    # QC: fastp's numbers, and the reads the mirror simulated (12,000 pairs for ERR9000001)
    qc = outputs.quality_control
    assert qc.before_filtering.total_reads == 24_000
    assert qc.before_filtering.total_bases == 24_000 * 150
    assert qc.after_filtering.total_reads == qc.passed_filter_reads <= 24_000
    trimmed = [row for row in outputs.results.sequence_stats if "trimmed" in row.file]
    assert sum(row.num_seqs for row in trimmed) == qc.after_filtering.total_reads

    # downloads: the new outputs are there
    assert {d.relative_path for d in outputs.downloads} >= {"pfam/domains.domtblout", "rrna/rrna.gff"}
    # contig length histogram: every contig counted once, in its bin
    histogram = outputs.results.contig_lengths
    assert sum(histogram.counts) == len(lengths)
    assert histogram.bin_edges[0] <= min(lengths) and max(lengths) < histogram.bin_edges[-1]
    for low, high, count in zip(histogram.bin_edges, histogram.bin_edges[1:], histogram.counts, strict=False):
        assert count == sum(low <= length < high for length in lengths)
    # quality curves: fastp's per-position means of both mates, 150 positions before trimming
    assert [curve.mate for curve in qc.quality_curves] == ["read1", "read2"]
    assert all(len(curve.before_filtering) == 150 for curve in qc.quality_curves)

    # downloads: size and checksums recomputed here
    assert {d.relative_path for d in outputs.downloads} >= {
        "qc/fastp.json",
        "assembly/contigs.fasta",
        "genes/proteins.faa",
        "stats/seqkit_stats.tsv",
    }
    for download in outputs.downloads:
        data = (results / download.relative_path).read_bytes()
        assert download.size_bytes == len(data)
        assert download.md5 == hashlib.md5(data).hexdigest()
        assert download.sha256 == hashlib.sha256(data).hexdigest()
        assert download.alias.startswith("MGYA00000101_")


def test_pfam_domains_equal_an_independent_hmmsearch_and_come_from_the_planted_proteins(
    completed_run, mirror_data_dir, tmp_path
) -> None:
    pipeline, work, _, _ = completed_run
    pfam = pipeline.parse_outputs(work).annotations.pfam
    proteins_faa = work.results_dir / "genes/proteins.faa"
    independent = independent_hmmsearch(proteins_faa, tmp_path)
    reported = {count.accession: (count.domains, count.proteins) for count in pfam.counts}
    # domain and protein counts per accession are hmmsearch's own, run here with the same models and cut-offs
    assert reported == {model: (len(rows), len(set(rows))) for model, rows in independent.items()}, (
        reported,
        independent,
    )
    assert sorted(pfam.models) == sorted(["PF00069.17", "PF00041.13", "globins4"])
    thresholds = {count.accession: count.threshold for count in pfam.counts}
    assert thresholds == {"PF00069.17": "gathering", "PF00041.13": "gathering", "globins4": "evalue"}
    assert sorted((h.protein, h.accession) for h in pfam.hits) == sorted(
        (protein, model) for model, rows in independent.items() for protein in rows
    )
    # every Pfam model the mirror planted proteins of is found
    planted = read_tsv(mirror_data_dir / "genomes" / f"{SYNTHETIC_STUDY_ACCESSION}.planted.tsv")
    planted_models = {model for row in planted for model in row["pfam"].split(",")}
    assert planted_models == {"PF00069.17", "PF00041.13", "globins4"} <= set(reported)
    # each hit protein is a planted protein carrying that model's domain: it shares a 20-residue
    # stretch with one (prodigal may start a gene elsewhere, or a contig end may cut it)
    proteins = read_fasta(proteins_faa)
    real = load_proteins()
    for model, rows in independent.items():
        carriers = set().union(*(kmers(row["sequence"]) for row in planted if model in row["pfam"].split(",")))
        assert all(kmers(proteins[protein].rstrip("*")) & carriers for protein in rows), model
    # and every planted protein that megahit assembled whole is found with each of its domains' models
    contigs = list(read_fasta(work.results_dir / "assembly/contigs.fasta").values())
    genomes = read_fasta(mirror_data_dir / "genomes" / f"{SYNTHETIC_STUDY_ACCESSION}.fasta")
    for row in planted:
        start, end = int(row["start"]), int(row["end"])
        gene = genomes[row["genome"]][start - 1 : end]
        if any(gene in contig or reverse_complement(gene) in contig for contig in contigs):
            hit_models = {
                model
                for model, rows in independent.items()
                for protein in rows
                if kmers(proteins[protein].rstrip("*")) & kmers(row["sequence"])
            }
            assert set(real[row["protein"]].families) <= hit_models, row["protein"]


def test_rrna_genes_are_found_where_planted_and_nowhere_else(completed_run, mirror_data_dir) -> None:
    pipeline, work, _, _ = completed_run
    rrna = pipeline.parse_outputs(work).annotations.rrna
    contigs = read_fasta(work.results_dir / "assembly/contigs.fasta")
    genomes = read_fasta(mirror_data_dir / "genomes" / f"{SYNTHETIC_STUDY_ACCESSION}.fasta")
    planted = read_tsv(mirror_data_dir / "genomes" / f"{SYNTHETIC_STUDY_ACCESSION}.rrna.tsv")
    assert {row["genome"] for row in planted} == {"synthetic_genome_1", "synthetic_genome_2"}
    assert rrna.genes, "no rRNA gene found"
    found = set()
    for gene in rrna.genes:
        # the gene's sequence, taken from its contig, lies in exactly one place of the source genomes
        places = locate(contigs[gene.contig][gene.start - 1 : gene.end], genomes)
        assert len(places) == 1, (gene, places)
        genome, start, end = places[0]
        matches = [
            row for row in planted if row["genome"] == genome and int(row["start"]) <= end and start <= int(row["end"])
        ]
        assert len(matches) == 1, (gene, genome, start, end)
        row = matches[0]
        assert (gene.kingdom, gene.gene, gene.model) == (row["kingdom"], row["type"], row["model"]), (gene, row)
        found.add(row["gene"])
    # no eukaryotic or mitochondrial genes, nothing on genome 3: each found gene matched a planted one above
    assert {gene.kingdom for gene in rrna.genes} == {"bacteria", "archaea"}
    # every planted gene that megahit assembled whole is found, once
    for row in planted:
        sequence = genomes[row["genome"]][int(row["start"]) - 1 : int(row["end"])]
        if any(sequence in contig or reverse_complement(sequence) in contig for contig in contigs.values()):
            assert row["gene"] in found, row
    assert len(found) == len(rrna.genes)
    counts = {(c.kingdom, c.gene): c.count for c in rrna.counts}
    assert sum(counts.values()) == len(rrna.genes)


def test_provenance_has_versions_from_the_tools_parameters_hash_and_inputs(completed_run, synthetic_study) -> None:
    pipeline, work, _, _ = completed_run
    provenance = pipeline.parse_outputs(work).provenance
    assert (provenance.pipeline_name, provenance.pipeline_version) == ("raw-reads", VERSION)
    assert provenance.parameters == RawReadsParameters().model_dump(mode="json")
    assert provenance.parameters_hash == RawReadsParameters().sha256()

    def reported(*command: str) -> str:
        result = subprocess.run(command, capture_output=True, text=True)
        return result.stdout + result.stderr

    assert provenance.tool_versions["fastp"] in reported("fastp", "--version")
    assert provenance.tool_versions["megahit"] in reported("megahit", "--version")
    assert provenance.tool_versions["prodigal"] in reported("prodigal", "-v")
    assert provenance.tool_versions["seqkit"] in reported("seqkit", "version")
    assert re.match(r"^\d+\.\d+", provenance.tool_versions["hmmsearch"])
    assert provenance.tool_versions["hmmsearch"] in reported("hmmsearch", "-h")
    assert provenance.tool_versions["barrnap"] in reported("barrnap", "--version")
    for path in synthetic_study["ERR9000001"]:
        assert provenance.input_checksums[path.name] == hashlib.md5(path.read_bytes()).hexdigest()
    assert provenance.work_dir == str(work.root)


def test_every_step_ran_as_its_own_slurm_job(completed_run, slurm_client) -> None:
    pipeline, work, handle, progress = completed_run
    assert progress.steps_done == progress.steps_total == len(pipeline.steps) + 1  # + the target rule "all"
    steps = {step.step: step for step in progress.steps}
    assert set(steps) == set(pipeline.steps)
    job_ids = [step.slurm_job_id for step in steps.values()]
    assert all(job_ids) and len(set(job_ids)) == len(job_ids)
    assert handle.head_job_id not in job_ids
    # Slurm's accounting agrees: every step's job and the head job completed
    states = slurm_client.states([handle.head_job_id, *job_ids])
    assert {job.state for job in states.values()} == {JobState.COMPLETED}
    provenance_jobs = {job.step: job.job_id for job in pipeline.parse_outputs(work).provenance.slurm_jobs}
    assert {step: provenance_jobs[step] for step in steps} == {s: r.slurm_job_id for s, r in steps.items()}
    # each step's measured run time is known (Snakemake benchmark files)
    assert all(step.duration_seconds is not None for step in steps.values())


def test_nothing_is_written_outside_the_work_area(completed_run) -> None:
    _, work, handle, _ = completed_run
    assert handle.head_log.parent == work.logs_dir
    slurm_logs = list((work.logs_dir / "slurm").rglob("*.log"))
    assert {p.parent.name for p in slurm_logs} >= {"rule_fastp", "rule_megahit", "rule_prodigal"}
    assert (work.root / ".snakemake").is_dir()
    for path in work.root.rglob("*"):
        assert path.resolve().is_relative_to(work.root) or path.is_symlink()


def test_relaunch_of_a_finished_run_does_nothing(completed_run, launcher) -> None:
    pipeline, work, handle, _ = completed_run
    record = work.read_json("pipeline/launch.json")
    again = launcher.launch(pipeline, inputs=RunInputs(fastq=record["inputs"]), work_area=work)
    assert again.attempt == handle.attempt + 1
    progress = launcher.wait(again, TIMEOUT)
    assert progress.state == PipelineState.COMPLETED
    assert progress.steps == []
    assert read_snakemake_log(again.head_log).nothing_to_do


@pytest.fixture(scope="module")
def failed_run(launcher, synthetic_study, tmp_path_factory, tools_installed_module):
    """ERR9000002 with a translation table prodigal rejects: fastp and megahit succeed, prodigal fails."""
    reads = synthetic_study["ERR9000002"]
    pipeline = get_pipeline("raw-reads", VERSION)
    work = WorkArea.for_analysis("MGYA00000102", work_root=tmp_path_factory.mktemp("work"), keep=True)
    handle = launcher.launch(
        pipeline, inputs=RunInputs(fastq=reads), params=RawReadsParameters(translation_table=99), work_area=work
    )
    progress = launcher.wait(handle, TIMEOUT)
    return pipeline, work, reads, handle, progress


def test_a_failing_tool_is_reported_with_its_step_and_log_tail(failed_run, slurm_client) -> None:
    _, _, _, handle, progress = failed_run
    assert progress.state == PipelineState.FAILED
    assert progress.failed_step == "prodigal"
    assert "Invalid translation table specified." in progress.log_tail  # prodigal's own message
    assert "prodigal" in progress.error_message
    prodigal = next(step for step in progress.steps if step.step == "prodigal")
    assert slurm_client.states([prodigal.slurm_job_id])[prodigal.slurm_job_id].state == JobState.FAILED
    assert {s.step for s in progress.steps if s.state == "COMPLETED"} >= {"fastp", "megahit"}
    assert slurm_client.states([handle.head_job_id])[handle.head_job_id].state == JobState.FAILED


def test_rerun_redoes_only_the_failed_and_later_steps(failed_run, launcher, slurm_client) -> None:
    pipeline, work, reads, first, _ = failed_run
    upstream_files = [
        work.results_dir / p for p in ("qc/fastp.json", "assembly/contigs.fasta", "versions/tool_versions.txt")
    ]
    before = {p: p.stat().st_mtime_ns for p in upstream_files}
    first_run = read_snakemake_log(first.head_log)

    handle = launcher.launch(pipeline, inputs=RunInputs(fastq=reads), params=RawReadsParameters(), work_area=work)
    assert handle.attempt == 2
    progress = launcher.wait(handle, TIMEOUT)
    assert progress.state == PipelineState.COMPLETED, progress.log_tail

    # Snakemake's record of each launch: the rerun ran prodigal and what depends on it, nothing upstream;
    # rrna (beside prodigal, on the contigs) only if the first launch did not finish it
    rerun = read_snakemake_log(handle.head_log)
    rrna_done = any(job.rule == "rrna" and job.finished for job in first_run.jobs.values())
    assert set(rerun.started_rules) - {"all"} == {"prodigal", "pfam", "seqkit_stats"} | (
        set() if rrna_done else {"rrna"}
    )
    assert UPSTREAM_OF_PRODIGAL <= set(first_run.started_rules)
    assert {p: p.stat().st_mtime_ns for p in upstream_files} == before
    # Slurm's record: the rerun's jobs are new and completed; the first launch's prodigal job failed
    rerun_ids = [job.slurm_job_id for job in rerun.jobs.values() if job.slurm_job_id]
    first_ids = {job.slurm_job_id for job in first_run.jobs.values() if job.slurm_job_id}
    assert len(rerun_ids) == (3 if rrna_done else 4) and not set(rerun_ids) & first_ids
    assert {j.state for j in slurm_client.states(rerun_ids).values()} == {JobState.COMPLETED}
    # the result is complete, and its provenance carries the parameters that made it
    outputs = pipeline.parse_outputs(work)
    assert outputs.results.predicted_proteins == fasta_records(work.results_dir / "genes/proteins.faa")
    domains_here = domtblout_domains(work.results_dir / "pfam/domains.domtblout")
    reported = {count.accession: count.domains for count in outputs.annotations.pfam.counts}
    assert reported == {model: len(rows) for model, rows in domains_here.items()}
    assert set(reported) == {"PF00069.17", "PF00041.13", "globins4"}
    assert outputs.provenance.parameters["translation_table"] == 11
    jobs = {job.step: job for job in outputs.provenance.slurm_jobs}
    assert jobs["prodigal"].job_id in rerun_ids and jobs["fastp"].job_id in first_ids
