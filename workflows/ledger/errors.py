"""Refusals of the work ledger, as domain errors (``core.errors``): the API layer maps them to statuses."""

from __future__ import annotations

from core.errors import Conflict, DomainError, NotFound
from core.errors import InvalidInput as InvalidValue
from workflows.ledger.canonical import InputError, SchemaDefinitionError


class LedgerError(DomainError):
    """Base class of refusals by the ledger."""


class LedgerConflict(LedgerError, Conflict):
    """The request contradicts the current state of the ledger."""


class IllegalTransition(LedgerConflict):
    """A change of state that the lifecycle does not allow."""


class LeaseConflict(LedgerConflict):
    """The caller does not hold the item's lease (or the lease has been lost)."""


class AttemptsExhausted(LedgerConflict):
    """A re-run was asked for an item that used all its attempts, without ``reset_attempts``."""


class PipelineConflict(LedgerConflict):
    """A pipeline (name, version) exists with a different input schema."""


class InvalidInput(LedgerError, InvalidValue):
    """An input does not match the pipeline's schema."""


class UnknownWorkItem(LedgerError, NotFound):
    """No work item with that id."""


class UnknownPipeline(LedgerError, NotFound):
    """No pipeline with that name and version on the ledger."""


__all__ = [
    "AttemptsExhausted",
    "IllegalTransition",
    "InputError",
    "InvalidInput",
    "LeaseConflict",
    "LedgerConflict",
    "LedgerError",
    "PipelineConflict",
    "SchemaDefinitionError",
    "UnknownPipeline",
    "UnknownWorkItem",
]
