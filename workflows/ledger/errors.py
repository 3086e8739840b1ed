"""Exceptions of the work ledger; the API maps each to an HTTP status (see ``workflows.api``)."""

from __future__ import annotations

from workflows.ledger.canonical import InputError, SchemaDefinitionError


class LedgerError(Exception):
    """Base class of refusals by the ledger."""

    status_code = 400


class LedgerConflict(LedgerError):
    """The request contradicts the current state of the ledger (HTTP 409)."""

    status_code = 409


class IllegalTransition(LedgerConflict):
    """A change of state that the lifecycle does not allow."""


class LeaseConflict(LedgerConflict):
    """The caller does not hold the item's lease (or the lease has been lost)."""


class AttemptsExhausted(LedgerConflict):
    """A re-run was asked for an item that used all its attempts, without ``reset_attempts``."""


class PipelineConflict(LedgerConflict):
    """A pipeline (name, version) exists with a different input schema."""


class InvalidInput(LedgerError):
    """An input does not match the pipeline's schema (HTTP 400)."""


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
]
