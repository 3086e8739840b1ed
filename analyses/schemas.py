"""Pydantic schemas of the JSONFields on analyses models (validated on every write).

Plain pydantic, importable without Django, so pipeline parsers can build these objects directly.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnalysisStatusFlag(StrEnum):
    """Named milestones in an analysis' life; each is recorded with the time it was set."""

    ANALYSIS_CREATED = "analysis_created"
    READS_FETCHED = "reads_fetched"
    ANALYSIS_STARTED = "analysis_started"
    ANALYSIS_COMPLETED = "analysis_completed"
    ANALYSIS_FAILED = "analysis_failed"
    ANALYSIS_QC_FAILED = "analysis_qc_failed"
    RESULTS_IMPORTED = "results_imported"


class StatusFlagValue(StrictModel):
    at: datetime
    message: str | None = None


ANALYSIS_STATUS_SCHEMA = dict[AnalysisStatusFlag, StatusFlagValue]


class ReadStats(StrictModel):
    """Read-set summary as fastp reports it (before or after filtering)."""

    total_reads: int = Field(ge=0)
    total_bases: int = Field(ge=0)
    q20_rate: float | None = Field(default=None, ge=0, le=1)
    q30_rate: float | None = Field(default=None, ge=0, le=1)
    gc_content: float | None = Field(default=None, ge=0, le=1)
    mean_read_length: float | None = Field(default=None, ge=0)


class QualityCurve(StrictModel):
    """Mean base quality (Phred) at each read position of one mate, as fastp reports it.

    ``before_filtering[i]`` / ``after_filtering[i]`` is the mean quality at position ``i + 1``; the
    lists stop at the longest read (after trimming they may be shorter).
    """

    mate: str = Field(description="read1 or read2 (single-end runs have read1 only)")
    before_filtering: list[float] = Field(description="Mean quality per position, raw reads")
    after_filtering: list[float] = Field(description="Mean quality per position, quality-filtered reads")


class QualityControl(StrictModel):
    before_filtering: ReadStats
    after_filtering: ReadStats
    passed_filter_reads: int | None = Field(default=None, ge=0)
    low_quality_reads: int | None = Field(default=None, ge=0)
    too_short_reads: int | None = Field(default=None, ge=0)
    quality_curves: list[QualityCurve] = Field(default=[], description="Per-position mean quality, per mate")


class AssemblyStats(StrictModel):
    contig_count: int = Field(ge=0)
    total_length: int = Field(ge=0)
    n50: int = Field(ge=0)
    longest_contig: int = Field(ge=0)
    shortest_contig: int = Field(ge=0)
    gc_content: float | None = Field(default=None, ge=0, le=1)


class SequenceFileStats(StrictModel):
    """One row of ``seqkit stats -T -a`` for a file the pipeline made."""

    file: str
    format: str
    type: str
    num_seqs: int = Field(ge=0)
    sum_len: int = Field(ge=0)
    min_len: int = Field(ge=0)
    avg_len: float = Field(ge=0)
    max_len: int = Field(ge=0)
    n50: int | None = Field(default=None, ge=0)


class ProfileHit(StrictModel):
    """How many predicted proteins matched one HMM profile."""

    profile: str
    proteins_hit: int = Field(ge=0)


class LengthHistogram(StrictModel):
    """Sequence lengths binned: ``counts[i]`` sequences have ``bin_edges[i] <= length < bin_edges[i + 1]``."""

    bin_edges: list[int] = Field(description="Ascending bin edges in bp, one more than counts")
    counts: list[int] = Field(description="Sequences per bin")

    @model_validator(mode="after")
    def _edges_fit_counts(self) -> LengthHistogram:
        if len(self.bin_edges) != len(self.counts) + 1:
            raise ValueError("bin_edges must have one more entry than counts")
        if self.bin_edges != sorted(self.bin_edges):
            raise ValueError("bin_edges must ascend")
        return self


class AnalysisResults(StrictModel):
    assembly: AssemblyStats | None = None
    contig_lengths: LengthHistogram | None = Field(default=None, description="Contig length distribution")
    predicted_proteins: int | None = Field(default=None, ge=0)
    sequence_stats: list[SequenceFileStats] = []
    profile_hits: list[ProfileHit] = Field(
        default=[], description="raw-reads 1.0.0 only (its synthetic profiles); later versions annotate Pfam domains"
    )


class PfamThreshold(StrEnum):
    """Which cut-off admitted a model's hits."""

    GATHERING = "gathering"  # the model's own GA lines (hmmsearch --cut_ga), as Pfam assigns
    EVALUE = "evalue"  # a model without GA: the pipeline's E-value thresholds


