"""Processes of the end-to-end test: the ``flexprice`` command and real uvicorn servers on free ports.

Every process gets the same fresh ``FLEXPRICE_HOME`` and nothing else of the caller's ``FLEXPRICE_*`` or
``DAGSTER_HOME`` settings, so the test runs the embedded default (SQLite catalog, outbox, DuckDB).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
FLEXPRICE = str(Path(sys.executable).with_name("flexprice"))


def isolated_env(home: Path) -> dict[str, str]:
    """The caller's environment without its Flexprice/Dagster settings, pointed at ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEXPRICE_") and k != "DAGSTER_HOME"}
    env["FLEXPRICE_HOME"] = str(home)
    return env


def flexprice(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``flexprice ARGS`` and return it; a non-zero exit fails with its output."""
    done = subprocess.run(
        [FLEXPRICE, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise AssertionError(
            f"flexprice {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done


def flexprice_in_process(env: dict[str, str], *args: str) -> str:
    """Run ``flexprice ARGS`` in this process (the same Typer app) and return its stdout.

    For the quick catalog commands: a ``flexprice`` process spends most of its time importing Dagster.
    """
    from flexprice_pipelines.cli import app

    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("FLEXPRICE_")}
    result = CliRunner().invoke(app, list(args), env={**unset, "FLEXPRICE_HOME": env["FLEXPRICE_HOME"]})
    if result.exit_code != 0:
        raise AssertionError(f"flexprice {' '.join(args)} exited {result.exit_code}\n{result.output}")
    return result.stdout


def create_tenant(env: dict[str, str], name: str) -> dict[str, Any]:
    """``flexprice tenants create NAME --json``: tenant id, environment id and the API key."""
    result: dict[str, Any] = json.loads(flexprice_in_process(env, "tenants", "create", name, "--json"))
    return result


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """An HTTP server process: started at once, waited for (``/health``) only when needed."""

    def __init__(self, command: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [*command, "--port", str(self.port)]
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )

    def wait(self, timeout: float = 90) -> str:
        """Block until ``/health`` answers 200; the base URL."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.command} exited {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self.url
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.command} did not answer /health:\n{self.log.read_text()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def started(command: Sequence[str], env: dict[str, str], log: Path) -> Iterator[Server]:
    """A ``Server`` that is stopped on exit."""
    server = Server(command, env, log)
    try:
        yield server
    finally:
        server.stop()


def flexprice_api(env: dict[str, str], log: Path) -> Any:
    """``flexprice api --port <free>`` (the command users run)."""
    return started([FLEXPRICE, "api"], env, log)


def shifted_api(env: dict[str, str], start: str, log: Path) -> Any:
    """The same app whose clock starts at ``start`` (``tests/e2e/shifted_api.py``)."""
    return started([sys.executable, "-m", "tests.e2e.shifted_api", "--start", start], env, log)


def client(url: str, api_key: str) -> httpx.Client:
    """An HTTP client for one tenant's key."""
    return httpx.Client(base_url=url, headers={"x-api-key": api_key}, timeout=60)
