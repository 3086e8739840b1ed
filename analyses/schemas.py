"""Pydantic schemas of the JSONFields on analyses models (validated on every write).

Plain pydantic, importable without Django, so pipeline parsers can build these objects directly.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


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


class QualityControl(StrictModel):
    before_filtering: ReadStats
    after_filtering: ReadStats
    passed_filter_reads: int | None = Field(default=None, ge=0)
    low_quality_reads: int | None = Field(default=None, ge=0)
    too_short_reads: int | None = Field(default=None, ge=0)


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


class AnalysisResults(StrictModel):
    assembly: AssemblyStats | None = None
    predicted_proteins: int | None = Field(default=None, ge=0)
    sequence_stats: list[SequenceFileStats] = []
    profile_hits: list[ProfileHit] = []


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
