"""Exceptions raised by the Slurm client; each keeps Slurm's own message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflows.slurm.models import SlurmJob


class SlurmError(Exception):
    """Something Slurm refused or could not do.

    :param message: Slurm's message (the ``error:`` text of the command, or the REST API's error).
    :param command: the command that failed, if a command was run.
    """

    def __init__(self, message: str, *, command: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.command = list(command) if command else None


class SlurmUnavailableError(SlurmError):
    """The controller or the accounting daemon did not answer (down, or timed out)."""


class SlurmSubmissionError(SlurmError):
    """sbatch refused a job. Subclasses say why; ``message`` is Slurm's text."""


class InvalidPartitionError(SlurmSubmissionError):
    """The partition does not exist or the job may not use it."""


class ResourceRequestError(SlurmSubmissionError):
    """More memory, CPUs or nodes were asked for than the cluster can ever give."""


class InvalidTimeLimitError(SlurmSubmissionError):
    """The time limit is malformed or above the partition's maximum."""


class InvalidDependencyError(SlurmSubmissionError):
    """A dependency names a job that does not exist or is malformed."""


class SlurmWaitTimeout(SlurmError, TimeoutError):
    """Jobs were still not finished when ``wait`` gave up.

    :param jobs: the last states seen, keyed by job id.
    """

    def __init__(self, message: str, *, jobs: Mapping[str, SlurmJob]) -> None:
        super().__init__(message)
        self.jobs = dict(jobs)


_SUBMISSION_ERRORS: list[tuple[tuple[str, ...], type[SlurmSubmissionError]]] = [
    (("invalid partition", "partition not available", "access/permission denied"), InvalidPartitionError),
    (
        (
            "memory specification can not be satisfied",
            "requested node configuration is not available",
            "more processors requested than permitted",
            "node count specification invalid",
            "cpu count per node can not be satisfied",
            "invalid generic resource",
            "invalid trackable resource",
        ),
        ResourceRequestError,
    ),
    (("time limit", "invalid time specification", "invalid --time"), InvalidTimeLimitError),
    (("dependency",), InvalidDependencyError),
]

_UNAVAILABLE_MARKERS = (
    "unable to contact slurm controller",
    "socket timed out",
    "connection refused",
    "slurmdbd: connection",
    "temporarily unavailable",
)


def submission_error(message: str, command: Sequence[str] | None = None) -> SlurmError:
    """The typed exception for sbatch's error text.

    :param message: what sbatch wrote to stderr.
    :param command: the sbatch command line.
    """
    text = clean_message(message)
    lowered = text.lower()
    if any(marker in lowered for marker in _UNAVAILABLE_MARKERS):
        return SlurmUnavailableError(text, command=command)
    for markers, error_type in _SUBMISSION_ERRORS:
        if any(marker in lowered for marker in markers):
            return error_type(text, command=command)
    return SlurmSubmissionError(text, command=command)


def clean_message(stderr: str) -> str:
    """Slurm's own words from a command's stderr: the ``error:`` lines, without the prefixes.

    :param stderr: the command's standard error.
    """
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    chosen = errors or lines
    return "; ".join(line.split("error:", 1)[-1].strip() for line in chosen) or "no message"
