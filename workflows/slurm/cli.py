"""The backend that runs Slurm's commands: sbatch, squeue, sacct and scancel."""

from __future__ import annotations

import getpass
import logging
import os
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from workflows.slurm.errors import SlurmError, SlurmUnavailableError, clean_message, submission_error
from workflows.slurm.models import ArraySpec, JobSpec, SlurmJob
from workflows.slurm.parsing import (
    SQUEUE_ACTIVE_FORMAT,
    ActiveJob,
    expand_array_id,
    parse_active_jobs,
    parse_duration,
    parse_exit_code,
    parse_size,
    parse_time,
)
from workflows.slurm.script import batch_script
from workflows.slurm.states import JobState

logger = logging.getLogger(__name__)

# JobName stays last in both: a name may hold "|", so lines are split with maxsplit up to it.
SQUEUE_FORMAT = "%i|%T|%r|%V|%S|%e|%M|%N|%j"
SACCT_FIELDS = "JobID,State,ExitCode,Reason,ElapsedRaw,MaxRSS,Submit,Start,End,NodeList,JobName"
_SQUEUE_FIELD_COUNT = SQUEUE_FORMAT.count("|") + 1
_SACCT_FIELD_COUNT = SACCT_FIELDS.count(",") + 1
# What Slurm prints for a job on no node yet: squeue's empty %N, sacct's "None assigned".
_NO_NODE = ("", "None assigned", "(null)")
_IGNORED_CANCEL_ERRORS = ("already completing or completed", "invalid job id")


class CliBackend:
    """Talks to Slurm through its commands; one subprocess per call, the script on sbatch's stdin.

    :param slurm_conf: ``SLURM_CONF`` for the commands; ``None`` = the environment's or /etc/slurm.
    :param command_timeout: seconds before a command is abandoned (SlurmUnavailableError).
    """

    def __init__(self, slurm_conf: Path | None = None, command_timeout: float = 60.0) -> None:
        self.command_timeout = command_timeout
        self._env = {**os.environ, "SLURM_CONF": str(slurm_conf)} if slurm_conf else None

    # --- submit --------------------------------------------------------------------------------
    def submit(self, spec: JobSpec, array: ArraySpec | None = None) -> str:
        """Run ``sbatch --parsable`` with the script on stdin; return the job id."""
        command = sbatch_command(spec, array)
        result = self._run(command, stdin=batch_script(spec), unavailable_is_error=False)
        if result.returncode != 0:
            raise submission_error(result.stderr or result.stdout, command)
        # --parsable prints "<id>" or "<id>;<cluster>".
        return result.stdout.strip().split(";", 1)[0]

    # --- query ---------------------------------------------------------------------------------
    def query(self, job_ids: Sequence[str]) -> dict[str, SlurmJob]:
        """One squeue and one sacct call; squeue is fresher, sacct final once it has the job."""
        ids = ",".join(dict.fromkeys(str(job_id) for job_id in job_ids))
        if not ids:
            return {}
        return merge_live_and_accounted(self._squeue(ids), self._sacct(ids))

    def _squeue(self, ids: str) -> dict[str, SlurmJob]:
        command = ["squeue", "--noheader", "--array", "--states=all", f"--jobs={ids}", f"--format={SQUEUE_FORMAT}"]
        result = self._run(command)
        if result.returncode != 0:
            message = clean_message(result.stderr)
            if "invalid job id" in message.lower():
                return {}  # every id has left the controller's memory (MinJobAge): sacct knows them
            raise SlurmError(message, command=command)
        return parse_squeue(result.stdout)

    def _sacct(self, ids: str) -> dict[str, SlurmJob]:
        command = ["sacct", "--noheader", "--parsable2", f"--jobs={ids}", f"--format={SACCT_FIELDS}"]
        result = self._run(command, unavailable_is_error=False)
        if result.returncode != 0:
            # Accounting down must not stop callers that only need live states.
            logger.warning("sacct failed: %s", clean_message(result.stderr))
            return {}
        return parse_sacct(result.stdout)

    # --- cancel --------------------------------------------------------------------------------
    def cancel(self, job_ids: Sequence[str]) -> None:
        """``scancel`` all of them in one call."""
        if not job_ids:
            return
        command = ["scancel", *dict.fromkeys(str(job_id) for job_id in job_ids)]
        result = self._run(command)
        if result.returncode != 0:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            real = [line for line in lines if not any(skip in line.lower() for skip in _IGNORED_CANCEL_ERRORS)]
            if real:
                raise SlurmError(clean_message("\n".join(real)), command=command)

    def active_jobs(self) -> list[ActiveJob]:
        """This user's queued and running jobs, with names and comments: one ``squeue`` call."""
        command = ["squeue", "--noheader", f"--user={getpass.getuser()}", f"--format={SQUEUE_ACTIVE_FORMAT}"]
        result = self._run(command)
        if result.returncode != 0:
            raise SlurmError(clean_message(result.stderr), command=command)
        return parse_active_jobs(result.stdout)

    # --- plumbing ------------------------------------------------------------------------------
    def _run(
        self, command: list[str], stdin: str | None = None, unavailable_is_error: bool = True
    ) -> subprocess.CompletedProcess[str]:
        try:
            result = subprocess.run(
                command,
                input=stdin,
                capture_output=True,
                text=True,
                env=self._env,
                timeout=self.command_timeout,
                check=False,
            )
        except FileNotFoundError as error:
            raise SlurmUnavailableError(f"{command[0]} is not installed: {error}", command=command) from None
        except subprocess.TimeoutExpired:
            raise SlurmUnavailableError(
                f"{command[0]} did not answer within {self.command_timeout:g}s", command=command
            ) from None
        if unavailable_is_error and result.returncode != 0:
            lowered = result.stderr.lower()
            if "unable to contact slurm controller" in lowered or "socket timed out" in lowered:
                raise SlurmUnavailableError(clean_message(result.stderr), command=command)
        return result


