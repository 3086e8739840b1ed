"""The bundled raw-reads pipeline: fastp -> megahit -> prodigal -> Pfam (hmmsearch) and rRNA (barrnap), with seqkit."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from analyses.schemas import AnalysisAnnotations, AnalysisResults, DownloadFile, Provenance, SlurmJobRecord
from core.checksums import file_checksums
from workflows.pipelines.definition import (
    Engine,
    InputKind,
    OutputSpec,
    PipelineDefinition,
    PipelineOutputs,
    PipelineParameters,
    StepResources,
)
from workflows.pipelines.launchers.records import read_launch_record
from workflows.pipelines.launchers.snakemake import snakemake_step_records
from workflows.pipelines.raw_reads.parsers import (
    assembly_stats_from_seqkit,
    fasta_lengths,
    length_histogram,
    parse_fastp_json,
    parse_pfam,
    parse_rrna,
    parse_seqkit_stats,
    seqkit_gc_fraction,
)
from workflows.pipelines.raw_reads.tool_versions import parse_tool_versions
from workflows.pipelines.registry import register
from workflows.pipelines.workarea import WorkArea

PACKAGE_DIR = Path(__file__).resolve().parent
#: The Pfam models the pipeline searches (copies of Debian hmmer-examples' Pfam models; see its README).
PFAM_MODELS_DIR = PACKAGE_DIR / "models" / "pfam"
#: The rrna step's de-overlap script (stdlib only, run by the Python that runs Snakemake).
RRNA_DEOVERLAP_SCRIPT = PACKAGE_DIR / "rrna_deoverlap.py"


class ProdigalMode(StrEnum):
    META = "meta"
    SINGLE = "single"


class RawReadsParameters(PipelineParameters):
    """Typed parameters of raw-reads 2.0.0; their hash (with the version) identifies a result."""

    min_read_length: int = Field(default=50, ge=1, description="fastp --length_required")
    qualified_quality_phred: int = Field(default=15, ge=0, le=60, description="fastp --qualified_quality_phred")
    min_contig_length: int = Field(default=200, ge=100, description="megahit --min-contig-len")
    megahit_k_list: str = Field(default="21,29,39,59,79", description="megahit --k-list (odd, ascending)")
    prodigal_mode: ProdigalMode = ProdigalMode.META
    translation_table: int = Field(
        default=11, ge=1, description="prodigal -g; prodigal itself rejects tables it does not know"
    )
    pfam_evalue: float = Field(
        default=1e-5, gt=0, description="hmmsearch -E for Pfam models without gathering cut-offs (per sequence)"
    )
    pfam_domain_evalue: float = Field(
        default=1e-5, gt=0, description="hmmsearch --domE for Pfam models without gathering cut-offs (per domain)"
    )
    rrna_evalue: float = Field(default=1e-6, gt=0, description="barrnap --evalue")
    rrna_length_cutoff: float = Field(
        default=0.8, gt=0, le=1, description="barrnap --lencutoff: shorter genes (of the model's length) are partial"
    )
    rrna_reject: float = Field(
        default=0.25, gt=0, le=1, description="barrnap --reject: shorter genes (of the model's length) are dropped"
    )

    @field_validator("megahit_k_list")
    @classmethod
    def _odd_ascending(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(,\d+)*", value):
            raise ValueError("k-list must be comma-separated integers")
        ks = [int(k) for k in value.split(",")]
        if any(k % 2 == 0 or not 15 <= k <= 255 for k in ks) or ks != sorted(set(ks)):
            raise ValueError("k-list must be odd values in 15..255, ascending, without repeats")
        return value


@register
class RawReadsPipeline(PipelineDefinition):
    """raw-reads: read QC, assembly, gene calling, Pfam domains, rRNA genes and statistics on one run's reads.

    2.0.0 annotates real Pfam models (with their gathering cut-offs) and barrnap's rRNA models; 1.0.0
    searched synthetic profiles and reported ``profile_hits``.
    """

    name: ClassVar[str] = "raw-reads"
    version: ClassVar[str] = "2.0.0"
    engine: ClassVar[Engine] = Engine.SNAKEMAKE
    input_kind: ClassVar[InputKind] = InputKind.READS
    parameters_model: ClassVar[type[PipelineParameters]] = RawReadsParameters
    outputs: ClassVar[tuple[OutputSpec, ...]] = (
        OutputSpec(key="qc_report", relative_path="qc/fastp.json", file_type="json", description="fastp QC report"),
        OutputSpec(key="qc_html", relative_path="qc/fastp.html", file_type="html", description="fastp QC report"),
        OutputSpec(
            key="reads_1",
            relative_path="qc/reads_1.trimmed.fastq.gz",
            file_type="fastq",
            description="Quality-filtered reads, forward",
            optional=True,
        ),
        OutputSpec(
            key="reads_2",
            relative_path="qc/reads_2.trimmed.fastq.gz",
            file_type="fastq",
            description="Quality-filtered reads, reverse",
            optional=True,
        ),
        OutputSpec(
            key="reads",
            relative_path="qc/reads.trimmed.fastq.gz",
            file_type="fastq",
            description="Quality-filtered reads",
            optional=True,
        ),
        OutputSpec(
            key="contigs", relative_path="assembly/contigs.fasta", file_type="fasta", description="MEGAHIT contigs"
        ),
        OutputSpec(
            key="proteins",
            relative_path="genes/proteins.faa",
            file_type="fasta",
            description="Predicted proteins (prodigal)",
        ),
        OutputSpec(
            key="genes", relative_path="genes/genes.fna", file_type="fasta", description="Predicted genes (prodigal)"
        ),
        OutputSpec(key="genes_gff", relative_path="genes/genes.gff", file_type="gff", description="Gene coordinates"),
        OutputSpec(
            key="pfam_domains",
            relative_path="pfam/domains.domtblout",
            file_type="tsv",
            description="Pfam domains of the predicted proteins (hmmsearch --domtblout)",
        ),
        OutputSpec(
            key="pfam_proteins",
            relative_path="pfam/proteins.tblout",
            file_type="tsv",
            description="Predicted proteins with Pfam hits (hmmsearch --tblout)",
        ),
        OutputSpec(
            key="rrna_genes",
            relative_path="rrna/rrna.gff",
            file_type="gff",
            description="rRNA genes on the contigs (barrnap, best kingdom kept where kingdoms overlap)",
        ),
        OutputSpec(
            key="sequence_stats",
            relative_path="stats/seqkit_stats.tsv",
            file_type="tsv",
            description="seqkit statistics of the produced sequence files",
        ),
        OutputSpec(
            key="tool_versions",
            relative_path="versions/tool_versions.txt",
            file_type="txt",
            description="Each tool's own version output",
        ),
    )
    step_resources: ClassVar[dict[str, StepResources]] = {
        # fastp reserves ~1.1 GB RSS even on tiny inputs.
        "fastp": StepResources(cpus=2, memory_mb=2500, time_limit_minutes=60),
        "megahit": StepResources(cpus=2, memory_mb=4000, time_limit_minutes=240),
        "prodigal": StepResources(cpus=1, memory_mb=1000, time_limit_minutes=120),
        # Three models: a small search whatever the input; one CPU lets it run beside rrna in a head job.
        "pfam": StepResources(cpus=1, memory_mb=1000, time_limit_minutes=60),
        # barrnap runs its kingdoms one after another; one CPU lets it run beside prodigal.
        "rrna": StepResources(cpus=1, memory_mb=1000, time_limit_minutes=60),
        "seqkit_stats": StepResources(cpus=1, memory_mb=1000, time_limit_minutes=30),
    }
    default_resources: ClassVar[StepResources] = StepResources(cpus=1, memory_mb=500, time_limit_minutes=10)
    expected_duration: ClassVar[timedelta] = timedelta(minutes=20)
    steps: ClassVar[tuple[str, ...]] = (
        "fastp",
        "megahit",
        "prodigal",
        "pfam",
        "rrna",
        "seqkit_stats",
        "tool_versions",
    )

    def entry_point(self) -> Path:
        return PACKAGE_DIR / "Snakefile"

    def engine_config(self, inputs, params: RawReadsParameters) -> dict:
        """The Snakefile's ``config``: inputs, parameters, per-step resources, Pfam models, the de-overlap script."""
        resources = {step: self.resources_for(step).model_dump() for step in self.steps}
        resources["default"] = self.default_resources.model_dump()
        return {
            "reads": [str(path) for path in inputs.files()],
            "paired": inputs.paired,
            "params": params.model_dump(mode="json"),
            "resources": resources,
            "pfam_models": [str(path) for path in sorted(PFAM_MODELS_DIR.glob("*.hmm"))],
            "python": sys.executable,
            "rrna_deoverlap": str(RRNA_DEOVERLAP_SCRIPT),
        }

    def parse_outputs(self, work_area: WorkArea, *, analysis_accession: str | None = None) -> PipelineOutputs:
        return parse_raw_reads_outputs(
            self, work_area, analysis_accession=analysis_accession, slurm_jobs=snakemake_step_records(work_area)
        )


