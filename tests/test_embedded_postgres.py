"""The newcomer's path: no database URL set, so the project starts its own Postgres and migrates it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.e2e
def test_embedded_postgres_starts_from_nothing_and_migrates(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    env = {key: value for key, value in os.environ.items() if key != "EMG_DATABASE__URL"}
    env["EMG_DATABASE__EMBEDDED_DATA_DIR"] = str(data_dir)
    env["EMG_DATABASE__EMBEDDED_DATABASE"] = "emg_embedded_test"
    try:
        migrated = _manage("migrate", "--no-input", env=env)
        assert migrated.returncode == 0, migrated.stderr[-2000:]
        assert (data_dir / "PG_VERSION").read_text().strip() == "18"

        # A second process finds the running server and sees the migrated schema and minted accessions.
        probe = _manage(
            "shell",
            "-c",
            "from django.db import connection; from analyses.models import Study;"
            "print(connection.settings_dict['HOST']); print(Study.objects.create(title='t').accession)",
            env=env,
        )
        assert probe.returncode == 0, probe.stderr[-2000:]
        host, accession = probe.stdout.split()[-2:]
        assert host != "127.0.0.1", "expected the embedded server's socket, not the machine's Postgres"
        assert accession == "MGYS00000001"
    finally:
        pg_ctl = next(Path(__import__("embedded_postgres").__file__).parent.glob("pginstall/bin/pg_ctl"))
        owner = ["runuser", "-u", "embedded_postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*owner, str(pg_ctl), "-D", str(data_dir), "-m", "immediate", "stop"], capture_output=True)
