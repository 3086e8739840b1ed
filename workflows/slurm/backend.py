"""The interface between SlurmClient and a way of talking to Slurm (commands now, slurmrestd later)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from workflows.slurm.models import ArraySpec, JobSpec, SlurmJob
from workflows.slurm.parsing import ActiveJob


class SlurmBackend(Protocol):
    """What SlurmClient needs from Slurm. Specs arrive with every default already filled in."""

    def submit(self, spec: JobSpec, array: ArraySpec | None = None) -> str:
        """Submit one job or one array; return Slurm's job id (the array's id for an array).

        :raises SlurmSubmissionError: Slurm refused the job (with Slurm's message).
        """
        ...

    def query(self, job_ids: Sequence[str]) -> dict[str, SlurmJob]:
        """The current records of these jobs, array tasks expanded (``"123_4"``), in one round trip
        per source. Ids Slurm does not know are left out.
        """
        ...

    def cancel(self, job_ids: Sequence[str]) -> None:
        """Cancel these jobs (array ids cancel all their tasks); finished jobs are ignored."""
        ...

    def active_jobs(self) -> list[ActiveJob]:
        """This user's queued and running jobs, with their names and comments (one round trip)."""
        ...
