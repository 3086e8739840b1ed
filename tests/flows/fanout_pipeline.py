"""A Snakemake pipeline that only waits, for fan-out tests and ``bench/study_fanout.py``.

The bundled pipeline takes tens of seconds of two shared cores per run; following a study's many
analyses needs head jobs that are cheap and last as long as asked. Its one step sleeps, then writes
the reads' sizes (published as the analysis' one download), or fails for the run named ``fail_run``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, create_model

from analyses.schemas import AnalysisResults, DownloadFile, Provenance
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
from workflows.pipelines.registry import register, unregister
from workflows.pipelines.workarea import WorkArea

NAME = "fanout-wait"
VERSION = "0.1.0"


class WaitParameters(PipelineParameters):
    seconds: float = Field(default=1.0, ge=0)
    fail_run: str = ""


class WaitPipeline(PipelineDefinition):
    name = NAME
    version = VERSION
    engine = Engine.SNAKEMAKE
    input_kind = InputKind.READS
    parameters_model = WaitParameters
    outputs = (OutputSpec(key="reads", relative_path="reads.txt", file_type="tsv"),)
    steps = ("wait",)
    default_resources = StepResources(cpus=1, memory_mb=100, time_limit_minutes=30)
    expected_duration = timedelta(minutes=1)

    def entry_point(self) -> Path:
        return Path(__file__).with_suffix(".smk")

    def parse_outputs(self, work_area: WorkArea, *, analysis_accession: str | None = None) -> PipelineOutputs:
        path = work_area.results_dir / "reads.txt"
        sums = file_checksums(path)
        accession = analysis_accession or work_area.name
        return PipelineOutputs(
            quality_control=None,
            results=AnalysisResults(),
            downloads=[
                DownloadFile(
                    alias=f"{accession}_reads.txt",
                    file_type="tsv",
                    relative_path="reads.txt",
                    size_bytes=sums.size_bytes,
                    md5=sums.md5,
                    sha256=sums.sha256,
                )
            ],
            provenance=Provenance(pipeline_name=self.name, pipeline_version=self.version),
        )


def pipeline_with(seconds: float, fail_run: str = "") -> type[WaitPipeline]:
    """Register the wait pipeline with these default parameters (the flow runs the defaults)."""

    parameters = create_model(
        "ConfiguredWaitParameters", __base__=WaitParameters, seconds=(float, seconds), fail_run=(str, fail_run)
    )

    class Configured(WaitPipeline):
        parameters_model = parameters

    unregister(NAME, VERSION)
    register(Configured)
    return Configured
