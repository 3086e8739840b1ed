"""Pipelines: engine-independent definitions, launchers on Slurm (Snakemake, Nextflow), output parsers.

See README.md in this directory for the flow author's view.
"""

from workflows.pipelines.definition import (
    AssemblyInputs,
    Engine,
    InputKind,
    OutputSpec,
    PipelineDefinition,
    PipelineOutputs,
    PipelineParameters,
    RunInputs,
    parameters_hash,
)
from workflows.pipelines.launchers.base import Launcher, LaunchHandle, PipelineFailed, PipelineProgress, PipelineState
from workflows.pipelines.launchers.nextflow import NextflowLauncher, NextflowPipeline
from workflows.pipelines.launchers.snakemake import SnakemakeLauncher
from workflows.pipelines.registry import UnknownPipeline, available_pipelines, get_pipeline, register
from workflows.pipelines.workarea import WorkArea

__all__ = [
    "AssemblyInputs",
    "Engine",
    "InputKind",
    "LaunchHandle",
    "Launcher",
    "NextflowLauncher",
    "NextflowPipeline",
    "OutputSpec",
    "PipelineDefinition",
    "PipelineFailed",
    "PipelineOutputs",
    "PipelineParameters",
    "PipelineProgress",
    "PipelineState",
    "RunInputs",
    "SnakemakeLauncher",
    "UnknownPipeline",
    "WorkArea",
    "available_pipelines",
    "get_pipeline",
    "parameters_hash",
    "register",
]
