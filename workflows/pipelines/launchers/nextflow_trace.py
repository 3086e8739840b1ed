"""Parser of Nextflow's trace file into per-process records and progress.

The trace is tab-separated with a header naming the columns chosen by ``trace.fields``; the
default columns are ``task_id hash native_id name status exit submit duration realtime %cpu
peak_rss peak_vmem rchar wchar``. Unless ``trace.raw = true``, times are human-readable
(``345ms``, ``4.2s``, ``1m 3s``, ``2h 10m 5s``, ``1d 2h``), sizes too (``0``, ``512 B``,
``980 MB``, ``1.2 GB``), percentages carry ``%``, and a missing value is ``-``.
"""

from __future__ import annotations

import csv
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


def parse_trace_text(text: str) -> list[TraceRecord]:
    """All rows of a trace file's text (a row still being written at the end is skipped)."""
    lines = text.splitlines()
    if not lines:
        return []
    header = lines[0].split("\t")
    if "task_id" not in header or "status" not in header:
        raise ValueError(f"not a Nextflow trace header: {lines[0]!r}")
    records = []
    for row in csv.DictReader(lines[1:], fieldnames=header, delimiter="\t"):
        if len([v for v in row.values() if v is not None]) < len(header):
            continue  # a partial last line
        records.append(parse_trace_row(row))
    return records


def parse_trace(path: Path) -> list[TraceRecord]:
    """Parse a trace file; an empty list if it does not exist yet."""
    if not Path(path).is_file():
        return []
    return parse_trace_text(Path(path).read_text(errors="replace"))


class TraceSummary(BaseModel):
    """Progress derived from a trace: the latest record of each task name."""

    tasks: list[TraceRecord]
    done: int
    total: int
    cached: int
    failed: list[TraceRecord]
    running: int


def latest_per_task(records: list[TraceRecord]) -> list[TraceRecord]:
    """The last record of each task name (a retried task appears once per attempt)."""
    latest: dict[str, TraceRecord] = {}
    for record in sorted(records, key=lambda r: r.task_id):
        latest[record.name] = record
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
