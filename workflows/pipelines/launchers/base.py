"""The one launcher interface every engine implements, and the records it leaves in a work area.

A launch submits a head Slurm job that runs the engine; the engine submits each step as its own
Slurm job. ``launch`` returns as soon as the head job is queued; ``poll`` reads the engine's own
record (Snakemake's log, Nextflow's trace) and Slurm's; ``wait`` polls until a final state.
Launching again on the same work area resumes: only missing or failed steps run again.
"""

from __future__ import annotations

import shlex
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from analyses.schemas import SlurmJobRecord
from emgapiv2.config import current_config
from workflows.pipelines.checksums import file_checksums
from workflows.pipelines.definition import (
    Engine,
    PipelineDefinition,
    PipelineInputs,
    PipelineParameters,
    parameters_hash,
)
from workflows.pipelines.workarea import WorkArea

LAUNCH_RECORD = "pipeline/launch.json"


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


class LaunchHandle(BaseModel):
    """What ``launch`` returns: enough to poll, wait or cancel later, also from another process.

    JSON-serialisable, so a flow can keep it as a task result or on the Analysis.
    """

    pipeline_name: str
    pipeline_version: str
    engine: Engine
    work_dir: Path
    attempt: int = Field(ge=1, description="1 for the first launch on this work area, 2 for the first rerun, ...")
    head_job_id: str
    head_log: Path
    launched_at: datetime

    @property
    def slurm_job_ids(self) -> list[str]:
        return [self.head_job_id]


class StepRecord(BaseModel):
    """One step (Snakemake rule instance, Nextflow task) as the engine recorded it."""

    step: str
    slurm_job_id: str | None = None
    state: str
    exit_code: int | None = None
    duration_seconds: float | None = None


class PipelineProgress(BaseModel):
    """A snapshot of a launched pipeline."""

    state: PipelineState
    steps_done: int = 0
    steps_total: int | None = None
    failed_step: str | None = None
    log_tail: str | None = None
    error_message: str | None = None
    head_job_id: str
    slurm_job_ids: list[str] = []
    steps: list[StepRecord] = []

    def slurm_job_records(self) -> list[SlurmJobRecord]:
        """The head job and every step's Slurm job, shaped for ``Provenance.slurm_jobs``."""
        now = datetime.now(UTC)
        records = [SlurmJobRecord(job_id=self.head_job_id, step="head", state=self.state.upper(), updated_at=now)]
        records += [
            SlurmJobRecord(
                job_id=step.slurm_job_id, step=step.step, state=step.state, exit_code=step.exit_code, updated_at=now
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


class LaunchAttempt(BaseModel):
    attempt: int
    head_job_id: str
    head_log: str
    launched_at: datetime


class LaunchRecord(BaseModel):
    """``pipeline/launch.json``: what ran in this work area, with which parameters and inputs."""

    pipeline_name: str
    pipeline_version: str
    engine: Engine
    parameters: dict
    parameters_hash: str
    inputs: list[str]
    input_checksums: dict[str, str] = Field(description="input file name -> md5")
    attempts: list[LaunchAttempt] = []


def read_launch_record(work_area: WorkArea) -> LaunchRecord | None:
    path = work_area.path(LAUNCH_RECORD)
    if not path.is_file():
        return None
    return LaunchRecord.model_validate_json(path.read_text())


def tail(path: Path, lines: int = 40) -> str | None:
    """The last ``lines`` lines of a text file, or None if it does not exist."""
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 64 * 1024))
        text = handle.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


