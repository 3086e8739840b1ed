"""Why an analysis failed, as a curator reads it: the failed step, the message, the end of the step's log.

Where the log of a step is, in an analysis' work area (``provenance.work_dir``, laid out by
``workflows.pipelines.workarea``; this app cannot import it, so the layout is restated here):

* a Snakemake rule writes ``logs/<rule>.log`` (the Snakefile's ``log:`` directives);
* a Nextflow task writes ``.command.log`` in its task directory, which the launch's trace
  (``pipeline_info/trace-NNN.txt``, tab-separated with a ``workdir`` column) names for each task;
* the engine itself (failed step ``snakemake``, ``nextflow`` or ``head job``: Slurm stopped the head job)
  writes the head job's log ``logs/launch-NNN.log``, one per launch attempt.

Only the last bytes of a log are read (:data:`TAIL_BYTES`, seeking from the end), never a whole file, and
only paths inside the work area are opened: step names and trace rows are pipeline data.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

#: How many lines of the failed step's log the box shows.
TAIL_LINES = 40
#: At most this much of the end of a log is read to find them.
TAIL_BYTES = 64 * 1024
#: At most this much of a Nextflow trace is read to find the failed task's directory.
TRACE_MAX_BYTES = 1024 * 1024
#: Failed-step names that mean the engine (its head job) failed, not one of its steps.
ENGINE_STEPS = frozenset({"snakemake", "nextflow", "head job", "head", "pipeline"})
_SAFE_STEP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_LAUNCH_LOG = re.compile(r"^launch-(\d+)\.log$")
_TRACE = re.compile(r"^trace-(\d+)\.txt$")


@dataclass(frozen=True)
class LogTail:
    """The end of a step's log, or where it was looked for in vain.

    :param path: the log found, or the first place it was looked for
    :param lines: its last lines (empty when not found)
    :param found: whether the file exists
    :param truncated: whether there is more before the lines shown
    """

    path: Path | None
    lines: list[str]
    found: bool
    truncated: bool = False


def tail_lines(path: Path, *, lines: int = TAIL_LINES, max_bytes: int = TAIL_BYTES) -> tuple[list[str], bool]:
    """The last ``lines`` lines of ``path``, reading at most its last ``max_bytes`` bytes.

    :returns: the lines, and whether anything was left out before them
    """
    with path.open("rb") as handle:
        handle.seek(0, io.SEEK_END)
        size = handle.tell()
        start = max(0, size - max_bytes)
        handle.seek(start)
        data = handle.read(max_bytes)
    text = data.decode("utf-8", errors="replace")
    all_lines = text.splitlines()
    if start > 0 and all_lines:
        all_lines = all_lines[1:]  # the first line was cut by the seek
    return all_lines[-lines:], start > 0 or len(all_lines) > lines


def _inside(root: Path, candidate: Path) -> bool:
    """Whether ``candidate`` stays inside ``root`` once resolved (no ``..`` or symlink escapes)."""
    try:
        return candidate.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


def _numbered(directory: Path, pattern: re.Pattern[str]) -> list[Path]:
    """Files in ``directory`` whose names match ``pattern`` (one number group), newest number first."""
    if not directory.is_dir():
        return []
    found = [(int(match[1]), path) for path in directory.iterdir() if (match := pattern.match(path.name))]
    return [path for _, path in sorted(found, reverse=True)]


def _nextflow_task_dirs(work_dir: Path, step: str) -> list[Path]:
    """The task directories the launches' traces name for ``step`` (newest launch first)."""
    directories = []
    for trace in _numbered(work_dir / "pipeline_info", _TRACE):
        if trace.stat().st_size > TRACE_MAX_BYTES:
            continue
        rows = csv.DictReader(trace.read_text(errors="replace").splitlines(), delimiter="\t")
        for row in rows:
            name, workdir = (row.get("name") or "").strip(), (row.get("workdir") or "").strip()
            if name == step and workdir and workdir != "-":
                directories.append(Path(workdir))
    return list(reversed(directories)) if directories else []


def log_candidates(work_dir: Path, failed_step: str | None) -> list[Path]:
    """Where the failed step's log may be, most specific first (see the module)."""
    step = (failed_step or "").strip()
    candidates: list[Path] = []
    if step and step not in ENGINE_STEPS and _SAFE_STEP.match(step):
        candidates.append(work_dir / "logs" / f"{step}.log")
    if step and step not in ENGINE_STEPS:
        candidates += [directory / ".command.log" for directory in _nextflow_task_dirs(work_dir, step)]
    launch_logs = _numbered(work_dir / "logs", _LAUNCH_LOG)
    candidates += launch_logs[:1] or [work_dir / "logs" / "launch-001.log"]
    return [path for path in candidates if _inside(work_dir, path)]


def failed_step_log(work_dir: str | None, failed_step: str | None) -> LogTail:
    """The end of the failed step's log in ``work_dir``, or the first place it was looked for.

    :param work_dir: ``provenance.work_dir`` (None when the pipeline never got a work area)
    :param failed_step: ``provenance.failed_step``
    """
    if not work_dir:
        return LogTail(path=None, lines=[], found=False)
    root = Path(work_dir)
    candidates = log_candidates(root, failed_step) if root.is_dir() else [root / "logs"]
    for path in candidates:
        if path.is_file():
            try:
                lines, truncated = tail_lines(path)
            except OSError:
                continue
            return LogTail(path=path, lines=lines, found=True, truncated=truncated)
    return LogTail(path=candidates[0] if candidates else root, lines=[], found=False)
