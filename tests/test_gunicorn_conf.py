"""Two API instances on one host keep their own gunicorn control sockets (real gunicorn, real gunicornc)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from emgapiv2.gunicorn_conf import control_socket_for
from workflows.prefect_utils.local_server import free_port

BIN = Path(sys.executable).parent


def start_api(port: int, tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "emgapiv2.settings"}
    return subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-c",
            "python:emgapiv2.gunicorn_conf",
            "emgapiv2.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
        ],
        env=env,
        stdout=(tmp_path / f"{port}.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def control(socket: Path, command: str) -> dict:
    out = subprocess.run(
        [str(BIN / "gunicornc"), "-s", str(socket), "-c", command, "-j"], capture_output=True, text=True, timeout=10
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_each_instance_answers_on_its_own_control_socket(tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    servers = [start_api(port, tmp_path) for port in ports]
    sockets = [control_socket_for([f"127.0.0.1:{port}"]) for port in ports]
    try:
        deadline = time.monotonic() + 30
        while not all(socket.exists() for socket in sockets):
            assert time.monotonic() < deadline, [p.read_text() for p in tmp_path.glob("*.log")]
            time.sleep(0.2)
        answers = [control(socket, "show stats") for socket in sockets]
        assert [answer["pid"] for answer in answers] == [server.pid for server in servers]
        assert control(sockets[1], "show config")["bind"] == [f"127.0.0.1:{ports[1]}"]
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def test_a_ready_worker_has_frozen_what_it_loaded_out_of_the_collectors_reach() -> None:
    import gc

    from emgapiv2 import gunicorn_conf

    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 50_000  # Django, the URL conf and the API's schemas
    finally:
        gc.unfreeze()
