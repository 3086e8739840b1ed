"""Parser of Nextflow's trace file into per-process records and progress.

The trace is tab-separated with a header naming the columns chosen by ``trace.fields``; the
default columns are ``task_id hash native_id name status exit submit duration realtime %cpu
peak_rss peak_vmem rchar wchar``. Unless ``trace.raw = true``, times are human-readable
(``345ms``, ``4.2s``, ``1m 3s``, ``2h 10m 5s``, ``1d 2h``), sizes too (``0``, ``512 B``,
``980 MB``, ``1.2 GB``), percentages carry ``%``, and a missing value is ``-``.

What Nextflow writes and when (``nextflow/trace/TraceFileObserver.groovy``): the header when the run
starts, then one row per task when it *completes* (``onTaskComplete``: COMPLETED, FAILED, ABORTED)
or is found in the cache (``onTaskCached``: CACHED), each ``println`` then ``flush``; tasks still
submitted or running get a row only when the run ends. A submitted task is therefore not in the
trace: :mod:`~workflows.pipelines.launchers.nextflow_log` finds those. ``task_id`` restarts at 1 in
every run, so traces of several launches are ordered by launch attempt, never by ``task_id`` alone.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

DEFAULT_FIELDS = (
    "task_id",
    "hash",
    "native_id",
    "name",
    "status",
    "exit",
    "submit",
    "duration",
    "realtime",
    "%cpu",
    "peak_rss",
    "peak_vmem",
    "rchar",
    "wchar",
)


class TaskStatus(StrEnum):
    """A task's status in the trace file."""

    NEW = "NEW"
    SUBMITTED = "SUBMITTED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
    CACHED = "CACHED"

    @property
    def is_done(self) -> bool:
        return self in {TaskStatus.COMPLETED, TaskStatus.CACHED}


_DURATION_PART = re.compile(r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|d|h|m|s)")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_MEMORY = re.compile(r"^(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>B|KB|MB|GB|TB|PB|EB)?$", re.IGNORECASE)
_MEMORY_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4, "PB": 1024**5, "EB": 1024**6}


def _missing(value: str | None) -> bool:
    return value is None or value.strip() in ("", "-")


def parse_duration(value: str | None) -> float | None:
    """``"1m 3s"`` -> 63.0, ``"345ms"`` -> 0.345, ``"2h 10m 5s"`` -> 7805.0, ``"-"`` -> None.

    Raw traces (``trace.raw = true``) give plain milliseconds: ``"63000"`` -> 63.0.

    :raises ValueError: an unreadable duration
    """
    if _missing(value):
        return None
    text = value.strip()
    if re.fullmatch(r"\d+", text):
        return int(text) / 1000
    parts = _DURATION_PART.findall(text)
    if not parts or _DURATION_PART.sub("", text).strip():
        raise ValueError(f"not a Nextflow duration: {value!r}")
    return round(sum(float(number) * _DURATION_SECONDS[unit] for number, unit in parts), 3)


def parse_memory(value: str | None) -> int | None:
    """``"1.2 GB"`` -> 1288490188, ``"980 MB"`` -> 1027604480, ``"0"`` -> 0, ``"-"`` -> None (binary units).

    :raises ValueError: an unreadable size
    """
    if _missing(value):
        return None
    match = _MEMORY.match(value.strip())
    if not match:
        raise ValueError(f"not a Nextflow memory size: {value!r}")
    unit = (match["unit"] or "B").upper()
    return int(float(match["value"]) * _MEMORY_BYTES[unit])


def parse_percent(value: str | None) -> float | None:
    """``"98.5%"`` -> 98.5, ``"-"`` -> None."""
    if _missing(value):
        return None
    return float(value.strip().rstrip("%"))


def parse_timestamp(value: str | None) -> datetime | None:
    """``"2024-05-01 10:00:01.123"`` -> datetime; raw epoch milliseconds also accepted."""
    if _missing(value):
        return None
    text = value.strip()
    if re.fullmatch(r"\d+", text):
        return datetime.fromtimestamp(int(text) / 1000)
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"not a Nextflow timestamp: {value!r}")


class TraceRecord(BaseModel):
    """One task (one row) of a trace file."""

    task_id: int
    hash: str
    native_id: str | None
    name: str
    process: str
    tag: str | None
    status: TaskStatus
    exit: int | None
    submit: datetime | None
    duration_seconds: float | None
    realtime_seconds: float | None
    cpu_percent: float | None
    peak_rss_bytes: int | None
    peak_vmem_bytes: int | None
    rchar_bytes: int | None
    wchar_bytes: int | None
    workdir: str | None = None
    extra: dict[str, str] = {}
    #: which launch on the work area wrote this row (1, 2, ...); None for a trace read on its own
    launch_attempt: int | None = None

    @property
    def is_from_cache(self) -> bool:
        """A CACHED row: its ``native_id`` is the Slurm job of the earlier run that made its outputs."""
        return self.status == TaskStatus.CACHED


class TraceFormatError(ValueError):
    """A complete row (or the header) of a trace that is not in Nextflow's format."""


_NAME = re.compile(r"^(?P<process>[^()]+?)(?:\s+\((?P<tag>.*)\))?$")


def _int_or_none(value: str | None) -> int | None:
    return None if _missing(value) else int(value.strip())


