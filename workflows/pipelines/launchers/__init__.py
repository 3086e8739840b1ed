"""Launchers run pipeline definitions on Slurm, one per engine; :func:`launcher_for` picks a pipeline's.

A new engine is a :class:`~workflows.pipelines.launchers.base.Launcher` subclass with its ``engine``
set, listed in :data:`LAUNCHERS`.
"""

from __future__ import annotations

from typing import Any

from core.config import current_config
from workflows.pipelines.definition import Engine, PipelineDefinition
from workflows.pipelines.launchers.base import Launcher
from workflows.pipelines.launchers.nextflow import NextflowLauncher
from workflows.pipelines.launchers.snakemake import SnakemakeLauncher
from workflows.slurm import SlurmClient

#: The launcher class of each engine.
LAUNCHERS: dict[Engine, type[Launcher]] = {
    launcher.engine: launcher for launcher in (SnakemakeLauncher, NextflowLauncher)
}


def launcher_for(pipeline: PipelineDefinition, slurm: SlurmClient | None = None, **options: Any) -> Launcher:
    """The launcher of ``pipeline``'s engine, on ``slurm`` (a new :class:`SlurmClient` by default).

    :param pipeline: the definition; its ``engine`` decides the launcher
    :param slurm: the Slurm client the launcher submits with
    :param options: the launcher's own options (``partition``, ``account``, ``head_memory_mb``, ...)
    :raises LookupError: no launcher is known for the pipeline's engine
    """
    try:
        launcher_class = LAUNCHERS[pipeline.engine]
    except KeyError:
        known = ", ".join(sorted(LAUNCHERS))
        raise LookupError(
            f"{pipeline.identifier}: no launcher for engine {pipeline.engine!r}; known: {known}"
        ) from None
    head_limit = current_config().slurm.head_time_limit_minutes
    if head_limit is not None:
        options.setdefault("head_time_limit_minutes", head_limit)
    return launcher_class(slurm or SlurmClient(), **options)


__all__ = ["LAUNCHERS", "Launcher", "NextflowLauncher", "SnakemakeLauncher", "launcher_for"]
