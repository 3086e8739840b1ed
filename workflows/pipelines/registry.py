"""The pipelines the platform knows, by name and version.

Pipelines register themselves: a module defines a :class:`PipelineDefinition` subclass decorated
with :func:`register`. The modules to import are configured (``EMG_CONFIG.pipelines.modules``,
like Django's ``INSTALLED_APPS``), so a new pipeline is one new module and one entry in that list.
"""

from __future__ import annotations

import importlib

from core.config import current_config
from core.errors import NotFound
from workflows.pipelines.definition import PipelineDefinition

_REGISTRY: dict[tuple[str, str], type[PipelineDefinition]] = {}


class UnknownPipeline(NotFound, LookupError):
    pass


def register(definition: type[PipelineDefinition]) -> type[PipelineDefinition]:
    """Register a pipeline class under its (name, version); a class decorator.

    :raises ValueError: another class is already registered under the same name and version
    """
    key = (definition.name, definition.version)
    existing = _REGISTRY.get(key)
    same_class = existing is not None and (existing.__module__, existing.__qualname__) == (
        definition.__module__,
        definition.__qualname__,
    )  # the same module imported again (e.g. reloaded) registers the same pipeline
    if existing is not None and not same_class:
        raise ValueError(f"{definition.name}@{definition.version} is already registered by {existing.__qualname__}")
    _REGISTRY[key] = definition
    return definition


def unregister(name: str, version: str) -> None:
    """Forget a pipeline (for tests that register their own)."""
    _REGISTRY.pop((name, version), None)


def load_configured_pipelines() -> None:
    """Import every module of ``EMG_CONFIG.pipelines.modules`` (each registers its pipelines). Idempotent."""
    for module in current_config().pipelines.modules:
        importlib.import_module(module)


def get_pipeline(name: str, version: str) -> PipelineDefinition:
    """The pipeline ``name`` at ``version``, e.g. ``get_pipeline("raw-reads", "1.0.0")``.

    :raises UnknownPipeline: no such pipeline or version
    """
    load_configured_pipelines()
    try:
        return _REGISTRY[(name, version)]()
    except KeyError:
        known = ", ".join(f"{n}@{v}" for n, v in sorted(_REGISTRY))
        raise UnknownPipeline(f"no pipeline {name}@{version}; known: {known}") from None


def available_pipelines() -> list[tuple[str, str]]:
    load_configured_pipelines()
    return sorted(_REGISTRY)
