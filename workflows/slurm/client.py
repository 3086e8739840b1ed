"""SlurmClient: submit jobs and arrays, query many jobs at once, cancel, and wait with backoff."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from core.config import current_config
from workflows.slurm.backend import SlurmBackend
from workflows.slurm.errors import SlurmWaitTimeout
from workflows.slurm.models import ArraySpec, JobSpec, SlurmDefaults, SlurmJob
from workflows.slurm.parsing import ActiveJob
from workflows.slurm.states import JobState


class SlurmClient:
    """The one way platform code talks to Slurm.

    :param backend: how to reach Slurm; ``None`` = its commands (:class:`CliBackend`). A slurmrestd
        backend implementing :class:`SlurmBackend` can be passed instead without changing callers.
    :param defaults: values for what a JobSpec leaves unset; ``None`` = ``EMG_CONFIG.slurm`` if Django
        is configured, else built-in values (partition ``pipelines``).
    """

    def __init__(self, backend: SlurmBackend | None = None, defaults: SlurmDefaults | None = None) -> None:
        if backend is None:
            from workflows.slurm.cli import CliBackend

            backend = CliBackend(slurm_conf=_configured_slurm_conf())
        self.backend = backend
        self.defaults = defaults or SlurmDefaults.from_settings()

    def submit(self, spec: JobSpec) -> str:
        """Submit one job; return its id.

        :param spec: the job.
        :raises SlurmSubmissionError: Slurm refused it (a subclass says why; the message is Slurm's).
        """
        return self.backend.submit(self.resolve(spec))

    def submit_array(self, spec: JobSpec, indices: str | range | ArraySpec, max_parallel: int | None = None) -> str:
        """Submit a job array (one sbatch); each task sees ``SLURM_ARRAY_TASK_ID``. Return the array id;
        its tasks are reported as ``"<array id>_<index>"``.

        :param spec: the job every task runs.
        :param indices: ``"0-99"``, ``"1,3,5"``, a range, or an ArraySpec.
        :param max_parallel: at most this many tasks at once.
        """
        array = indices if isinstance(indices, ArraySpec) else ArraySpec(indices=indices, max_parallel=max_parallel)
        return self.backend.submit(self.resolve(spec), array)

    def states(self, job_ids: Iterable[str]) -> dict[str, SlurmJob]:
        """The current state of many jobs in one round trip (one squeue and one sacct call).

        Array ids are expanded into their tasks. An id Slurm does not know maps to a record in
        state ``UNKNOWN``.

        :param job_ids: job, array or array task ids.
        """
        ids = [str(job_id) for job_id in job_ids]
        found = self.backend.query(ids)
        for job_id in ids:
            if job_id not in found and not any(key.startswith(f"{job_id}_") for key in found):
                found[job_id] = SlurmJob(job_id=job_id, name="", state=JobState.UNKNOWN, raw_state="")
        return found

    def state(self, job_id: str) -> SlurmJob:
        """The state of one job (for an array use :meth:`states`)."""
        return self.states([job_id])[str(job_id)]

    def cancel(self, job_ids: Iterable[str] | str) -> None:
        """Cancel jobs (an array id cancels all its tasks); already finished jobs are ignored."""
        ids = [job_ids] if isinstance(job_ids, str) else [str(job_id) for job_id in job_ids]
        self.backend.cancel(ids)

    def active_jobs(self, *, comment: str | None = None, name_prefix: str | None = None) -> list[ActiveJob]:
        """This user's queued and running jobs, those with ``comment`` and a name starting ``name_prefix``.

        For jobs known by what they carry rather than by id: the task jobs of an engine killed
        before it could record (or cancel) them. One squeue call.
        """
        return [
            job
            for job in self.backend.active_jobs()
            if (comment is None or job.comment == comment) and (name_prefix is None or job.name.startswith(name_prefix))
        ]

    def wait(
        self,
        job_ids: Iterable[str] | str,
        timeout_seconds: float | None = None,
        poll: float = 0.5,
        max_poll: float = 10.0,
        backoff: float = 1.5,
        accounting_grace_seconds: float = 15.0,
    ) -> dict[str, SlurmJob]:
        """Block until every job (and every task of every array) has finished; return the final records.

        Polls with exponential backoff from ``poll`` to ``max_poll`` seconds. Once all are finished it
        waits (up to ``accounting_grace_seconds``) for accounting to have them, so exit codes, elapsed
        time and peak memory are final.

        :param job_ids: job, array or array task ids.
        :param timeout_seconds: give up after this long (``None`` = never).
        :raises SlurmWaitTimeout: not all finished in time; ``error.jobs`` has the last states.
        """
        ids = [job_ids] if isinstance(job_ids, str) else [str(job_id) for job_id in job_ids]
        started = time.monotonic()
        deadline = None if timeout_seconds is None else started + timeout_seconds
        all_finished_at: float | None = None
        interval = poll
        while True:
            jobs = self.states(ids)
            now = time.monotonic()
            if all(job.state.is_terminal for job in jobs.values()):
                if all(job.accounted for job in jobs.values()):
                    return jobs
                all_finished_at = all_finished_at or now
                if now - all_finished_at >= accounting_grace_seconds:
                    return jobs
                interval = min(interval, 0.5)  # accounting lags by well under a second
            else:
                all_finished_at = None
            if deadline is not None and now >= deadline:
                waiting = sorted(job_id for job_id, job in jobs.items() if not job.state.is_terminal)
                raise SlurmWaitTimeout(
                    f"{len(waiting)} job(s) not finished after {timeout_seconds:g}s: {', '.join(waiting[:10])}",
                    jobs=jobs,
                )
            sleep = interval if deadline is None else max(0.0, min(interval, deadline - now))
            time.sleep(sleep)
            interval = min(interval * backoff, max_poll)

    def resolve(self, spec: JobSpec) -> JobSpec:
        """The spec with the client's defaults filled in."""
        defaults = self.defaults
        return replace(
            spec,
            partition=spec.partition or defaults.partition,
            account=spec.account or defaults.account,
            cpus=spec.cpus or defaults.cpus,
            memory_mb=spec.memory_mb or defaults.memory_mb,
            time_limit_minutes=spec.time_limit_minutes or defaults.time_limit_minutes,
        )


def _configured_slurm_conf() -> Path | None:
    """``EMG_CONFIG.slurm.slurm_conf``, if set."""
    return current_config().slurm.slurm_conf