class PfamDomainCount(StrictModel):
    """One Pfam model's hits in an analysis' predicted proteins."""

    accession: str = Field(description="Pfam accession with version (PF00069.17), or the model name if it has none")
    name: str = Field(description="The model's name (Pkinase)")
    description: str = ""
    domains: int = Field(ge=0, description="Domain hits passing the threshold")
    proteins: int = Field(ge=0, description="Proteins with at least one such domain")
    threshold: PfamThreshold


class ProteinDomainHit(StrictModel):
    """One domain hit on one predicted protein (a row of hmmsearch --domtblout that passed)."""

    protein: str
    accession: str
    name: str
    score: float = Field(description="Domain bit score")
    i_evalue: float = Field(ge=0, description="Domain independent E-value")
    envelope_start: int = Field(ge=1)
    envelope_end: int = Field(ge=1)


class PfamAnnotations(StrictModel):
    """Pfam domain annotation of the predicted proteins."""

    models: list[str] = Field(default=[], description="Every model searched (accession or name)")
    counts: list[PfamDomainCount] = Field(default=[], description="Per model with hits, most domains first")
    hits: list[ProteinDomainHit] = Field(default=[], description="Every passing domain hit")


class RrnaKingdom(StrEnum):
    """barrnap's model sets."""

    BACTERIA = "bacteria"
    ARCHAEA = "archaea"
    EUKARYOTA = "eukaryota"
    MITOCHONDRIA = "mitochondria"


class RrnaGeneType(StrEnum):
    SSU = "SSU"  # 16S / 18S / 12S (mitochondrial)
    LSU = "LSU"  # 23S / 28S / 16S (mitochondrial)
    FIVE_S = "5S"
    FIVE_EIGHT_S = "5.8S"


class RrnaGene(StrictModel):
    """One rRNA gene found on a contig (barrnap, best kingdom kept where models overlap)."""

    contig: str
    start: int = Field(ge=1)
    end: int = Field(ge=1)
    strand: str
    kingdom: RrnaKingdom
    gene: RrnaGeneType
    model: str = Field(description="barrnap's model name (16S_rRNA)")
    evalue: float = Field(ge=0)
    partial: bool = Field(default=False, description="Shorter than barrnap's length cut-off of the model")


class RrnaCount(StrictModel):
    kingdom: RrnaKingdom
    gene: RrnaGeneType
    count: int = Field(ge=0)


class RrnaAnnotations(StrictModel):
    """rRNA genes on the contigs: counts per kingdom and gene type, and every gene."""

    counts: list[RrnaCount] = []
    genes: list[RrnaGene] = []


class AnalysisAnnotations(StrictModel):
    """Annotation tables of an analysis: large, so kept apart from ``results`` and served by action endpoints."""

    pfam: PfamAnnotations | None = None
    rrna: RrnaAnnotations | None = None


class DownloadFile(StrictModel):
    """A file an analysis produced, with what a downloader needs to verify it."""

    alias: str = Field(description="Stable file name shown to users, e.g. MGYA00000001_contigs.fasta.gz")
    description: str = ""
    file_type: str = Field(description="fasta, fastq, tsv, json, html, ...")
    relative_path: str = Field(description="Path under the analysis' results directory")
    size_bytes: int = Field(ge=0)
    md5: str = Field(pattern=r"^[0-9a-f]{32}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    drs_object_id: str | None = None


DOWNLOADS_SCHEMA = list[DownloadFile]


class SlurmJobRecord(StrictModel):
    job_id: str
    step: str
    state: str
    exit_code: int | None = None
    submitted_at: datetime | None = None
    updated_at: datetime | None = None
    node: str | None = Field(default=None, description="The host the step ran on, where the engine reports it")
    elapsed_seconds: int | None = Field(
        default=None, ge=0, description="Wall time of the step, as the engine measured it"
    )


class ReadsUsed(StrictModel):
    """Which of the run's FASTQ files the analysis took, and why (the rule of ``ena.read_files``)."""

    layout: str = Field(description="single or paired")
    files: list[str] = Field(description="The files analysed, read 1 first")
    unpaired_not_analysed: str | None = Field(
        default=None, description="A third file of unpaired reads the run lists: recorded, not downloaded or analysed"
    )
    library_layout: str = Field(default="", description="What ENA's library_layout said")
    rule: str = Field(description="The roles and how they were decided, in words")


class Provenance(StrictModel):
    """Enough to say exactly how a result was made."""

    pipeline_name: str
    pipeline_version: str
    parameters: dict = {}
    parameters_hash: str = ""
    tool_versions: dict[str, str] = {}
    input_checksums: dict[str, str] = {}
    reads: ReadsUsed | None = None
    slurm_jobs: list[SlurmJobRecord] = []
    work_dir: str | None = None
    prefect_flow_run_id: str | None = None
    failed_step: str | None = None
    error_message: str | None = None
