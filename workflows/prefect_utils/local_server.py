"""Start a real Prefect server and a process worker as child processes (tests and benchmarks).

This is the same server and worker `task run` starts, on a free port with its own PREFECT_HOME,
so a test drives the real thing rather than the in-memory test harness.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from core.config import PROJECT_ROOT

PREFECT_BIN = Path(sys.executable).with_name("prefect")


def kill_process_tree(pid: int) -> None:
    """SIGKILL a process and every process it started, as a host crash does.

    By pid, not by process group: Prefect starts each flow run in a session of its own, so killing a
    worker's group leaves its flow runs alive (and holding their work-ledger leases).
    """
    processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(processes, timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalPrefect:
    home: Path
    port: int
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment a Prefect client, CLI or worker needs to reach this server."""
        env = dict(os.environ)
        env.update(
            {
                "PREFECT_HOME": str(self.home),
                "PREFECT_API_URL": self.api_url,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
                "PREFECT_WORKER_QUERY_SECONDS": "1",
                "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5",
                "EMG_PREFECT__API_URL": self.api_url,
                "EMG_PREFECT__UI_URL": self.ui_url,
            }
        )
        env.update(extra or {})
        return env

    def _spawn(self, args: list[str], log_name: str, env: dict[str, str]) -> subprocess.Popen:
        log = (self.home / log_name).open("ab")
        process = subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def start_server(self, timeout: float = 90) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        server = self._spawn(
            [str(PREFECT_BIN), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            "server.log",
            self.env(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"Prefect server exited: {(self.home / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"Prefect server did not become healthy in {timeout}s")

    def run_cli(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(PREFECT_BIN), *args], cwd=PROJECT_ROOT, env=self.env(extra_env), capture_output=True, text=True
        )

    def deploy(self, *flows: str, extra_env: dict[str, str] | None = None) -> None:
        for flow_name in flows:
            done = subprocess.run(
                [sys.executable, "-m", "workflows.prefect_utils.deploy", flow_name, "--pool", "slurm"],
                cwd=PROJECT_ROOT,
                env=self.env(extra_env),
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise RuntimeError(f"deploying {flow_name} failed: {done.stderr[-2000:]}")

    def start_worker(self, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start a process worker in the ``slurm`` pool (which ``deploy`` creates)."""
        return self._spawn(
            [str(PREFECT_BIN), "worker", "start", "--pool", "slurm", "--type", "process", "--name", "test-worker"],
            "worker.log",
            self.env(extra_env),
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def local_prefect(home: Path) -> Iterator[LocalPrefect]:
    prefect = LocalPrefect(home=home, port=free_port())
    try:
        prefect.start_server()
        yield prefect
    finally:
        prefect.stop()
