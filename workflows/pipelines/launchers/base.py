"""The one launcher interface every engine implements.

A launch submits a head Slurm job that runs the engine; the engine submits each step as its own
Slurm job. ``launch`` returns as soon as the head job is queued; ``poll`` reads the engine's own
record (Snakemake's log, Nextflow's trace) and Slurm's; ``wait`` polls until a final state.
Launching again on the same work area resumes: only missing or failed steps run again.

An engine's launcher implements :meth:`Launcher.head_job` (write its config, return the head job's
script), the three parts of a poll (:meth:`Launcher.read_engine`, :meth:`Launcher.jobs_to_ask`,
:meth:`Launcher.progress`) and :meth:`Launcher.cancel`; see ``workflows/pipelines/README.md``.
"""

from __future__ import annotations

import shlex
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from core.checksums import file_checksums
from core.config import current_config
from workflows.pipelines.definition import (
    Engine,
    PipelineDefinition,
    PipelineInputs,
    PipelineParameters,
    parameters_hash,
)
from workflows.pipelines.launchers.progress import PipelineFailed, PipelineProgress, PipelineState
from workflows.pipelines.launchers.reattach import Reattachment, Verdict
from workflows.pipelines.launchers.records import (
    LAUNCH_RECORD,
    LaunchAttempt,
    LaunchHandle,
    LaunchRecord,
    read_launch_record,
)
from workflows.pipelines.workarea import WorkArea
from workflows.slurm import JobSpec, SlurmClient, SlurmJob


