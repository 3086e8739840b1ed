"""Fixed-window counters in Postgres: failed logins and token checks per account and per address, launches per user.

Counters live in the database (not a per-process cache) so that every gunicorn worker and every
host behind a balancer counts together. One upsert per event; one indexed read per check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import RateCounter
from core.errors import TooManyRequests

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events under ``key`` per ``window``."""

    key: str
    count: int
    window: timedelta


def client_address(request: HttpRequest | None) -> str:
    """The caller's address as the server saw it (a TLS proxy in front must pass it as REMOTE_ADDR)."""
    if request is None:
        return "unknown"
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:64]


def _key(kind: str, value: str) -> str:
    return f"{kind}:{value.strip().lower()}"[:MAX_KEY_LENGTH]


def record(limit: Limit) -> int:
    """Count one event under ``limit.key`` (a new window starts when the old one has passed); the new count."""
    table = RateCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} AS counter (key, count, window_started_at) VALUES (%s, 1, now())
            ON CONFLICT (key) DO UPDATE SET
                count = CASE WHEN counter.window_started_at <= now() - %s THEN 1 ELSE counter.count + 1 END,
                window_started_at = CASE WHEN counter.window_started_at <= now() - %s
                                         THEN now() ELSE counter.window_started_at END
            RETURNING count
            """,
            [limit.key, limit.window, limit.window],
        )
        return cursor.fetchone()[0]


def seconds_blocked(*limits: Limit) -> int:
    """Seconds until every one of ``limits`` has room again; 0 when none is reached."""
    now = timezone.now()
    counters = {c.key: c for c in RateCounter.objects.filter(key__in=[limit.key for limit in limits])}
    wait = 0.0
    for limit in limits:
        counter = counters.get(limit.key)
        if counter is None or counter.count < limit.count:
            continue
        ends = counter.window_started_at + limit.window
        if ends > now:
            wait = max(wait, (ends - now).total_seconds())
    return math.ceil(wait)


def clear(*limits: Limit) -> None:
    RateCounter.objects.filter(key__in=[limit.key for limit in limits]).delete()


# --- the platform's limits -------------------------------------------------------------------


def _auth_config() -> Any:
    return settings.EMG_CONFIG.auth


def failed_login_limits(username: str | None, request: HttpRequest | None) -> tuple[Limit, ...]:
    """Failed logins (passwords, Basic, tokens) are limited per account and per address."""
    config = _auth_config()
    window = timedelta(seconds=config.failure_window_seconds)
    limits = [Limit(_key("failed-address", client_address(request)), config.max_failures_per_address, window)]
    if username:
        limits.append(Limit(_key("failed-account", username), config.max_failures_per_account, window))
    return tuple(limits)


def refuse_if_locked_out(username: str | None, request: HttpRequest | None) -> None:
    """:raises TooManyRequests: while the account or the address has too many recent failed logins."""
    wait = seconds_blocked(*failed_login_limits(username, request))
    if wait:
        raise TooManyRequests(f"Too many failed logins; try again in {wait} s", retry_after=wait)


def record_failed_login(username: str | None, request: HttpRequest | None) -> None:
    for limit in failed_login_limits(username, request):
        record(limit)


def launch_limit(user_id: int) -> Limit:
    config = _auth_config()
    return Limit(_key("launches-of-user", str(user_id)), config.launches_per_hour, timedelta(hours=1))


def count_launch(user_id: int) -> None:
    """Count one launch by ``user_id``; :raises TooManyRequests: past the hourly limit (the launch is refused)."""
    limit = launch_limit(user_id)
    wait = seconds_blocked(limit)
    if wait:
        raise TooManyRequests(
            f"At most {limit.count} launches per hour per user; try again in {wait} s", retry_after=wait
        )
    record(limit)
