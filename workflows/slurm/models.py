"""What a caller asks Slurm to run (JobSpec) and what Slurm says about it (SlurmJob)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from core.config import current_config
from workflows.slurm.states import JobState

DependencyType = Literal["afterok", "afterany", "afternotok", "after", "aftercorr"]


@dataclass(kw_only=True)
class JobSpec:
    """One batch job: either ``command`` (a shell command line) or ``script`` (a whole batch script).

    Unset resources take the client's defaults (``EMG_CONFIG.slurm`` when Django is configured).

    :param name: the job name (``--job-name``).
    :param command: shell text run by ``/bin/bash`` as the job; its exit code is the job's.
    :param script: a complete batch script (shebang, ``#SBATCH`` lines...), sent as is.
    :param partition: the partition; ``None`` = the client's default.
    :param cpus: CPUs per task.
    :param memory_mb: memory for the job, in MiB (``--mem``).
    :param time_limit_minutes: wall-time limit; Slurm enforces it with about a minute of granularity.
    :param working_directory: ``--chdir``; ``None`` = the submitter's current directory.
    :param stdout: ``--output`` (Slurm patterns like ``%j``, ``%A_%a`` work).
    :param stderr: ``--error``.
    :param environment: variables exported to the job, on top of the submitter's environment.
    :param dependencies: job ids this job waits for.
    :param dependency_type: how it waits for them (``afterok`` = only if they all succeed).
    :param kill_on_invalid_dependency: cancel this job when its dependency can never be satisfied,
        rather than leaving it pending forever.
    :param account: the Slurm account; ``None`` = the client's default (none = the user's default).
    :param extra_args: further sbatch options, passed through.
    """

    name: str
    command: str | None = None
    script: str | None = None
    partition: str | None = None
    cpus: int | None = None
    memory_mb: int | None = None
    time_limit_minutes: int | None = None
    working_directory: Path | None = None
    stdout: Path | None = None
    stderr: Path | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    dependencies: Sequence[str] = ()
    dependency_type: DependencyType = "afterok"
    kill_on_invalid_dependency: bool = True
    account: str | None = None
    extra_args: Sequence[str] = ()

    def __post_init__(self) -> None:
        if (self.command is None) == (self.script is None):
            raise ValueError("JobSpec needs exactly one of command or script")


@dataclass(kw_only=True, frozen=True)
class ArraySpec:
    """The tasks of a job array.

    :param indices: Slurm's index expression (``0-99``, ``1,3,5``) or a Python range.
    :param max_parallel: at most this many tasks run at once (``%N``).
    """

    indices: str | range
    max_parallel: int | None = None

    def expression(self) -> str:
        """The ``--array`` value."""
        if isinstance(self.indices, range):
            indices = self.indices
            if len(indices) == 0:
                raise ValueError("an array needs at least one index")
            last = indices[-1]
            text = f"{indices.start}-{last}" if len(indices) > 1 else str(indices.start)
            if indices.step != 1 and len(indices) > 1:
                text += f":{indices.step}"
        else:
            text = self.indices.strip()
        if self.max_parallel:
            text += f"%{self.max_parallel}"
        return text


@dataclass(kw_only=True, frozen=True)
class SlurmDefaults:
    """Values used for what a JobSpec leaves unset."""

    partition: str = "pipelines"
    account: str | None = None
    cpus: int = 1
    memory_mb: int = 2048
    time_limit_minutes: int = 60

    @classmethod
    def from_settings(cls) -> SlurmDefaults:
        """``EMG_CONFIG.slurm``: Django's when configured, else the same settings read from the environment."""
        slurm = current_config().slurm
        return cls(
            partition=slurm.default_partition,
            account=slurm.default_account,
            cpus=slurm.default_cpus,
            memory_mb=slurm.default_memory_mb,
            time_limit_minutes=slurm.default_time_limit_minutes,
        )


@dataclass(kw_only=True, frozen=True)
class SlurmJob:
    """What Slurm knows about one job or one array task.

    :param job_id: Slurm's id: ``"123"``, or ``"123_4"`` for task 4 of array 123.
    :param state: the folded state; ``raw_state`` keeps Slurm's text.
    :param exit_code: the job script's exit code once finished (``None`` while unknown).
    :param signal: the signal that ended it, if any (e.g. 15 for a cancelled job, 9 after a kill).
    :param reason: why it waits or why it ended (``Dependency``, ``NonZeroExitCode``, ``TimeLimit``...).
    :param elapsed_seconds: wall time used so far or in total.
    :param max_rss_bytes: peak resident memory over the job's steps (``None`` if not sampled).
    :param node: the NodeList Slurm reports (``emgnode1``, ``emgnode[1-2]``): where it runs or ran;
        ``None`` while pending (squeue's empty ``%N``, sacct's "None assigned"), never guessed.
    :param accounted: True when this record comes from accounting (sacct), which is final.
    """

    job_id: str
    name: str
    state: JobState
    raw_state: str
    exit_code: int | None = None
    signal: int | None = None
    reason: str | None = None
    elapsed_seconds: int | None = None
    max_rss_bytes: int | None = None
    submit_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    node: str | None = None
    accounted: bool = False

    @property
    def known_to_slurm(self) -> bool:
        """False for the placeholder :meth:`SlurmClient.states` gives an id neither squeue nor sacct knows."""
        return bool(self.raw_state)

    @property
    def array_job_id(self) -> str:
        """The array's id for an array task (``"123"`` for ``"123_4"``), else the job id."""
        return self.job_id.split("_", 1)[0]

    @property
    def array_task_id(self) -> int | None:
        """The task index of an array task, else ``None``."""
        _, _, index = self.job_id.partition("_")
        return int(index) if index.isdigit() else None
