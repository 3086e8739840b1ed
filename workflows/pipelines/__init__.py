"""Pipelines: engine-independent definitions, launchers on Slurm (Snakemake, Nextflow), output parsers.

See README.md in this directory for the flow author's view and the recipe for a new pipeline or engine.
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
from workflows.pipelines.launchers import LAUNCHERS, Launcher, NextflowLauncher, SnakemakeLauncher, launcher_for
from workflows.pipelines.launchers.nextflow import NextflowPipeline
from workflows.pipelines.launchers.progress import PipelineFailed, PipelineProgress, PipelineState
from workflows.pipelines.launchers.records import LaunchHandle
from workflows.pipelines.registry import UnknownPipeline, available_pipelines, get_pipeline, register
from workflows.pipelines.workarea import WorkArea

__all__ = [
    "LAUNCHERS",
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
    "launcher_for",
    "parameters_hash",
    "register",
]
