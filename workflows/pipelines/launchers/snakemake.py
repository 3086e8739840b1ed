"""Snakemake on Slurm: a head Slurm job runs Snakemake, which runs the rules in one of two places.

* **inside the head job** (:attr:`StepPlacement.HEAD_JOB`): the head job is sized for the largest
  step and Snakemake runs the rules there itself. No Slurm job, Python start and status polling per
  step: on small inputs those cost several times the tools' own time (``bench/pipeline_overhead.py``).
* **each rule its own Slurm job** (:attr:`StepPlacement.OWN_JOBS`), through Snakemake's Slurm
  executor, with each step's own resources; a lost node costs one step, which is resubmitted.

``auto`` (the default) picks the first for inputs up to ``EMG_SLURM__INLINE_MAX_INPUT_MB``.
Resumption is Snakemake's own either way: ``--rerun-incomplete`` plus its up-to-date logic, so
launching again on the same work area only runs rules whose outputs are missing, incomplete or out of
date. Snakemake's directory lock is not used (``--nolock``): the launcher already refuses a second
launch while a head job is active, and clearing a killed run's lock cost a second Snakemake start.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from analyses.schemas import SlurmJobRecord
from core.config import PROJECT_ROOT, StepPlacement, current_config
from workflows.pipelines.definition import Engine, PipelineDefinition, PipelineInputs, PipelineParameters
from workflows.pipelines.launchers.base import HeadJob, Launcher, tail
from workflows.pipelines.launchers.progress import PipelineProgress, PipelineState, StepRecord
from workflows.pipelines.launchers.records import LaunchHandle, read_launch_record
from workflows.pipelines.launchers.snakemake_log import SnakemakeRun, read_snakemake_log
from workflows.pipelines.workarea import WorkArea
from workflows.slurm import JobState, SlurmClient, SlurmJob

CONFIG_FILE = "pipeline/config.json"
#: Runs Snakemake's command line and exits as soon as it returns (see the module).
ENTRY_SCRIPT = Path(__file__).with_name("snakemake_entry.py")
#: Where scripts/setup.sh installs the head jobs' Snakemake, apart from the platform's packages.
ENGINE_PYTHON = PROJECT_ROOT / ".venv-snakemake" / "bin" / "python"


def snakemake_python() -> str:
    """The Python that runs Snakemake in head jobs that run their steps: ``EMG_PIPELINES__SNAKEMAKE_PYTHON``,
    else Snakemake's own environment when it is set up, else this process' (which has Snakemake too).

    In the platform's environment Snakemake's start imports the Slurm executor plugin (and pandas with
    it) and scans hundreds of packages for plugins; alone it starts ~0.8 s sooner, on every launch.
    Head jobs that submit their steps need that plugin, so they run this process' Python.
    """
    configured = current_config().pipelines.snakemake_python
    if configured is not None:
        return str(configured)
    return str(ENGINE_PYTHON) if ENGINE_PYTHON.is_file() else sys.executable


#: Head-job ends that Slurm imposed on Snakemake rather than Snakemake reporting a failed step.
STOPPED_FROM_OUTSIDE = frozenset(
    {
        JobState.TIMEOUT,
        JobState.NODE_FAIL,
        JobState.CANCELLED,
        JobState.OUT_OF_MEMORY,
        JobState.PREEMPTED,
        JobState.DEADLINE,
        JobState.BOOT_FAIL,
    }
)
LOG_TAIL_LINES = 40


def _benchmark_seconds(work_area: WorkArea, rule: str) -> float | None:
    """Wall seconds of the rule's command as Snakemake's ``benchmark:`` measured it."""
    path = work_area.benchmarks_dir / f"{rule}.tsv"
    if not path.is_file():
        return None
    lines = path.read_text().splitlines()
    if len(lines) < 2:
        return None
    return float(lines[1].split("\t")[0])


class SnakemakeLauncher(Launcher):
    """Runs Snakemake pipelines: one head job, one Slurm job per rule.

    :param slurm: a :class:`workflows.slurm.SlurmClient`
    :param partition: Slurm partition of the head job and the steps (default: EMG_CONFIG's)
    :param account: Slurm account, or None for none
    :param head_memory_mb: memory of the head job (Snakemake itself)
    :param head_time_limit_minutes: the head job's time limit (bounds the whole pipeline)
    :param max_jobs: Snakemake ``--jobs``: steps queued or running at once
    :param status_interval_seconds: how often Snakemake asks Slurm about its steps
    :param step_placement: where the steps run (default: ``EMG_SLURM__STEP_PLACEMENT``)
    :param inline_max_input_mb: with ``auto``, the largest input total run inside the head job
    :param python: the Python that runs Snakemake when the steps run inside the head job (default:
        :func:`snakemake_python`); with steps in their own jobs, this process' Python (it has the Slurm plugin)
    """

    engine = Engine.SNAKEMAKE

    def __init__(
        self,
        slurm: SlurmClient,
        *,
        partition: str | None = None,
        account: str | None = None,
        head_memory_mb: int = 1000,
        head_time_limit_minutes: int = 24 * 60,
        max_jobs: int = 20,
        status_interval_seconds: int = 2,
        step_placement: StepPlacement | str | None = None,
        inline_max_input_mb: int | None = None,
        python: str | None = None,
    ) -> None:
        super().__init__(
            slurm,
            partition=partition,
            account=account,
            head_memory_mb=head_memory_mb,
            head_time_limit_minutes=head_time_limit_minutes,
        )
        self.max_jobs = max_jobs
        self.status_interval_seconds = status_interval_seconds
        slurm_config = current_config().slurm
        self.step_placement = StepPlacement(step_placement or slurm_config.step_placement)
        self.inline_max_input_mb = inline_max_input_mb or slurm_config.inline_max_input_mb
        self.python = python or snakemake_python()

    def placement_for(self, inputs: PipelineInputs) -> StepPlacement:
        """Where this launch's steps run: ``auto`` resolved by the inputs' total size."""
        if self.step_placement != StepPlacement.AUTO:
            return self.step_placement
        total = sum(path.stat().st_size for path in inputs.files())
        return StepPlacement.HEAD_JOB if total <= self.inline_max_input_mb * 1024 * 1024 else StepPlacement.OWN_JOBS

    @staticmethod
    def head_allocation(pipeline: PipelineDefinition) -> tuple[int, int]:
        """CPUs and memory (MB) of a head job that runs the steps: those of the largest step."""
        steps = [pipeline.resources_for(step) for step in pipeline.steps]
        return max(step.cpus for step in steps), max(step.memory_mb for step in steps)

    # ---- launch -------------------------------------------------------------------------------

    def snakemake_command(
        self,
        pipeline: PipelineDefinition,
        work_area: WorkArea,
        placement: StepPlacement = StepPlacement.OWN_JOBS,
    ) -> list[str]:
        """The Snakemake command line the head job runs."""
        common = [
            self.python if placement == StepPlacement.HEAD_JOB else sys.executable,
            str(ENTRY_SCRIPT),
            "--snakefile",
            str(pipeline.entry_point()),
            "--directory",
            str(work_area.root),
            "--configfile",
            str(work_area.path(CONFIG_FILE)),
            "--rerun-incomplete",
            "--nolock",
            "--printshellcmds",
            "--nocolor",
        ]
        if placement == StepPlacement.HEAD_JOB:
            cpus, memory_mb = self.head_allocation(pipeline)
            return [
                *common,
                "--cores",
                str(cpus),
                "--resources",
                f"mem_mb={memory_mb}",
                "--default-resources",
                f"tmpdir='{work_area.tmp_dir}'",
                # The ILP scheduler starts a solver process at each decision; with a handful of
                # rules on a few cores the greedy one picks the same jobs.
                "--scheduler",
                "greedy",
                "--retries",
                str(pipeline.step_retries),
            ]
        default_resources = [f"slurm_partition={self.partition}", f"tmpdir='{work_area.tmp_dir}'"]
        if self.account:
            default_resources.append(f"slurm_account={self.account}")
        command = [
            *common,
            "--executor",
            "slurm",
            "--jobs",
            str(self.max_jobs),
            "--default-resources",
            *default_resources,
            # A step whose node is lost ends NODE_FAIL; Snakemake then excludes that node and submits
            # the step again (one retry). Not Slurm's requeue: with it, the executor plugin (2.8.0)
            # reads the requeued job's node list as "None assigned" and breaks every later sbatch
            # with --exclude=None assigned.
            "--slurm-no-requeue",
            "--retries",
            str(pipeline.step_retries),
            "--latency-wait",
            "5",
            "--slurm-logdir",
            str(work_area.logs_dir / "slurm"),
            "--slurm-keep-successful-logs",
            "--slurm-init-seconds-before-status-checks",
            "1",
            "--seconds-between-status-checks",
            str(self.status_interval_seconds),
        ]
        if not self.account:
            command.append("--slurm-no-account")
        return command

    def head_script(
        self, pipeline: PipelineDefinition, work_area: WorkArea, placement: StepPlacement = StepPlacement.OWN_JOBS
    ) -> str:
        """The head job's script: run Snakemake."""
        command = self.snakemake_command(pipeline, work_area, placement)
        return self.bash_script(work_area, work_area.environment(), [f"exec {shlex.join(command)}"])

    def head_job(
        self,
        pipeline: PipelineDefinition,
        inputs: PipelineInputs,
        params: PipelineParameters,
        work_area: WorkArea,
        *,
        attempt: int,
    ) -> HeadJob:
        work_area.write_json(CONFIG_FILE, pipeline.engine_config(inputs, params))
        placement = self.placement_for(inputs)
        script = self.head_script(pipeline, work_area, placement)
        if placement == StepPlacement.HEAD_JOB:
            cpus, memory_mb = self.head_allocation(pipeline)
            return HeadJob(
                script=script,
                environment=work_area.environment(),
                cpus=cpus,
                memory_mb=memory_mb + self.head_memory_mb,
                step_placement=placement.value,
            )
        return HeadJob(script=script, environment=work_area.environment(), step_placement=placement.value)

    # ---- poll -----------------------------------------------------------------------------------

    def read_engine(self, handle: LaunchHandle) -> SnakemakeRun:
        """Snakemake's log of this launch (the head job's output)."""
        return read_snakemake_log(handle.head_log)

    def jobs_to_ask(self, handle: LaunchHandle, reading: SnakemakeRun) -> list[str]:
        """The head job, and the jobs of failed rules (their exit codes explain a failure)."""
        failed = {job.rule for job in reading.jobs.values() if job.failed}
        return [
            handle.head_job_id,
            *(job.slurm_job_id for job in reading.jobs.values() if job.rule in failed and job.slurm_job_id),
        ]

    def progress(self, handle: LaunchHandle, reading: SnakemakeRun, jobs: Mapping[str, SlurmJob]) -> PipelineProgress:
        run = reading
        work_area = WorkArea(root=handle.work_dir)
        head = jobs.get(handle.head_job_id)
        head_state = PipelineState.from_job_state(head.state if head is not None else None)
        steps = self._steps(run, work_area, inside_job=self._inside_job(handle))
        progress = PipelineProgress(
            state=head_state,
            steps_done=run.steps_done,
            steps_total=run.steps_total if run.steps_total is not None else (0 if run.nothing_to_do else None),
            head_job_id=handle.head_job_id,
            slurm_job_ids=[handle.head_job_id] + [s.slurm_job_id for s in steps if s.slurm_job_id],
            steps=steps,
        )
        progress.take_slurm_jobs(head, jobs)  # head state, node and wall time; asked steps' nodes
        if head_state == PipelineState.COMPLETED and not (run.complete or run.nothing_to_do):
            # Snakemake exited 0 without finishing the DAG (should not happen): do not call it done.
            progress.state = PipelineState.FAILED
            progress.error_message = "Snakemake exited without completing all steps"
        if progress.state in (PipelineState.FAILED, PipelineState.CANCELLED):
            self._explain_failure(progress, run, work_area, handle, head, jobs)
        return progress

    @staticmethod
    def _inside_job(handle: LaunchHandle) -> str | None:
        """The head job's id when the steps ran inside it (they have no Slurm job of their own)."""
        return handle.head_job_id if handle.step_placement == StepPlacement.HEAD_JOB else None

    def _steps(self, run: SnakemakeRun, work_area: WorkArea, *, inside_job: str | None = None) -> list[StepRecord]:
        records = []
        for job in run.jobs.values():
            if job.rule == "all":
                continue
            state = "COMPLETED" if job.finished else "FAILED" if job.failed else "RUNNING"
            records.append(
                StepRecord(
                    step=job.rule,
                    slurm_job_id=job.slurm_job_id or inside_job,
                    state=state,
                    exit_code=0 if state == "COMPLETED" else None,
                    duration_seconds=_benchmark_seconds(work_area, job.rule) if job.finished else None,
                )
            )
        return records

    def _explain_failure(
        self,
        progress: PipelineProgress,
        run: SnakemakeRun,
        work_area: WorkArea,
        handle: LaunchHandle,
        head: SlurmJob | None,
        jobs: Mapping[str, SlurmJob],
    ) -> None:
        if head is not None and head.state in STOPPED_FROM_OUTSIDE:
            # Slurm ended Snakemake itself (time limit, lost node, scancel): that is the reason,
            # whatever its steps reported while being cancelled.
            progress.failed_step = "snakemake"
            progress.log_tail = tail(handle.head_log, LOG_TAIL_LINES)
            limit = (
                f" after its time limit of {self.head_time_limit_minutes} min" if head.state == JobState.TIMEOUT else ""
            )
            progress.error_message = f"head job {handle.head_job_id} ended {head.state.name}{limit}"
            return
        if run.failed_rules:
            rule = run.failed_rules[0]
            progress.failed_step = rule
            progress.log_tail = tail(work_area.logs_dir / f"{rule}.log", LOG_TAIL_LINES) or tail(
                handle.head_log, LOG_TAIL_LINES
            )
            failed = [s for s in progress.steps if s.step == rule and s.slurm_job_id]
            if failed:
                job = jobs.get(failed[0].slurm_job_id)
                if job is not None:
                    failed[0].exit_code = job.exit_code
                    failed[0].state = job.state.value.upper()
            last_line = (
                progress.log_tail.strip().splitlines()[-1] if progress.log_tail and progress.log_tail.strip() else ""
            )
            progress.error_message = f"step {rule} failed" + (f": {last_line}" if last_line else "")
        else:
            progress.failed_step = progress.failed_step or "snakemake"
            progress.log_tail = tail(handle.head_log, LOG_TAIL_LINES)
            reason = getattr(head, "reason", None) if head is not None else None
            state = head.state.name if head is not None else progress.state
            progress.error_message = progress.error_message or (
                f"head job {handle.head_job_id} ended {state}" + (f" ({reason})" if reason else "")
            )

    def cancel(self, handle: LaunchHandle) -> None:
        progress = self.poll(handle)
        running = {s.slurm_job_id for s in progress.steps if s.slurm_job_id and s.state == "RUNNING"}
        self.slurm.cancel([handle.head_job_id, *sorted(running - {handle.head_job_id})])


def snakemake_step_records(work_area: WorkArea) -> list[SlurmJobRecord]:
    """Every step's latest Slurm job across all launches on ``work_area`` (for ``Provenance.slurm_jobs``).

    A step that was up to date in a later launch keeps the job of the launch that made its outputs.
    """
    record = read_launch_record(work_area)
    if record is None:
        return []
    latest: dict[str, SlurmJobRecord] = {}
    for attempt in record.attempts:
        run = read_snakemake_log(Path(attempt.head_log))
        latest[f"head-{attempt.attempt}"] = SlurmJobRecord(
            job_id=attempt.head_job_id,
            step="head",
            state="COMPLETED" if run.complete or run.nothing_to_do else "FAILED",
            submitted_at=attempt.launched_at,
        )
        inside = attempt.head_job_id if attempt.step_placement == StepPlacement.HEAD_JOB else None
        for job in run.jobs.values():
            job_id = job.slurm_job_id or inside
            if job.rule == "all" or not job_id:
                continue
            state = "COMPLETED" if job.finished else "FAILED" if job.failed else "UNKNOWN"
            seconds = _benchmark_seconds(work_area, job.rule) if state == "COMPLETED" else None
            latest[job.rule] = SlurmJobRecord(
                job_id=job_id,
                step=job.rule,
                state=state,
                exit_code=0 if state == "COMPLETED" else None,
                submitted_at=attempt.launched_at,
                elapsed_seconds=None if seconds is None else round(seconds),
            )
    return list(latest.values())
