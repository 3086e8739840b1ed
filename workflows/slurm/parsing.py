"""Reading the text squeue and sacct print: times, durations, sizes, exit codes, array ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_UNSET = {"", "unknown", "none", "n/a", "invalid"}
_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_ARRAY_RANGE = re.compile(r"^(?P<job>\d+)_\[(?P<ranges>[^\]]+)\]$")


def parse_time(text: str) -> datetime | None:
    """A Slurm timestamp (``2026-11-25T06:53:01``), or ``None`` for ``Unknown``/``N/A``/``None``.

    :param text: the timestamp as printed.
    """
    text = text.strip()
    if text.lower() in _UNSET:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_duration(text: str) -> int | None:
    """Seconds in a Slurm duration: ``SS``, ``MM:SS``, ``HH:MM:SS`` or ``D-HH:MM:SS``.

    :param text: the duration as printed.
    """
    text = text.strip()
    if text.lower() in _UNSET or text.upper() == "INVALID":
        return None
    days = 0
    if "-" in text:
        day_text, text = text.split("-", 1)
        days = int(day_text)
    seconds = 0
    for part in text.split(":"):
        seconds = seconds * 60 + int(float(part))
    return days * 86400 + seconds


def parse_size(text: str) -> int | None:
    """Bytes in a sacct size such as ``63900K`` or ``1.5G`` (no suffix = bytes).

    :param text: the size as printed.
    """
    text = text.strip()
    if not text:
        return None
    unit = text[-1].upper() if text[-1].isalpha() else ""
    number = text[:-1] if unit else text
    try:
        return int(float(number) * _SIZE_UNITS[unit])
    except (KeyError, ValueError):
        return None


def parse_exit_code(text: str) -> tuple[int | None, int | None]:
    """``(exit code, signal)`` from sacct's ``3:0``.

    :param text: the ExitCode field.
    """
    code, _, signal = text.strip().partition(":")
    if not code.isdigit():
        return None, None
    return int(code), int(signal) if signal.isdigit() else None


def expand_array_id(job_id: str) -> list[str]:
    """``123_[0-2,5]`` -> ``123_0 123_1 123_2 123_5``; other ids are returned as they are.

    :param job_id: an id as sacct/squeue print it (pending tasks are shown as a range).
    """
    match = _ARRAY_RANGE.match(job_id)
    if not match:
        return [job_id]
    job, ranges = match["job"], match["ranges"].split("%", 1)[0]
    ids: list[str] = []
    for part in ranges.split(","):
        bounds, _, step = part.partition(":")
        first, _, last = bounds.partition("-")
        stop = int(last) if last else int(first)
        ids.extend(f"{job}_{index}" for index in range(int(first), stop + 1, int(step) if step else 1))
    return ids


#: ``squeue --format`` of :func:`parse_active_jobs`: id, state, comment, then the name (which may hold ``|``)
SQUEUE_ACTIVE_FORMAT = "%i|%T|%k|%j"


@dataclass(frozen=True)
class ActiveJob:
    """A queued or running job as squeue lists it: enough to find it by what it carries, not its id."""

    job_id: str
    state: str
    comment: str | None
    name: str


def parse_active_jobs(output: str) -> list[ActiveJob]:
    """Jobs from ``squeue --noheader --format=<SQUEUE_ACTIVE_FORMAT>``; ``(null)`` is no comment.

    :param output: squeue's output.
    """
    jobs = []
    for line in output.splitlines():
        fields = line.split("|", 3)
        if len(fields) != 4:
            continue
        job_id, state, comment, name = fields
        jobs.append(
            ActiveJob(
                job_id=job_id.strip(),
                state=state.strip(),
                comment=None if comment in ("(null)", "") else comment,
                name=name,
            )
        )
    return jobs