def sbatch_command(spec: JobSpec, array: ArraySpec | None = None) -> list[str]:
    """The sbatch command line for a fully resolved spec (the script itself goes on stdin).

    :param spec: the job, defaults already applied.
    :param array: the array's indices, for a job array.
    """
    command = ["sbatch", "--parsable", f"--job-name={spec.name}"]
    if spec.partition:
        command.append(f"--partition={spec.partition}")
    if spec.account:
        command.append(f"--account={spec.account}")
    if spec.cpus:
        command.append(f"--cpus-per-task={spec.cpus}")
    if spec.memory_mb:
        command.append(f"--mem={spec.memory_mb}M")
    if spec.time_limit_minutes:
        command.append(f"--time={spec.time_limit_minutes}")
    if spec.working_directory:
        command.append(f"--chdir={spec.working_directory}")
    if spec.stdout:
        command.append(f"--output={spec.stdout}")
    if spec.stderr:
        command.append(f"--error={spec.stderr}")
    if spec.dependencies:
        command.append(f"--dependency={spec.dependency_type}:" + ":".join(str(job) for job in spec.dependencies))
        if spec.kill_on_invalid_dependency:
            command.append("--kill-on-invalid-dep=yes")
    if array is not None:
        command.append(f"--array={array.expression()}")
    command.extend(spec.extra_args)
    return command


def parse_node(text: str, state: JobState | None = None) -> str | None:
    """Slurm's NodeList as is (``emgnode[1-2]`` stays compressed), or ``None`` when no node is assigned
    (a pending job has none, whatever the field holds: the nodes it is planned for)."""
    text = text.strip()
    return None if text in _NO_NODE or state is JobState.PENDING else text


def parse_squeue(output: str) -> dict[str, SlurmJob]:
    """Jobs (and array tasks, pending ranges expanded) from ``squeue --format=<SQUEUE_FORMAT>`` output."""
    jobs: dict[str, SlurmJob] = {}
    for line in output.splitlines():
        fields = line.split("|", _SQUEUE_FIELD_COUNT - 1)
        if len(fields) != _SQUEUE_FIELD_COUNT:
            continue
        job_id, raw_state, reason, submit, start, end, used, node, name = fields
        state = JobState.from_slurm(raw_state)
        for expanded in expand_array_id(job_id):
            jobs[expanded] = SlurmJob(
                job_id=expanded,
                name=name,
                state=state,
                raw_state=raw_state,
                reason=None if reason in ("None", "") else reason,
                elapsed_seconds=parse_duration(used),
                submit_time=parse_time(submit),
                start_time=parse_time(start),
                end_time=parse_time(end) if state.is_terminal else None,
                node=parse_node(node, state),
            )
    return jobs