def parse_trace_row(row: dict[str, str]) -> TraceRecord:
    """One row of a trace (as a header-keyed dict) into a :class:`TraceRecord`."""
    name = row["name"].strip()
    match = _NAME.match(name)
    known = set(DEFAULT_FIELDS) | {"workdir"}
    return TraceRecord(
        task_id=int(row["task_id"]),
        hash=row["hash"].strip(),
        native_id=None if _missing(row.get("native_id")) else row["native_id"].strip(),
        name=name,
        process=match["process"].strip() if match else name,
        tag=match["tag"] if match else None,
        status=TaskStatus(row["status"].strip()),
        exit=_int_or_none(row.get("exit")),
        submit=parse_timestamp(row.get("submit")),
        duration_seconds=parse_duration(row.get("duration")),
        realtime_seconds=parse_duration(row.get("realtime")),
        cpu_percent=parse_percent(row.get("%cpu")),
        peak_rss_bytes=parse_memory(row.get("peak_rss")),
        peak_vmem_bytes=parse_memory(row.get("peak_vmem")),
        rchar_bytes=parse_memory(row.get("rchar")),
        wchar_bytes=parse_memory(row.get("wchar")),
        workdir=None if _missing(row.get("workdir")) else row["workdir"].strip(),
        extra={key: value for key, value in row.items() if key not in known and key is not None},
    )


def complete_lines(text: str) -> list[str]:
    """The lines of a file still being written that are known to be whole.

    Nextflow ends every line with a newline and flushes it, so a line without one was cut by the
    read (shared storage shows a file mid-write); a line with NUL bytes is a hole a network file
    system shows before the data arrives. Both are skipped.
    """
    lines = text.split("\n")[:-1]  # what follows the last newline is not whole yet
    return [line for line in lines if "\0" not in line]


def parse_trace_text(text: str, *, launch_attempt: int | None = None) -> list[TraceRecord]:
    """All complete rows of a trace file's text; a row still being written is skipped.

    :param launch_attempt: set on every record (see :func:`merge_launches`)
    :raises TraceFormatError: the header or a complete row is not in Nextflow's format
    """
    lines = complete_lines(text)
    if not lines:
        return []
    header = lines[0].split("\t")
    if "task_id" not in header or "status" not in header or "name" not in header:
        raise TraceFormatError(f"not a Nextflow trace header: {lines[0]!r}")
    records = []
    for number, line in enumerate(lines[1:], start=2):
        values = line.split("\t")
        if len(values) != len(header):
            raise TraceFormatError(f"trace line {number} has {len(values)} columns, the header {len(header)}")
        try:
            record = parse_trace_row(dict(zip(header, values, strict=True)))
        except ValueError as error:
            raise TraceFormatError(f"trace line {number}: {error}") from error
        records.append(record.model_copy(update={"launch_attempt": launch_attempt}))
    return records


def parse_trace(path: Path, *, launch_attempt: int | None = None) -> list[TraceRecord]:
    """Parse a trace file; an empty list if it does not exist yet.

    :raises TraceFormatError: see :func:`parse_trace_text`
    :raises OSError: the file could not be read
    """
    if not Path(path).is_file():
        return []
    return parse_trace_text(Path(path).read_text(errors="replace"), launch_attempt=launch_attempt)


class TraceSummary(BaseModel):
    """Progress derived from a trace: the latest record of each task name."""

    tasks: list[TraceRecord]
    done: int
    total: int
    cached: int
    failed: list[TraceRecord]
    running: int


def _launch_order(record: TraceRecord) -> tuple[int, int]:
    """Launch attempt first (``task_id`` restarts at 1 in every run), then ``task_id`` within it."""
    return (record.launch_attempt or 0, record.task_id)


def latest_per_task(records: list[TraceRecord]) -> list[TraceRecord]:
    """The last record of each task name: a later launch's, and within one run the later retry."""
    latest: dict[str, TraceRecord] = {}
    for record in sorted(records, key=_launch_order):
        latest[record.name] = record
    return list(latest.values())


def merge_launches(records: list[TraceRecord]) -> list[TraceRecord]:
    """The record of each task name that says how its outputs were made, over every launch.

    A later launch's record wins, except that a CACHED row gives way to the earlier run of the same
    task (same hash) that completed it: that run's Slurm job made the outputs. A CACHED row with no
    such earlier record is kept as it is (state CACHED, the job of an unknown earlier run).
    """
    latest: dict[str, TraceRecord] = {}
    completed: dict[str, TraceRecord] = {}
    for record in sorted(records, key=_launch_order):
        if record.status == TaskStatus.COMPLETED:
            completed[record.hash] = record
        producer = completed.get(record.hash) if record.is_from_cache else None
        latest[record.name] = producer or record
    return list(latest.values())


def summarise(records: list[TraceRecord]) -> TraceSummary:
    """Steps done / total and the failed tasks, from the latest attempt of each task.

    ``total`` counts the tasks Nextflow has created so far (it learns the DAG as it goes).
    """
    tasks = latest_per_task(records)
    return TraceSummary(
        tasks=tasks,
        done=sum(1 for t in tasks if t.status.is_done),
        total=len(tasks),
        cached=sum(1 for t in tasks if t.status == TaskStatus.CACHED),
        failed=[t for t in tasks if t.status in (TaskStatus.FAILED, TaskStatus.ABORTED)],
        running=sum(1 for t in tasks if t.status in (TaskStatus.SUBMITTED, TaskStatus.RUNNING, TaskStatus.NEW)),
    )
