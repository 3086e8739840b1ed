"""Parser of what a Nextflow run logs about its tasks: which were submitted, with which Slurm job.

The trace gets a row only when a task ends (see :mod:`nextflow_trace`), so the tasks still queued or
running are read from the log. The lines relied on, as Nextflow writes them (``.nextflow.log`` is
logback's ``%d{MMM-dd HH:mm:ss.SSS} [%t] %-5level %logger{36} - %msg%n``, ``util/LoggerHelper.groovy``;
the console, with ``-ansi-log false``, prints the INFO messages alone)::

    ... DEBUG nextflow.executor.GridTaskHandler - [SLURM] submitted process NAME > jobId: 1042; workDir: /w/3a/7f21c0..
    ... INFO  nextflow.Session - [3a/7f21c0] Submitted process > NAME
    [3a/7f21c0] Re-submitted process > NAME
    [3a/7f21c0] Cached process > NAME

The first is ``GridTaskHandler.submit`` (only in ``.nextflow.log``: DEBUG), logged right after
sbatch answered; the second ``Session.notifyTaskSubmit`` (``TaskProcessor.RunType``: ``Submitted``
or, for a retry, ``Re-submitted``); the last ``TaskProcessor.checkCachedOutput``. The bracketed hash
is ``TaskRun.getHashLog``: the first two hex digits of the task hash, ``/``, the next six; the
task's work directory is ``<workDir>/<2 digits>/<30 digits>``, so the two lines meet on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from workflows.pipelines.launchers.nextflow_trace import complete_lines

_GRID_SUBMITTED = re.compile(
    r"\[(?P<executor>[A-Z0-9_]+)\] submitted process (?P<name>.+) > "
    r"jobId: (?P<job>[^;\s]+); workDir: (?P<workdir>\S.*)$"
)
_ANNOUNCED = re.compile(
    r"\[(?P<hash>[0-9a-f]{2}/[0-9a-f]{6})\] (?P<kind>Submitted|Re-submitted|Cached) process > (?P<name>.+)$"
)
#: characters ``AbstractGridExecutor.getJobNameFor`` replaces with ``_`` (its ``INVALID_NAME_CHARS``;
#: the list spells newline, tab and return as two characters, so those are never matched)
_INVALID_JOB_NAME_CHARS = frozenset(" /:@*?=")


def hash_log(work_dir: str) -> str | None:
    """The short hash Nextflow logs (``3a/7f21c0``) from a task's work directory, if it is one."""
    parts = work_dir.rstrip("/").split("/")
    if len(parts) < 2 or not re.fullmatch(r"[0-9a-f]{2}", parts[-2]) or not re.fullmatch(r"[0-9a-f]{6,}", parts[-1]):
        return None
    return f"{parts[-2]}/{parts[-1][:6]}"


def slurm_job_name(task_name: str) -> str:
    """The ``#SBATCH -J`` name Nextflow gives a task: ``FASTP (r1)`` -> ``nf-FASTP_(r1)`` (256 chars at most)."""
    name = "nf-" + "".join("_" if char in _INVALID_JOB_NAME_CHARS else char for char in task_name)
    return name[:256]


@dataclass
class SubmittedTask:
    """One task a run submitted (or took from the cache), as its log tells."""

    hash: str
    name: str
    slurm_job_id: str | None = None
    work_dir: str | None = None
    cached: bool = False


@dataclass
class NextflowLog:
    """The tasks one run's log mentions, by short hash, in the order they were logged."""

    tasks: dict[str, SubmittedTask] = field(default_factory=dict)

    @property
    def submitted(self) -> list[SubmittedTask]:
        """Tasks given to the executor (not those taken from the cache)."""
        return [task for task in self.tasks.values() if not task.cached]

    def merge(self, other: NextflowLog) -> NextflowLog:
        """Both logs' tasks; what one knows and the other does not (a job id) is kept."""
        merged = NextflowLog(tasks={key: SubmittedTask(**vars(task)) for key, task in self.tasks.items()})
        for key, task in other.tasks.items():
            known = merged.tasks.setdefault(key, SubmittedTask(**vars(task)))
            known.slurm_job_id = known.slurm_job_id or task.slurm_job_id
            known.work_dir = known.work_dir or task.work_dir
        return merged


def parse_nextflow_log(text: str) -> NextflowLog:
    """The tasks in a ``.nextflow.log`` or a console log (complete or still growing; a cut last line is skipped)."""
    log = NextflowLog()
    for line in complete_lines(text):
        if match := _GRID_SUBMITTED.search(line):
            short = hash_log(match["workdir"].strip())
            if short is not None:
                task = log.tasks.setdefault(short, SubmittedTask(hash=short, name=match["name"]))
                task.slurm_job_id, task.work_dir = match["job"], match["workdir"].strip()
        elif match := _ANNOUNCED.search(line):
            task = log.tasks.setdefault(match["hash"], SubmittedTask(hash=match["hash"], name=match["name"]))
            task.cached = match["kind"] == "Cached"
    return log


def read_nextflow_log(*paths: Path) -> NextflowLog:
    """The tasks of one run from its logs (``.nextflow.log`` and the console); a missing file adds nothing.

    :raises OSError: a file exists but could not be read
    """
    log = NextflowLog()
    for path in paths:
        if path.is_file():
            log = log.merge(parse_nextflow_log(path.read_text(errors="replace")))
    return log
