"""Engine-independent description of a pipeline: name, version, typed parameters, inputs, outputs.

A result is identified by the pipeline's version and the hash of its parameters
(:func:`parameters_hash`); the engine that runs it (Snakemake, Nextflow) is a detail of the
definition, not of the caller.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from analyses.schemas import AnalysisAnnotations, AnalysisResults, DownloadFile, Provenance, QualityControl

if TYPE_CHECKING:
    from workflows.pipelines.workarea import WorkArea


class Engine(StrEnum):
    """Workflow engines a launcher exists for."""

    SNAKEMAKE = "snakemake"
    NEXTFLOW = "nextflow"


class InputKind(StrEnum):
    """What a pipeline consumes."""

    READS = "reads"
    ASSEMBLY = "assembly"


class PipelineParameters(BaseModel):
    """Base of every pipeline's typed parameters. Frozen and strict: unknown names are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def canonical_json(self) -> str:
        """The parameters as canonical JSON (sorted keys, no whitespace), the input of the hash."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        """sha256 hex digest of :meth:`canonical_json`."""
        return parameters_hash(self)


def parameters_hash(params: PipelineParameters) -> str:
    """sha256 of the canonical JSON of typed parameters; with the version it identifies a result.

    :param params: the typed parameters
    :return: 64 hex characters
    """
    return hashlib.sha256(params.canonical_json().encode()).hexdigest()


class RunInputs(BaseModel):
    """A sequencing run's FASTQ files: one (single-end) or two (paired-end, R1 then R2)."""

    model_config = ConfigDict(frozen=True)

    kind: ClassVar[InputKind] = InputKind.READS
    fastq: list[Path] = Field(min_length=1, max_length=2)

    @model_validator(mode="after")
    def _absolute(self) -> RunInputs:
        object.__setattr__(self, "fastq", [Path(p).resolve() for p in self.fastq])
        return self

    @property
    def paired(self) -> bool:
        return len(self.fastq) == 2

    def files(self) -> list[Path]:
        return list(self.fastq)


class AssemblyInputs(BaseModel):
    """An assembly's contigs (FASTA, optionally gzipped)."""

    model_config = ConfigDict(frozen=True)

    kind: ClassVar[InputKind] = InputKind.ASSEMBLY
    contigs: Path

    @model_validator(mode="after")
    def _absolute(self) -> AssemblyInputs:
        object.__setattr__(self, "contigs", Path(self.contigs).resolve())
        return self

    def files(self) -> list[Path]:
        return [self.contigs]


PipelineInputs = RunInputs | AssemblyInputs


class OutputSpec(BaseModel):
    """A file a pipeline declares it produces, relative to the work area's results directory."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="Stable identifier, e.g. 'contigs'")
    relative_path: str
    file_type: str
    description: str = ""
    optional: bool = False

    def alias(self, analysis_accession: str) -> str:
        """The user-facing name: ``<accession>_<file name>``."""
        return f"{analysis_accession}_{Path(self.relative_path).name}"


class StepResources(BaseModel):
    """Slurm resources of one step; not part of a result's identity."""

    model_config = ConfigDict(frozen=True)

    cpus: int = Field(default=1, ge=1)
    memory_mb: int = Field(default=1000, ge=1)
    time_limit_minutes: int = Field(default=30, ge=1)


class PipelineOutputs(BaseModel):
    """Everything parsed from a finished pipeline, shaped for the Analysis' JSONFields."""

    quality_control: QualityControl | None
    results: AnalysisResults
    annotations: AnalysisAnnotations | None = None
    downloads: list[DownloadFile]
    provenance: Provenance


class PipelineDefinition(ABC):
    """A pipeline: identity, typed parameters, declared inputs and outputs, and an output parser.

    Subclasses set the class attributes and implement :meth:`parse_outputs`; the engine-specific
    entry point (a Snakefile, a Nextflow project) is named by :attr:`engine` and :meth:`entry_point`.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    engine: ClassVar[Engine]
    input_kind: ClassVar[InputKind]
    parameters_model: ClassVar[type[PipelineParameters]]
    outputs: ClassVar[tuple[OutputSpec, ...]]
    #: per-step Slurm resources (step name -> resources); steps not listed get ``default_resources``
    step_resources: ClassVar[dict[str, StepResources]] = {}
    default_resources: ClassVar[StepResources] = StepResources()
    #: how many times a failed step is submitted again (on another node if its node was lost)
    step_retries: ClassVar[int] = 1
    #: how long one run usually takes; it sets the work-ledger lease (:attr:`lease_seconds`)
    expected_duration: ClassVar[timedelta] = timedelta(hours=1)

    @property
    def lease_seconds(self) -> int:
        """How long a claim on one run survives without a heartbeat: a twentieth of the expected
        duration, between 1 and 30 minutes. It bounds both how long a crashed worker's work waits
        before another worker adopts it and how long a database outage a holder can ride out.
        """
        return int(min(max(self.expected_duration.total_seconds() / 20, 60), 30 * 60))

    @property
    def identifier(self) -> str:
        return f"{self.name}@{self.version}"

    def default_parameters(self) -> PipelineParameters:
        return self.parameters_model()

    def validate_parameters(self, params: PipelineParameters | dict | None) -> PipelineParameters:
        """Turn ``None``, a dict or a parameters object into this pipeline's typed parameters.

        :raises pydantic.ValidationError: for unknown names or bad values
        """
        if params is None:
            return self.default_parameters()
        if isinstance(params, self.parameters_model):
            return params
        if isinstance(params, PipelineParameters):
            params = params.model_dump()
        return self.parameters_model.model_validate(params)

    def validate_inputs(self, inputs: PipelineInputs) -> None:
        """Check the inputs are of the declared kind and exist.

        :raises ValueError: wrong kind
        :raises FileNotFoundError: a file is missing
        """
        if inputs.kind != self.input_kind:
            raise ValueError(f"{self.identifier} takes {self.input_kind} inputs, not {inputs.kind}")
        for path in inputs.files():
            if not path.is_file():
                raise FileNotFoundError(f"input file not found: {path}")

    def resources_for(self, step: str) -> StepResources:
        return self.step_resources.get(step, self.default_resources)

    @abstractmethod
    def entry_point(self) -> Path:
        """The engine's entry point: a Snakefile, or a Nextflow project directory / repository."""

    def engine_config(self, inputs: PipelineInputs, params: PipelineParameters) -> dict:
        """The engine's configuration for one run (Snakemake ``config``, Nextflow ``params``)."""
        return {
            "inputs": [str(path) for path in inputs.files()],
            "params": params.model_dump(mode="json"),
        }

    @abstractmethod
    def parse_outputs(self, work_area: WorkArea, *, analysis_accession: str | None = None) -> PipelineOutputs:
        """Parse a finished run's outputs in ``work_area`` into schemas ready for an Analysis.

        :param work_area: the analysis' work area the pipeline ran in
        :param analysis_accession: prefix of the download aliases (defaults to the work area's name)
        """
