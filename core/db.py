"""Outlast a database restart: a lost connection is closed and the work retried once Postgres answers.

Django opens a new connection on the next query after ``connection.close()``, but a connection the
server dropped (a restart, a failover) stays broken until someone closes it. Long-running flow code
(a pipeline followed for hours) wraps its writes in :func:`outlasting_disconnects`, which does that
and retries, so a restart costs a pause rather than an analysis.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

#: What a dropped or refused connection raises (psycopg's errors, as Django wraps them).
DISCONNECT_ERRORS = (OperationalError, InterfaceError)

T = TypeVar("T")


def drop_broken_connection() -> None:
    """Close this thread's connection so the next query opens a fresh one (no-op inside a transaction)."""
    if not connection.in_atomic_block:
        connection.close()


def outlasting_disconnects(
    work: Callable[[], T],
    *,
    what: str,
    timeout_seconds: float = 600.0,
    first_delay_seconds: float = 1.0,
    max_delay_seconds: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``work`` (one transaction or one statement), retrying it while the database is unreachable.

    ``work`` must be safe to repeat: a transaction that was rolled back by the disconnect, or an
    idempotent write. Inside an outer transaction nothing can be retried, so the error propagates.

    :param what: named in the log lines
    :param timeout_seconds: give up (re-raise) after this long without the database
    """
    deadline = time.monotonic() + timeout_seconds
    delay = first_delay_seconds
    while True:
        try:
            return work()
        except DISCONNECT_ERRORS as error:
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            logger.warning("database unreachable during %s (%s); retrying in %.0fs", what, error, delay)
            drop_broken_connection()
            sleep(delay)
            delay = min(delay * 2, max_delay_seconds)
