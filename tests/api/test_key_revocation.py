"""A revoked API key is refused on the very next request of every API process, though each caches keys.

Two real API servers (uvicorn, each in its own process group) share one catalog, on SQLite (the
embedded default: a mapped generation file) and on PostgreSQL (LISTEN/NOTIFY). Both have the key
cached when it is revoked, by the CLI and by ``revoke_api_key``; the next request on each is a 401
(the cache keeps a scope 5 s, so without the revocation signal it would still be a 200).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from flexprice_pipelines.catalog import Scope, db
from flexprice_pipelines.catalog.key_revocations import CACHE_TTL_SECONDS
from flexprice_pipelines.catalog.models import ApiKey
from flexprice_pipelines.catalog.tenancy import create_api_key, create_tenant, hash_api_key, revoke_api_key

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(database_url: str, home: Path) -> dict[str, str]:
    return {**os.environ, "FLEXPRICE_DATABASE_URL": database_url, "FLEXPRICE_HOME": str(home)}


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Base URLs of two API servers on the catalog, each serving once /health answers."""
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for _ in range(2):
            port = _free_port()
            command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
            command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
            process = subprocess.Popen(command, env=_env(database_url, tmp_path), start_new_session=True)
            started.append((process, f"http://127.0.0.1:{port}"))
        for process, base in started:
            for _ in range(600):
                assert process.poll() is None, "uvicorn exited"
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            else:
                raise RuntimeError(f"{base} did not start")
        yield [base for _, base in started]
    finally:
        for process, _ in started:
            _stop(process)


def _statuses(clients: list[httpx.Client], key: str) -> list[int]:
    return [c.get("/v1/customers", headers={"x-api-key": key}).status_code for c in clients]


def test_a_revoked_key_is_refused_at_once_by_every_api_process(
    servers: list[str], database_url: str, tmp_path: Path
) -> None:
    engine = db.make_engine(database_url)
    with db.session_factory(engine)() as session:
        tenant, env, key = create_tenant(session, "revocation")
        key_id = session.scalars(select(ApiKey.id).where(ApiKey.key_hash == hash_api_key(key))).one()
        second = create_api_key(session, Scope(tenant.id, env.id))
        kept = create_api_key(session, Scope(tenant.id, env.id))
        session.commit()
    clients = [httpx.Client(base_url=base, timeout=10) for base in servers]
    try:
        for _ in range(3):  # cached on both servers now
            assert _statuses(clients, key) == _statuses(clients, second.plaintext) == [200, 200]
            assert _statuses(clients, kept.plaintext) == [200, 200]

        # By the CLI, in a process of its own.
        cli = subprocess.run(
            [str(BIN / "flexprice"), "api-keys", "revoke", key_id],
            env=_env(database_url, tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cli.returncode == 0, cli.stderr
        assert _statuses(clients, key) == [401, 401]

        # By the library call, a moment after both servers last answered with the key.
        assert _statuses(clients, second.plaintext) == [200, 200]
        with db.session_factory(engine)() as session:
            revoke_api_key(session, second.key.id)
            started = time.monotonic()
            session.commit()
            took = time.monotonic() - started
        assert _statuses(clients, second.plaintext) == [401, 401]
        assert took < CACHE_TTL_SECONDS  # acknowledged by both servers, not waited out

        # Other keys keep working (their scopes are simply read again).
        assert _statuses(clients, kept.plaintext) == [200, 200]
    finally:
        for client in clients:
            client.close()
        engine.dispose()
