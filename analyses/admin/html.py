"""Small HTML pieces of the curator's console: state badges, neutral flags, links and tables.

Every piece is built with :func:`~django.utils.html.format_html` (accessions, messages and step names are
pipeline or user data), and styled by ``analyses/static/analyses/admin/console.css``. Plain functions of
values, no queries: list columns call them once per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

EMPTY = "–"


class Tone(StrEnum):
    """The colour of a badge: what the state means to a curator, not which model it belongs to."""

    GOOD = "good"  # finished well
    BAD = "bad"  # failed: needs a look
    BUSY = "busy"  # running or claimed
    WAITING = "waiting"  # pending
    MUTED = "muted"  # cancelled, superseded: history, not a problem
    NOTE = "note"  # private: worth knowing, not an error
    NEUTRAL = "neutral"


#: Analysis states and work-item states share one palette (the same word means the same colour).
STATE_TONES: dict[str, Tone] = {
    "pending": Tone.WAITING,
    "claimed": Tone.BUSY,
    "running": Tone.BUSY,
    "completed": Tone.GOOD,
    "done": Tone.GOOD,
    "submitted": Tone.GOOD,
    "assembling": Tone.BUSY,
    "failed": Tone.BAD,
    "cancelled": Tone.MUTED,
    # Slurm's words, upper case in job records
    "COMPLETED": Tone.GOOD,
    "FAILED": Tone.BAD,
    "TIMEOUT": Tone.BAD,
    "OUT_OF_MEMORY": Tone.BAD,
    "NODE_FAIL": Tone.BAD,
    "RUNNING": Tone.BUSY,
    "PENDING": Tone.WAITING,
    "CANCELLED": Tone.MUTED,
    "CACHED": Tone.GOOD,
}


def badge(text: str, tone: Tone | str = Tone.NEUTRAL, *, title: str = "") -> SafeString:
    """A coloured pill with ``text``; ``tone`` picks the colour."""
    return format_html('<span class="console-badge console-badge--{}" title="{}">{}</span>', tone, title, text)


def state_badge(state: str | None) -> SafeString | str:
    """A state (analysis, work item, assembly or Slurm job) as a badge coloured by what it means."""
    if not state:
        return EMPTY
    return badge(state, STATE_TONES.get(state, Tone.NEUTRAL))


def privacy_badge(is_private: bool) -> SafeString:
    """``private`` in the note colour, ``public`` neutral: neither is an error."""
    return badge("private", Tone.NOTE) if is_private else badge("public", Tone.NEUTRAL)


def flag_text(value: bool, *, yes: str, no: str = EMPTY) -> SafeString | str:
    """A boolean that is not an error shown in words (Django's red ✖ reads like one)."""
    return badge(yes, Tone.MUTED) if value else no


def link(url: str | None, text: Any) -> SafeString | str:
    """``<a href=url>text</a>``, or the text alone without a URL."""
    if not url:
        return format_html("{}", text) if text not in (None, "") else EMPTY
    return format_html('<a href="{}">{}</a>', url, text)


def external_link(url: str | None, text: Any) -> SafeString | str:
    """A link that opens in a new tab (Prefect UI, DRS files), marked as leaving the admin."""
    if not url:
        return EMPTY
    return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{} ↗</a>', url, text)


def admin_change_url(obj: Any) -> str | None:
    """The admin change page of ``obj`` (None for None)."""
    if obj is None or obj.pk is None:
        return None
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def admin_changelist_url(model: type, filters: Mapping[str, Any] | None = None) -> str:
    """The admin changelist of ``model``, filtered by ``filters`` (field lookups as query parameters, encoded)."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def admin_url(name: str, *args: Any) -> str | None:
    """``reverse('admin:<name>')``, or None when no such admin URL is installed (an app left out)."""
    try:
        return reverse(f"admin:{name}", args=args)
    except NoReverseMatch:
        return None


def change_link(obj: Any, text: Any = None) -> SafeString | str:
    """A link to ``obj``'s change page (``text`` defaults to ``str(obj)``), ``–`` for None."""
    if obj is None:
        return EMPTY
    return link(admin_change_url(obj), text if text is not None else str(obj))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, css: str = "") -> SafeString | str:
    """A compact table; cells may be safe HTML (links, badges) or plain values, which are escaped."""
    rows = list(rows)
    if not rows:
        return EMPTY
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (format_html_join("", "<td>{}</td>", ((EMPTY if cell in (None, "") else cell,) for cell in row)),)
            for row in rows
        ),
    )
    return format_html(
        '<table class="console-table {}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', css, head, body
    )


def details(summary: str, content: SafeString | str) -> SafeString:
    """``content`` folded away under ``summary`` (raw JSON, long lists)."""
    return format_html('<details class="console-details"><summary>{}</summary>{}</details>', summary, content)


def human_bytes(size: int | None) -> str:
    """``1536`` -> ``1.5 KiB``."""
    if size is None:
        return EMPTY
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def human_seconds(seconds: float | None) -> str:
    """``3725`` -> ``1h 02m 05s``; ``None`` -> ``–``."""
    if seconds is None:
        return EMPTY
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def number(value: int | float | None, *, percent: bool = False) -> str:
    """Thousands separated integers; rates (0–1) as percentages."""
    if value is None:
        return EMPTY
    if percent:
        return f"{value * 100:.1f} %"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"
