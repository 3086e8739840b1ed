"""raw-reads for Nextflow: the bundled pipeline's tools and outputs as a Nextflow DSL2 project (main.nf)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from workflows.pipelines.definition import InputKind, OutputSpec, PipelineInputs, PipelineOutputs, PipelineParameters
from workflows.pipelines.launchers.nextflow import NextflowPipeline, nextflow_step_records
from workflows.pipelines.raw_reads.pipeline import (
    PFAM_MODELS_DIR,
    RawReadsParameters,
    RawReadsPipeline,
    parse_raw_reads_outputs,
)
from workflows.pipelines.registry import register
from workflows.pipelines.workarea import WorkArea

PROJECT_DIR = Path(__file__).resolve().parent


@register
class RawReadsNextflowPipeline(NextflowPipeline):
    """raw-reads-nf 2.0.0: the same steps as raw-reads, run by Nextflow."""

    name: ClassVar[str] = "raw-reads-nf"
    version: ClassVar[str] = "2.0.0"
    input_kind: ClassVar[InputKind] = InputKind.READS
    parameters_model: ClassVar[type[PipelineParameters]] = RawReadsParameters
    outputs: ClassVar[tuple[OutputSpec, ...]] = RawReadsPipeline.outputs
    repository: ClassVar[str] = str(PROJECT_DIR)
    profile: ClassVar[str] = "slurm"

    def nextflow_params(self, inputs: PipelineInputs, params: PipelineParameters, work_area: WorkArea) -> dict:
        return {
            **super().nextflow_params(inputs, params, work_area),
            "pfam_models": str(PFAM_MODELS_DIR / "*.hmm"),
        }

    def parse_outputs(self, work_area: WorkArea, *, analysis_accession: str | None = None) -> PipelineOutputs:
        return parse_raw_reads_outputs(
            self, work_area, analysis_accession=analysis_accession, slurm_jobs=nextflow_step_records(work_area)
        )
