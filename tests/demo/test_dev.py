"""``flexprice dev`` starts the API, the sink and Dagster on free 127.0.0.1 ports and stops them on SIGTERM."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, proc: subprocess.Popen[str], timeout: float) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "flexprice dev exited early"
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent's wait is missing.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][:1] != "Z"


def _stop_everything(proc: subprocess.Popen[str], log: IO[str]) -> None:
    """On a failed run too: `flexprice dev` stops its children on SIGTERM; whatever is left (its children
    run in sessions of their own, out of reach of a kill of its group) is killed by the pids it printed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    log.seek(0)
    for pid in re.findall(r"^(?:api|sink|dagster)\s+pid (\d+)", log.read(), re.M):
        if _alive(int(pid)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid), signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


def test_dev_serves_api_and_dagster_then_stops_everything_on_sigterm(tmp_path: Path) -> None:
    api_port, dagster_port = _free_port(), _free_port()
    env = {**os.environ, "FLEXPRICE_HOME": str(tmp_path / "home")}
    env.pop("DAGSTER_HOME", None)
    log = (tmp_path / "dev.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flexprice_pipelines.cli", "dev", "--api-port", str(api_port),
         "--dagster-port", str(dagster_port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        health = _wait_for(f"http://127.0.0.1:{api_port}/health", proc, 120)
        assert health.json() == {"status": "ok"}
        info = _wait_for(f"http://127.0.0.1:{dagster_port}/server_info", proc, 300)  # slow on a loaded CI
        assert "dagster_webserver_version" in info.json()
        log.seek(0)
        printed = log.read()
        pids = {name: int(pid) for name, pid in re.findall(r"^(api|sink|dagster)\s+pid (\d+)", printed, re.M)}
        assert set(pids) == {"api", "sink", "dagster"}
        assert (
            f"http://127.0.0.1:{api_port}/docs" in printed and f"http://127.0.0.1:{dagster_port}" in printed
        )
        assert (tmp_path / "home" / "dagster" / "dagster.yaml").exists()

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    except BaseException:
        _stop_everything(proc, log)  # a failed run leaves nothing running; a passing one is checked below
        raise
    log.seek(0)
    assert "stopped:" in log.read()
    assert not any(_alive(pid) for pid in pids.values())
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=2.0)
