"""Snakemake on Slurm: a head Slurm job runs Snakemake, whose Slurm executor submits each rule as a job.

Resumption is Snakemake's own: ``--rerun-incomplete`` plus its up-to-date logic, so launching again
on the same work area only runs rules whose outputs are missing, incomplete or out of date.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from analyses.schemas import SlurmJobRecord
from workflows.pipelines.definition import Engine, PipelineDefinition, PipelineInputs, PipelineParameters
from workflows.pipelines.launchers.base import HeadJob, Launcher, tail
from workflows.pipelines.launchers.progress import PipelineProgress, PipelineState, StepRecord
from workflows.pipelines.launchers.records import LaunchHandle, read_launch_record
from workflows.pipelines.launchers.snakemake_log import SnakemakeRun, read_snakemake_log
from workflows.pipelines.workarea import WorkArea
from workflows.slurm import JobState, SlurmClient

CONFIG_FILE = "pipeline/config.json"
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

    # ---- launch -------------------------------------------------------------------------------

    def snakemake_command(self, pipeline: PipelineDefinition, work_area: WorkArea) -> list[str]:
        """The Snakemake command line the head job runs (without ``--unlock``)."""
        default_resources = [f"slurm_partition={self.partition}", f"tmpdir='{work_area.tmp_dir}'"]
        if self.account:
            default_resources.append(f"slurm_account={self.account}")
        command = [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(pipeline.entry_point()),
            "--directory",
            str(work_area.root),
            "--configfile",
            str(work_area.path(CONFIG_FILE)),
            "--executor",
            "slurm",
            "--jobs",
            str(self.max_jobs),
            "--default-resources",
            *default_resources,
            "--rerun-incomplete",
            # A step whose node is lost ends NODE_FAIL; Snakemake then excludes that node and submits
            # the step again (one retry). Not Slurm's requeue: with it, the executor plugin (2.8.0)
            # reads the requeued job's node list as "None assigned" and breaks every later sbatch
            # with --exclude=None assigned.
            "--slurm-no-requeue",
            "--retries",
            str(pipeline.step_retries),
            "--printshellcmds",
            "--nocolor",
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

    def head_script(self, pipeline: PipelineDefinition, work_area: WorkArea) -> str:
        """The head job's script: unlock a lock left by a killed run, then run Snakemake."""
        command = self.snakemake_command(pipeline, work_area)
        base = command[: command.index("--executor")]
        return self.bash_script(
            work_area,
            work_area.environment(),
            [f"{shlex.join([*base, '--unlock'])} > /dev/null 2>&1 || true", f"exec {shlex.join(command)}"],
        )

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
        return HeadJob(script=self.head_script(pipeline, work_area), environment=work_area.environment())

    # ---- poll -----------------------------------------------------------------------------------

    def poll(self, handle: LaunchHandle) -> PipelineProgress:
        work_area = WorkArea(root=handle.work_dir)
        run = read_snakemake_log(handle.head_log)
        head = self.slurm.states([handle.head_job_id]).get(handle.head_job_id)
        head_state = PipelineState.from_job_state(head.state if head is not None else None)
        steps = self._steps(run, work_area)
        progress = PipelineProgress(
            state=head_state,
            steps_done=run.steps_done,
            steps_total=run.steps_total if run.steps_total is not None else (0 if run.nothing_to_do else None),
            head_job_id=handle.head_job_id,
            head_job_state=head.state.name if head is not None and head.known_to_slurm else None,
            slurm_job_ids=[handle.head_job_id] + [s.slurm_job_id for s in steps if s.slurm_job_id],
            steps=steps,
        )
        if head_state == PipelineState.COMPLETED and not (run.complete or run.nothing_to_do):
            # Snakemake exited 0 without finishing the DAG (should not happen): do not call it done.
            progress.state = PipelineState.FAILED
            progress.error_message = "Snakemake exited without completing all steps"
        if progress.state in (PipelineState.FAILED, PipelineState.CANCELLED):
            self._explain_failure(progress, run, work_area, handle, head)
        return progress

    def _steps(self, run: SnakemakeRun, work_area: WorkArea) -> list[StepRecord]:
        records = []
        for job in run.jobs.values():
            if job.rule == "all":
                continue
            state = "COMPLETED" if job.finished else "FAILED" if job.failed else "RUNNING"
            records.append(
                StepRecord(
                    step=job.rule,
                    slurm_job_id=job.slurm_job_id,
                    state=state,
                    exit_code=0 if state == "COMPLETED" else None,
                    duration_seconds=_benchmark_seconds(work_area, job.rule) if job.finished else None,
                )
            )
        return records

    def _explain_failure(
        self, progress: PipelineProgress, run: SnakemakeRun, work_area: WorkArea, handle: LaunchHandle, head
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
                job = self.slurm.states([failed[0].slurm_job_id]).get(failed[0].slurm_job_id)
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
        running = [s.slurm_job_id for s in progress.steps if s.slurm_job_id and s.state == "RUNNING"]
        self.slurm.cancel([handle.head_job_id, *running])


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
        for job in run.jobs.values():
            if job.rule == "all" or not job.slurm_job_id:
                continue
            state = "COMPLETED" if job.finished else "FAILED" if job.failed else "UNKNOWN"
            latest[job.rule] = SlurmJobRecord(
                job_id=job.slurm_job_id,
                step=job.rule,
                state=state,
                exit_code=0 if state == "COMPLETED" else None,
                submitted_at=attempt.launched_at,
            )
    return list(latest.values())