def parse_sacct(output: str) -> dict[str, SlurmJob]:
    """Jobs (and array tasks) from ``sacct --parsable2 --format=<SACCT_FIELDS>`` output, steps folded in.

    Accounting outlives a controller reset, and clusters that share one slurmdbd (several dev clusters
    on one machine) reuse job ids: of the records an id (or an array's base id) names, only the newest
    submission is kept, so a plain job is never taken for the array task of an older one.
    """
    jobs: dict[str, SlurmJob] = {}
    peak_rss: dict[str, int] = {}
    batch_signal: dict[str, int] = {}
    superseded: set[str] = set()
    for line in output.splitlines():
        fields = line.split("|", _SACCT_FIELD_COUNT - 1)
        if len(fields) != _SACCT_FIELD_COUNT:
            continue
        job_id, raw_state, exit_text, reason, elapsed, max_rss, submit, start, end, node, name = fields
        if "." in job_id:  # a step (batch, extern, 0...): only its memory and signal matter here
            parent = job_id.split(".", 1)[0]
            if parent in superseded:
                continue
            rss = parse_size(max_rss)
            if rss is not None:
                peak_rss[parent] = max(rss, peak_rss.get(parent, 0))
            if job_id.endswith(".batch"):
                # A cancelled or timed-out job's own line says 0:0; its batch step has the signal.
                signal = parse_exit_code(exit_text)[1]
                if signal:
                    batch_signal[parent] = signal
            continue
        exit_code, signal = parse_exit_code(exit_text)
        state = JobState.from_slurm(raw_state)
        submitted = parse_time(submit)
        # Accounting outlives a controller reset, so an id can name an older job too: keep the newest.
        older = jobs.get(job_id)
        if older is not None and older.submit_time and submitted and older.submit_time > submitted:
            superseded.add(job_id)
            continue
        superseded.discard(job_id)
        peak_rss.pop(job_id, None)
        batch_signal.pop(job_id, None)
        for expanded in expand_array_id(job_id):
            jobs[expanded] = SlurmJob(
                job_id=expanded,
                name=name,
                state=state,
                raw_state=raw_state,
                exit_code=exit_code if state.is_terminal else None,
                signal=signal if state.is_terminal else None,
                reason=None if reason in ("None", "") else reason,
                elapsed_seconds=int(elapsed) if elapsed.isdigit() else None,
                submit_time=submitted,
                start_time=parse_time(start),
                end_time=parse_time(end),
                node=parse_node(node, state),
                accounted=state.is_terminal,
            )
    for job_id, rss in peak_rss.items():
        if job_id in jobs:
            jobs[job_id] = replace(jobs[job_id], max_rss_bytes=rss)
    for job_id, signal in batch_signal.items():
        if job_id in jobs and jobs[job_id].state.is_terminal and not jobs[job_id].signal:
            jobs[job_id] = replace(jobs[job_id], signal=signal)
    return _newest_submission_per_base_id(jobs)


def _base_id(job_id: str) -> str:
    """``"218_3"`` -> ``"218"``: the id a job and its array tasks share."""
    return job_id.split("_", 1)[0]


def _newest_submission_per_base_id(jobs: dict[str, SlurmJob]) -> dict[str, SlurmJob]:
    """Drop records of an older submission that reused a base id (an array of another cluster instance)."""
    newest: dict[str, datetime] = {}
    for job_id, job in jobs.items():
        if job.submit_time is not None:
            base = _base_id(job_id)
            newest[base] = max(job.submit_time, newest.get(base, job.submit_time))
    return {
        job_id: job
        for job_id, job in jobs.items()
        if job.submit_time is None or job.submit_time >= newest[_base_id(job_id)]
    }


def merge_live_and_accounted(live: dict[str, SlurmJob], accounted: dict[str, SlurmJob]) -> dict[str, SlurmJob]:
    """One record per job from squeue's (fresher) and sacct's (final once terminal) views.

    A terminal job takes accounting's state, exit code and node. Its name comes from the controller while
    squeue still shows it: slurmdbd writes a placeholder job named "allocation" when a job's step
    reaches it before the job's own start record, and sacct shows that name for a moment (and the
    controller's node stands in should accounting not name one yet). A live job keeps squeue's node.
    """
    merged: dict[str, SlurmJob] = {}
    for job_id in {**accounted, **live}:
        current, final = live.get(job_id), accounted.get(job_id)
        if final is not None and (current is None or current.state.is_terminal) and final.state.is_terminal:
            merged[job_id] = (
                final
                if current is None
                else replace(
                    final,
                    name=current.name,
                    reason=final.reason or current.reason,
                    node=final.node or current.node,
                )
            )
        elif current is not None:
            merged[job_id] = _with_accounting(current, final)
        else:
            merged[job_id] = final
    # An array's own id is shown beside its tasks while they are being created: keep the tasks.
    arrays = {job_id.split("_", 1)[0] for job_id in merged if "_" in job_id}
    return {job_id: job for job_id, job in merged.items() if job_id not in arrays}


def _with_accounting(live: SlurmJob, accounted: SlurmJob | None) -> SlurmJob:
    """A live (squeue) record with what accounting adds (peak memory so far)."""
    if accounted is None or accounted.max_rss_bytes is None:
        return live
    return replace(live, max_rss_bytes=accounted.max_rss_bytes)