def parse_raw_reads_outputs(
    pipeline: RawReadsPipeline | PipelineDefinition,
    work_area: WorkArea,
    *,
    analysis_accession: str | None,
    slurm_jobs: list[SlurmJobRecord],
) -> PipelineOutputs:
    """Parse the raw-reads results layout (shared by the Snakemake and Nextflow versions).

    :param pipeline: the definition (name, version, declared outputs)
    :param work_area: where it ran
    :param analysis_accession: prefix of download aliases (default: the work area's name)
    :param slurm_jobs: the steps' Slurm jobs, from the engine's record
    """
    accession = analysis_accession or work_area.name
    results = work_area.results_dir
    stats_path = results / "stats/seqkit_stats.tsv"
    sequence_stats = parse_seqkit_stats(stats_path)
    by_name = {Path(row.file).name: row for row in sequence_stats}
    contigs_row = by_name["contigs.fasta"]
    proteins_row = by_name["proteins.faa"]
    record = read_launch_record(work_area)
    provenance = Provenance(
        pipeline_name=pipeline.name,
        pipeline_version=pipeline.version,
        parameters=record.parameters if record else {},
        parameters_hash=record.parameters_hash if record else "",
        tool_versions=parse_tool_versions(results / "versions/tool_versions.txt"),
        input_checksums=record.input_checksums if record else {},
        slurm_jobs=slurm_jobs,
        work_dir=str(work_area.root),
    )
    return PipelineOutputs(
        quality_control=parse_fastp_json(results / "qc/fastp.json"),
        results=AnalysisResults(
            assembly=assembly_stats_from_seqkit(contigs_row, seqkit_gc_fraction(stats_path, contigs_row.file)),
            contig_lengths=length_histogram(fasta_lengths(results / "assembly/contigs.fasta")),
            predicted_proteins=proteins_row.num_seqs,
            sequence_stats=sequence_stats,
        ),
        annotations=AnalysisAnnotations(
            pfam=parse_pfam(results / "pfam/domains.domtblout", results / "pfam/models.hmm"),
            rrna=parse_rrna(results / "rrna/rrna.gff"),
        ),
        downloads=declared_downloads(pipeline, work_area, accession),
        provenance=provenance,
    )


def declared_downloads(
    pipeline: PipelineDefinition, work_area: WorkArea, analysis_accession: str
) -> list[DownloadFile]:
    """Every declared output that exists, with size, md5 and sha256.

    :raises FileNotFoundError: a non-optional output is missing
    """
    files = []
    for spec in pipeline.outputs:
        path = work_area.results_dir / spec.relative_path
        if not path.is_file():
            if spec.optional:
                continue
            raise FileNotFoundError(f"{pipeline.identifier} did not produce {spec.relative_path}")
        sums = file_checksums(path)
        files.append(
            DownloadFile(
                alias=spec.alias(analysis_accession),
                description=spec.description,
                file_type=spec.file_type,
                relative_path=spec.relative_path,
                size_bytes=sums.size_bytes,
                md5=sums.md5,
                sha256=sums.sha256,
            )
        )
    return files
