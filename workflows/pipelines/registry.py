"""The pipelines the platform knows, by name and version."""

from __future__ import annotations

from workflows.pipelines.definition import PipelineDefinition

_REGISTRY: dict[tuple[str, str], type[PipelineDefinition]] = {}


class UnknownPipeline(LookupError):
    pass


def register(definition: type[PipelineDefinition]) -> type[PipelineDefinition]:
    """Register a pipeline class (usable as a decorator)."""
    _REGISTRY[(definition.name, definition.version)] = definition
    return definition


def get_pipeline(name: str, version: str) -> PipelineDefinition:
    """The pipeline ``name`` at ``version``, e.g. ``get_pipeline("raw-reads", "1.0.0")``.

    :raises UnknownPipeline: no such pipeline or version
    """
    _load_bundled()
    try:
        return _REGISTRY[(name, version)]()
    except KeyError:
        known = ", ".join(f"{n}@{v}" for n, v in sorted(_REGISTRY))
        raise UnknownPipeline(f"no pipeline {name}@{version}; known: {known}") from None


def available_pipelines() -> list[tuple[str, str]]:
    _load_bundled()
    return sorted(_REGISTRY)


def _load_bundled() -> None:
    from workflows.pipelines.raw_reads.pipeline import RawReadsPipeline
    from workflows.pipelines.raw_reads_nf import RawReadsNextflowPipeline

    for definition in (RawReadsPipeline, RawReadsNextflowPipeline):
        _REGISTRY.setdefault((definition.name, definition.version), definition)
