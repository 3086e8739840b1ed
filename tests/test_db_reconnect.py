"""core.db: a connection the server dropped is closed and the work retried (real Postgres, a real kill)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import OperationalError, connection, transaction

from analyses.models import Biome
from core.db import outlasting_disconnects

pytestmark = pytest.mark.django_db(transaction=True)


def kill_this_threads_backend() -> None:
    """Terminate the server process behind Django's connection, as a Postgres restart does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(
        **{k: v for k, v in params.items() if k in {"host", "port", "user", "password", "dbname"}}
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_dropped_connection_is_reopened_and_the_work_retried() -> None:
    kill_this_threads_backend()
    with pytest.raises(OperationalError):  # what the work meets without the wrapper
        Biome.objects.count()
    connection.close()
    kill_this_threads_backend()
    waits: list[float] = []

    count = outlasting_disconnects(lambda: Biome.objects.count(), what="counting", sleep=waits.append)

    assert count == Biome.objects.count()
    assert waits == [1.0], "one retry after one pause"


def test_nothing_is_retried_inside_a_transaction() -> None:
    waits: list[float] = []
    with pytest.raises(OperationalError), transaction.atomic():
        kill_this_threads_backend()
        outlasting_disconnects(lambda: Biome.objects.count(), what="counting", sleep=waits.append)
    assert waits == []
    connection.close()


def test_it_gives_up_after_its_timeout() -> None:
    calls: list[int] = []

    def always_down() -> None:
        calls.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    with pytest.raises(OperationalError):
        outlasting_disconnects(always_down, what="x", timeout_seconds=5, sleep=lambda _s: None)
    assert 1 < len(calls) < 10
