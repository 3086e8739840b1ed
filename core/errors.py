"""The platform's domain errors: what went wrong, in the domain's words, with no HTTP in them.

Services and selectors raise these; the API layer alone turns them into status codes, in one table
(:data:`core.api.STATUS_FOR_ERROR`). Each app subclasses them for its own refusals (e.g. the
ledger's ``IllegalTransition`` is a :class:`Conflict`), so callers can catch either.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal by domain code; the message is shown to the caller as it is."""


class NotFound(DomainError):
    """No such object, or none the caller may see (private objects are reported as missing)."""


class InvalidInput(DomainError, ValueError):
    """A value the caller gave is malformed or out of range; the message names it."""


class TooLarge(InvalidInput):
    """A request asks for more than the service answers at once (e.g. too many ids in one call)."""


class Conflict(DomainError):
    """The request contradicts the current state (e.g. an illegal change of state, a lost lease)."""


class AuthenticationRequired(DomainError):
    """The caller must say who they are (and may then be allowed)."""


class PermissionDenied(DomainError):
    """The caller is known and not allowed; retrying with the same identity will not help."""


class Unavailable(DomainError):
    """A service the request depends on did not answer (e.g. Prefect, Slurm); trying later may work."""


class TooManyRequests(DomainError):
    """The caller went past a limit (failed logins, launches); ``retry_after`` seconds until it lifts."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, retry_after)