class Launcher(ABC):
    """Runs pipeline definitions of one engine on Slurm."""

    engine: Engine
    #: a :class:`workflows.slurm.SlurmClient`
    slurm: Any

    def __init__(
        self,
        slurm: Any,
        *,
        partition: str | None,
        account: str | None,
        head_memory_mb: int,
        head_time_limit_minutes: int,
    ) -> None:
        """:param slurm: a :class:`workflows.slurm.SlurmClient`
        :param partition: where the head job and the steps run (default: ``EMG_CONFIG.slurm``'s, with its account)
        :param account: Slurm account, or None for none
        :param head_memory_mb: memory of the head job (the engine itself)
        :param head_time_limit_minutes: the head job's time limit (bounds the whole pipeline)
        """
        self.slurm = slurm
        if partition is None:
            slurm_config = current_config().slurm
            partition = slurm_config.default_partition
            account = account if account is not None else slurm_config.default_account
        self.partition = partition
        self.account = account
        self.head_memory_mb = head_memory_mb
        self.head_time_limit_minutes = head_time_limit_minutes

    def launch(
        self,
        pipeline: PipelineDefinition,
        *,
        inputs: PipelineInputs,
        params: PipelineParameters | dict | None = None,
        work_area: WorkArea,
    ) -> LaunchHandle:
        """Submit the pipeline's head job and return at once.

        Launching again on a work area that already holds a (failed or finished) run resumes it.

        :param pipeline: the definition (see :func:`workflows.pipelines.get_pipeline`)
        :param inputs: :class:`RunInputs` or :class:`AssemblyInputs`
        :param params: typed parameters, a dict of them, or None for the defaults
        :param work_area: the analysis' work area; the pipeline writes nowhere else
        :raises ValueError: the pipeline is of another engine, or inputs of the wrong kind
        """
        if pipeline.engine != self.engine:
            raise ValueError(f"{pipeline.identifier} is a {pipeline.engine} pipeline; this launcher runs {self.engine}")
        pipeline.validate_inputs(inputs)
        typed = pipeline.validate_parameters(params)
        work_area.create()
        record = self._update_launch_record(pipeline, inputs, typed, work_area)
        attempt = len(record.attempts) + 1
        head_log = work_area.logs_dir / f"launch-{attempt:03d}.log"
        head_job_id = self._submit(pipeline, inputs, typed, work_area, attempt=attempt, head_log=head_log)
        handle = LaunchHandle(
            pipeline_name=pipeline.name,
            pipeline_version=pipeline.version,
            engine=self.engine,
            work_dir=work_area.root,
            attempt=attempt,
            head_job_id=head_job_id,
            head_log=head_log,
            launched_at=datetime.now(UTC),
        )
        record.attempts.append(
            LaunchAttempt(
                attempt=attempt, head_job_id=head_job_id, head_log=str(head_log), launched_at=handle.launched_at
            )
        )
        work_area.write_json(LAUNCH_RECORD, record)
        return handle

    @abstractmethod
    def _submit(
        self,
        pipeline: PipelineDefinition,
        inputs: PipelineInputs,
        params: PipelineParameters,
        work_area: WorkArea,
        *,
        attempt: int,
        head_log: Path,
    ) -> str:
        """Write the engine's config and submit the head job; return its Slurm job id."""

    @abstractmethod
    def poll(self, handle: LaunchHandle) -> PipelineProgress:
        """The pipeline's progress now (cheap: reads files and asks Slurm once)."""

    @abstractmethod
    def cancel(self, handle: LaunchHandle) -> None:
        """Cancel the head job (the engine cancels its steps) and any step still queued or running."""

    @staticmethod
    def bash_script(work_area: WorkArea, environment: dict[str, str], commands: list[str]) -> str:
        """A head job's script: enter the work area, export ``environment``, run ``commands``."""
        exports = "\n".join(f"export {key}={shlex.quote(value)}" for key, value in environment.items())
        body = "\n".join(commands)
        return f"#!/bin/bash\nset -uo pipefail\ncd {shlex.quote(str(work_area.root))}\n{exports}\n{body}\n"

    def _submit_head_job(
        self,
        pipeline: PipelineDefinition,
        work_area: WorkArea,
        *,
        script: str,
        environment: dict[str, str],
        attempt: int,
        head_log: Path,
    ) -> str:
        """Keep the script as ``pipeline/head-NNN.sh`` and submit it as the pipeline's head job."""
        from workflows.slurm import JobSpec

        (work_area.pipeline_dir / f"head-{attempt:03d}.sh").write_text(script)
        spec = JobSpec(
            name=f"{pipeline.name}-{work_area.name}-head",
            script=script,
            partition=self.partition,
            cpus=1,
            memory_mb=self.head_memory_mb,
            time_limit_minutes=self.head_time_limit_minutes,
            working_directory=work_area.root,
            stdout=head_log,
            stderr=head_log,
            environment=environment,
        )
        return str(self.slurm.submit(spec))

    def _refuse_if_running(self, work_area: WorkArea) -> None:
        """Refuse a relaunch while the previous launch's head job is still queued or running."""
        from workflows.pipelines.launchers.slurm_states import final_state_of

        record = read_launch_record(work_area)
        if not record or not record.attempts:
            return
        last = record.attempts[-1].head_job_id
        job = self.slurm.states([last]).get(last)
        if job is not None and not final_state_of(job.state):
            raise RuntimeError(f"head job {last} of {work_area.root} is still {job.state}; cancel it first")

    def wait(
        self, handle: LaunchHandle, timeout_seconds: float = 3600, *, poll_interval_seconds: float = 1.0
    ) -> PipelineProgress:
        """Poll until the pipeline reaches a final state.

        :return: the final progress (check ``.state``; see also :meth:`wait_ok`)
        :raises TimeoutError: not final within ``timeout_seconds``
        """
        deadline = time.monotonic() + timeout_seconds
        while True:
            progress = self.poll(handle)
            if progress.state.is_final:
                return progress
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{handle.pipeline_name} head job {handle.head_job_id} not finished after {timeout_seconds}s "
                    f"({progress.steps_done}/{progress.steps_total} steps)"
                )
            time.sleep(poll_interval_seconds)

    def wait_ok(self, handle: LaunchHandle, timeout_seconds: float = 3600) -> PipelineProgress:
        """Like :meth:`wait`, but raise :class:`PipelineFailed` unless the pipeline completed."""
        progress = self.wait(handle, timeout_seconds)
        if progress.state != PipelineState.COMPLETED:
            raise PipelineFailed(progress)
        return progress

    @staticmethod
    def _update_launch_record(
        pipeline: PipelineDefinition, inputs: PipelineInputs, params: PipelineParameters, work_area: WorkArea
    ) -> LaunchRecord:
        previous = read_launch_record(work_area)
        checksums = (
            previous.input_checksums
            if previous and previous.inputs == [str(p) for p in inputs.files()]
            else {path.name: file_checksums(path).md5 for path in inputs.files()}
        )
        return LaunchRecord(
            pipeline_name=pipeline.name,
            pipeline_version=pipeline.version,
            engine=pipeline.engine,
            parameters=params.model_dump(mode="json"),
            parameters_hash=parameters_hash(params),
            inputs=[str(p) for p in inputs.files()],
            input_checksums=checksums,
            attempts=previous.attempts if previous else [],
        )
