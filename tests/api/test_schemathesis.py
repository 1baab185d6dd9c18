"""Schemathesis against a real uvicorn server on 127.0.0.1: thousands of generated requests, no 5xx,
and every response as the OpenAPI document describes it.

The checks: no server error; every status documented for its operation; documented content types,
response headers and body schemas; and a request the schema calls invalid is refused. The server runs
in its own process on a free port with the session's catalog (SQLite or PostgreSQL); it is stopped by
this test. ``--max-examples`` bounds the run (~1.5 minutes per backend on an idle 2-core machine); the
count of generated requests is printed.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog import db
from flexprice_pipelines.catalog.tenancy import create_tenant

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
BIN = Path(sys.executable).parent
MIN_REQUESTS = 2000
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
]


def _failures(output: str) -> str:
    """Each failure's operation, check and first lines, then the summary: what a failed run found."""
    kept = [
        line
        for line in output.splitlines()
        if line.startswith("___")
        or re.match(r"\s*(- ST\d|\[\d{3}\]|`\{|Received|Documented|Invalid component)", line)
    ]
    return "\n".join(kept)[-8000:] + "\n" + output[output.rfind("SUMMARY") :][:3000]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    engine = db.make_engine(database_url)
    with Session(engine) as session:
        _, _, key = create_tenant(session, "fuzz")
        session.commit()
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "FLEXPRICE_DATABASE_URL": database_url, "FLEXPRICE_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        # Importing the app takes ~6 s of CPU; on a loaded machine, several times that in wall time.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the API server did not start: " + (tmp_path / "server.log").read_text())
        yield base, key
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_generated_requests_get_documented_answers_and_no_server_error(
    server: tuple[str, str], tmp_path: Path
) -> None:
    base, key = server
    command = [
        str(BIN / "st"), "run", f"{base}/openapi.json",
        "--header", f"x-api-key: {key}",
        "--checks", ",".join(CHECKS),
        "--continue-on-failure",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", "10",
        "--seed", "20250310",
        "--generation-database", "none",
        "--workers", "2",
        "--request-timeout", "20",
        "--no-color",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=540, cwd=tmp_path)
    output = result.stdout + result.stderr
    generated = re.search(r"(\d+) generated", output)
    assert generated, output[-3000:]
    count = int(generated.group(1))
    print(f"\nschemathesis: {count} generated requests, exit code {result.returncode}")
    (tmp_path / "schemathesis.txt").write_text(output)
    assert "Server error" not in output, _failures(output)
    # Any failed check (an undocumented status, a body off its schema, ...) fails the run.
    assert result.returncode == 0, _failures(output)
    assert count >= MIN_REQUESTS
