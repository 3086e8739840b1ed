"""One enum for the states Slurm reports through squeue, sacct and slurmrestd."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """The state of a Slurm job or array task, with Slurm's many spellings folded into one set."""

    PENDING = "pending"
    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    NODE_FAIL = "node_fail"
    BOOT_FAIL = "boot_fail"
    PREEMPTED = "preempted"
    DEADLINE = "deadline"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """True once the job will not run any more (it may still be requeued by an admin)."""
        return self not in _NOT_TERMINAL

    @property
    def is_success(self) -> bool:
        """True only for a job that ran to the end and exited 0."""
        return self is JobState.COMPLETED

    @classmethod
    def from_slurm(cls, raw: str) -> JobState:
        """Map a state as squeue/sacct print it (``CANCELLED by 0``, ``CG``, ``OUT_OF_ME+``...).

        :param raw: Slurm's state text, long or compact form.
        """
        word = raw.strip().split(" ", 1)[0].rstrip("+").upper()
        return _SLURM_STATES.get(word, cls.UNKNOWN)


_NOT_TERMINAL = {JobState.PENDING, JobState.RUNNING, JobState.SUSPENDED, JobState.UNKNOWN}

_SLURM_STATES: dict[str, JobState] = {
    # Waiting to run (requeued jobs wait again).
    "PENDING": JobState.PENDING,
    "PD": JobState.PENDING,
    "CONFIGURING": JobState.PENDING,
    "CF": JobState.PENDING,
    "REQUEUED": JobState.PENDING,
    "RQ": JobState.PENDING,
    "REQUEUE_HOLD": JobState.PENDING,
    "RH": JobState.PENDING,
    "REQUEUE_FED": JobState.PENDING,
    "RF": JobState.PENDING,
    "RESV_DEL_HOLD": JobState.PENDING,
    "RD": JobState.PENDING,
    # Running, or still cleaning up: the exit code is not final until COMPLETING is over.
    "RUNNING": JobState.RUNNING,
    "R": JobState.RUNNING,
    "COMPLETING": JobState.RUNNING,
    "CG": JobState.RUNNING,
    "STAGE_OUT": JobState.RUNNING,
    "SO": JobState.RUNNING,
    "SIGNALING": JobState.RUNNING,
    "SI": JobState.RUNNING,
    "RESIZING": JobState.RUNNING,
    "RS": JobState.RUNNING,
    "SUSPENDED": JobState.SUSPENDED,
    "S": JobState.SUSPENDED,
    "STOPPED": JobState.SUSPENDED,
    "ST": JobState.SUSPENDED,
    # Finished.
    "COMPLETED": JobState.COMPLETED,
    "CD": JobState.COMPLETED,
    "FAILED": JobState.FAILED,
    "F": JobState.FAILED,
    "SPECIAL_EXIT": JobState.FAILED,
    "SE": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
    "CA": JobState.CANCELLED,
    "REVOKED": JobState.CANCELLED,
    "RV": JobState.CANCELLED,
    "TIMEOUT": JobState.TIMEOUT,
    "TO": JobState.TIMEOUT,
    "OUT_OF_MEMORY": JobState.OUT_OF_MEMORY,
    "OUT_OF_ME": JobState.OUT_OF_MEMORY,
    "OOM": JobState.OUT_OF_MEMORY,
    "NODE_FAIL": JobState.NODE_FAIL,
    "NF": JobState.NODE_FAIL,
    "BOOT_FAIL": JobState.BOOT_FAIL,
    "BF": JobState.BOOT_FAIL,
    "PREEMPTED": JobState.PREEMPTED,
    "PR": JobState.PREEMPTED,
    "DEADLINE": JobState.DEADLINE,
    "DL": JobState.DEADLINE,
}
