"""Where a launched pipeline is: its state (derived from Slurm's, in one place), its steps, its progress."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel

from analyses.schemas import SlurmJobRecord
from workflows.slurm import JobState, SlurmJob


class PipelineState(StrEnum):
    """Where a launched pipeline is."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in {PipelineState.COMPLETED, PipelineState.FAILED, PipelineState.CANCELLED}

    @classmethod
    def from_job_state(cls, state: JobState | None) -> PipelineState:
        """The pipeline's state given its head job's Slurm state: the one mapping between the two.

        Built on the Slurm client's ``is_terminal``/``is_success``. ``None`` (Slurm does not know the
        job yet) is PENDING; ``UNKNOWN`` (a reading Slurm could not give) is not terminal, so it keeps
        the pipeline RUNNING: one bad reading never fails a live pipeline. A terminal state other than
        success is FAILED (TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, DEADLINE, ...), except CANCELLED.
        """
        if state is None or state is JobState.PENDING:
            return cls.PENDING
        if not state.is_terminal:
            return cls.RUNNING
        if state.is_success:
            return cls.COMPLETED
        if state is JobState.CANCELLED:
            return cls.CANCELLED
        return cls.FAILED


class StepRecord(BaseModel):
    """One step (Snakemake rule instance, Nextflow task) as the engine recorded it."""

    step: str
    slurm_job_id: str | None = None
    state: str
    exit_code: int | None = None
    duration_seconds: float | None = None
    #: the node Slurm reports for the step's own job (only when the launcher asked Slurm about that job)
    node: str | None = None


class PipelineProgress(BaseModel):
    """A snapshot of a launched pipeline."""

    state: PipelineState
    steps_done: int = 0
    steps_total: int | None = None
    failed_step: str | None = None
    log_tail: str | None = None
    error_message: str | None = None
    head_job_id: str
    #: the head job's Slurm state by name (``RUNNING``, ``TIMEOUT``, ``NODE_FAIL``...); None if Slurm knows no such job
    head_job_state: str | None = None
    #: the node(s) Slurm reports for the head job (its NodeList); None while pending or unknown to Slurm
    head_job_node: str | None = None
    #: the head job's wall time so far or in total, as Slurm reports it
    head_job_elapsed_seconds: int | None = None
    slurm_job_ids: list[str] = []
    steps: list[StepRecord] = []

    def take_slurm_jobs(self, head: SlurmJob | None, jobs: Mapping[str, SlurmJob]) -> None:
        """Record what Slurm said of the head job and of the steps' own jobs the launcher asked about.

        Only Slurm's words: the head's state, node and wall time (when Slurm knows the job), and the node
        of each step whose job is in ``jobs``; a step not asked about keeps no node.
        """
        known = head is not None and head.known_to_slurm
        self.head_job_state = head.state.name if known else None
        self.head_job_node = head.node if known else None
        self.head_job_elapsed_seconds = head.elapsed_seconds if known else None
        for step in self.steps:
            job = jobs.get(step.slurm_job_id) if step.slurm_job_id else None
            if job is not None and job.node and step.slurm_job_id != self.head_job_id:
                step.node = job.node

    def slurm_job_records(self) -> list[SlurmJobRecord]:
        """The head job and every step's Slurm job, shaped for ``Provenance.slurm_jobs``.

        A step run inside the head job (its ``slurm_job_id`` is the head's) ran on the head's node.
        """
        now = datetime.now(UTC)
        records = [
            SlurmJobRecord(
                job_id=self.head_job_id,
                step="head",
                state=self.state.upper(),
                updated_at=now,
                node=self.head_job_node,
                elapsed_seconds=self.head_job_elapsed_seconds,
            )
        ]
        records += [
            SlurmJobRecord(
                job_id=step.slurm_job_id,
                step=step.step,
                state=step.state,
                exit_code=step.exit_code,
                updated_at=now,
                elapsed_seconds=None if step.duration_seconds is None else round(step.duration_seconds),
                node=self.head_job_node if step.slurm_job_id == self.head_job_id else step.node,
            )
            for step in self.steps
            if step.slurm_job_id
        ]
        return records


class PipelineFailed(RuntimeError):
    """A pipeline ended in FAILED or CANCELLED; carries the final progress."""

    def __init__(self, progress: PipelineProgress) -> None:
        self.progress = progress
        super().__init__(
            f"pipeline {progress.state}: step {progress.failed_step or '?'} failed: {progress.error_message or ''}"
        )