@dataclass(frozen=True)
class HeadJob:
    """What a head job runs: its bash script, its environment and, when steps run inside it, its size.

    :ivar cpus: the head job's CPUs (None: one, for the engine alone)
    :ivar memory_mb: its memory (None: the launcher's ``head_memory_mb``)
    :ivar step_placement: where the engine runs the steps (recorded with the attempt)
    """

    script: str
    environment: dict[str, str]
    cpus: int | None = None
    memory_mb: int | None = None
    step_placement: str | None = None


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

    engine: ClassVar[Engine]
    slurm: SlurmClient

    def __init__(
        self,
        slurm: SlurmClient,
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
        self._refuse_if_running(work_area)
        record = self._update_launch_record(pipeline, inputs, typed, work_area)
        attempt = len(record.attempts) + 1
        head_log = work_area.logs_dir / f"launch-{attempt:03d}.log"
        head_job = self.head_job(pipeline, inputs, typed, work_area, attempt=attempt)
        head_job_id = self._submit_head_job(pipeline, work_area, head_job, attempt=attempt, head_log=head_log)
        handle = LaunchHandle(
            pipeline_name=pipeline.name,
            pipeline_version=pipeline.version,
            engine=self.engine,
            work_dir=work_area.root,
            attempt=attempt,
            head_job_id=head_job_id,
            head_log=head_log,
            launched_at=datetime.now(UTC),
            step_placement=head_job.step_placement,
        )
        record.attempts.append(
            LaunchAttempt(
                attempt=attempt,
                head_job_id=head_job_id,
                head_log=str(head_log),
                launched_at=handle.launched_at,
                step_placement=head_job.step_placement,
            )
        )
        work_area.write_json(LAUNCH_RECORD, record)
        return handle

    @abstractmethod
    def head_job(
        self,
        pipeline: PipelineDefinition,
        inputs: PipelineInputs,
        params: PipelineParameters,
        work_area: WorkArea,
        *,
        attempt: int,
    ) -> HeadJob:
        """Write the engine's configuration into the work area and return the head job to submit."""

    def poll(self, handle: LaunchHandle) -> PipelineProgress:
        """The pipeline's progress now (cheap: reads files and asks Slurm once)."""
        return self.poll_many([handle])[0]

    def poll_many(self, handles: Sequence[LaunchHandle]) -> list[PipelineProgress]:
        """The progress of many pipelines of this engine, with one Slurm round trip for all of them.

        Following a study's thousand analyses one ``poll`` each would cost a thousand squeue and
        sacct calls per cycle, and the controller answers them one at a time. Here each engine's own
        record is read first (files, no Slurm), the job ids all of them need are asked in one
        :meth:`SlurmClient.states` call (one squeue, one sacct), and each progress is built from
        that one answer: the Slurm cost of a cycle does not grow with the number of analyses.

        :return: one progress per handle, in the same order
        """
        readings = [self.read_engine(handle) for handle in handles]
        wanted = dict.fromkeys(
            job_id
            for handle, reading in zip(handles, readings, strict=True)
            for job_id in self.jobs_to_ask(handle, reading)
        )
        jobs = self.slurm.states(wanted) if wanted else {}
        return [self.progress(handle, reading, jobs) for handle, reading in zip(handles, readings, strict=True)]

    @abstractmethod
    def read_engine(self, handle: LaunchHandle) -> Any:
        """What the engine recorded of this launch so far (its log, its trace): files only, never Slurm."""

    @abstractmethod
    def jobs_to_ask(self, handle: LaunchHandle, reading: Any) -> list[str]:
        """The Slurm job ids whose states :meth:`progress` needs: the head job first, then steps."""

    @abstractmethod
    def progress(self, handle: LaunchHandle, reading: Any, jobs: Mapping[str, SlurmJob]) -> PipelineProgress:
        """The launch's progress from the engine's ``reading`` and Slurm's ``jobs`` (which may hold more ids)."""

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
        self, pipeline: PipelineDefinition, work_area: WorkArea, head_job: HeadJob, *, attempt: int, head_log: Path
    ) -> str:
        """Keep the script as ``pipeline/head-NNN.sh`` and submit it as the pipeline's head job."""
        (work_area.pipeline_dir / f"head-{attempt:03d}.sh").write_text(head_job.script)
        spec = JobSpec(
            name=f"{pipeline.name}-{work_area.name}-head",
            script=head_job.script,
            partition=self.partition,
            account=self.account,
            cpus=head_job.cpus or 1,
            memory_mb=head_job.memory_mb or self.head_memory_mb,
            time_limit_minutes=self.head_time_limit_minutes,
            working_directory=work_area.root,
            stdout=head_log,
            stderr=head_log,
            environment=head_job.environment,
            # Never rerun by Slurm on its own: a second engine beside the first's surviving steps would
            # run them twice. A lost head job is relaunched by the platform, which resumes.
            extra_args=("--no-requeue",),
        )
        return str(self.slurm.submit(spec))

    def last_launch(self, work_area: WorkArea) -> LaunchHandle | None:
        """The handle of the latest launch on ``work_area`` (from ``pipeline/launch.json``), if any."""
        record = read_launch_record(work_area)
        if not record or not record.attempts:
            return None
        last = record.attempts[-1]
        return LaunchHandle(
            pipeline_name=record.pipeline_name,
            pipeline_version=record.pipeline_version,
            engine=record.engine,
            work_dir=work_area.root,
            attempt=last.attempt,
            head_job_id=last.head_job_id,
            head_log=Path(last.head_log),
            launched_at=last.launched_at,
            step_placement=last.step_placement,
        )

    def reattach(self, pipeline: PipelineDefinition, work_area: WorkArea) -> Reattachment | None:
        """What to do with the launch a previous holder of this work left in ``work_area``.

        A queued or running head job is followed, a completed one has its outputs collected, and
        only a failed, cancelled or vanished one (Slurm and its accounting do not know the id) is
        launched again, which resumes. None when nothing of this pipeline version was launched here.
        """
        handle = self.last_launch(work_area)
        if handle is None or (handle.pipeline_name, handle.pipeline_version) != (pipeline.name, pipeline.version):
            return None
        job = self._settled_head_job(handle.head_job_id)
        if job is None:
            return Reattachment(
                handle, Verdict.RELAUNCH, f"head job {handle.head_job_id} is unknown to Slurm and its accounting"
            )
        progress = self.poll(handle)
        if not progress.state.is_final:
            return Reattachment(handle, Verdict.FOLLOW, f"head job {handle.head_job_id} is {job.state}", progress)
        if progress.state == PipelineState.COMPLETED:
            return Reattachment(handle, Verdict.COLLECT, f"head job {handle.head_job_id} completed", progress)
        reason = progress.error_message or f"head job {handle.head_job_id} {job.state}"
        return Reattachment(handle, Verdict.RELAUNCH, reason, progress)

    def _settled_head_job(self, job_id: str, readings: int = 3, pause_seconds: float = 2.0) -> SlurmJob | None:
        """The head job as Slurm knows it, or None if it stays unknown over a few readings.

        One reading of an unknown id is not enough to relaunch: a controller restarting or
        accounting lagging can briefly know nothing of a live job, and relaunching then would run
        the pipeline twice.
        """
        for reading in range(readings):
            job = self.slurm.states([job_id]).get(job_id)
            if job is not None and job.known_to_slurm:
                return job
            if reading < readings - 1:
                time.sleep(pause_seconds)
        return None

    def _refuse_if_running(self, work_area: WorkArea) -> None:
        """Refuse a relaunch while the previous launch's head job is still queued or running."""
        record = read_launch_record(work_area)
        if not record or not record.attempts:
            return
        last = record.attempts[-1].head_job_id
        job = self.slurm.states([last]).get(last)
        if job is not None and job.known_to_slurm and not job.state.is_terminal:
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
