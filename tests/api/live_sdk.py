"""Flexprice's Python SDK against a real uvicorn server (``test_schemathesis.server``), with two tenants
of our own in the server's catalog: ``Live.a`` (the one under test) and ``Live.b`` (the other tenant,
whose ids must answer 404 to ``a``). Rows the pipeline writes (invoices) go straight to the catalog."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog import Repository, Scope, db
from flexprice_pipelines.catalog.models import Invoice, InvoiceLineItem
from flexprice_pipelines.catalog.tenancy import create_tenant
from tests.api.conftest import CREATE_STATUS

flexprice = pytest.importorskip(
    "flexprice", reason="the Flexprice SDK is a dev dependency (pip install -e '.[dev]')"
)


@dataclass
class Side:
    """One tenant: its scope, the SDK and a plain HTTP client, both with its key."""

    scope: Scope
    sdk: Any
    http: httpx.Client

    def created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(path, json=body)
        assert response.status_code == CREATE_STATUS.get(path, 201), response.text
        return response.json()  # type: ignore[no-any-return]


@dataclass
class Live:
    a: Side
    b: Side
    database_url: str

    def invoice(self, side: Side, customer_id: str, **values: Any) -> str:
        """An invoice (with one line per ``lines`` entry: ``(price_type, amount, metadata)``) in the catalog."""
        lines: list[tuple[str | None, str, dict[str, Any]]] = values.pop("lines", [])
        engine = db.make_engine(self.database_url)
        try:
            with Session(engine) as session:
                defaults: dict[str, Any] = {
                    "invoice_status": "FINALIZED",
                    "payment_status": "PENDING",
                    "billing_reason": "SUBSCRIPTION_CYCLE",
                    "currency": "usd",
                }
                row = Repository(session, side.scope, Invoice).create(
                    customer_id=customer_id, **{**defaults, **values}
                )
                for price_type, amount, metadata in lines:
                    Repository(session, side.scope, InvoiceLineItem).create(
                        invoice_id=row.id,
                        customer_id=customer_id,
                        price_type=price_type,
                        amount=Decimal(amount),
                        quantity=Decimal(1),
                        currency=row.currency,
                        metadata_=metadata,
                    )
                session.commit()
                return row.id
        finally:
            engine.dispose()


def _side(base: str, database_url: str, name: str, stack: list[httpx.Client]) -> Side:
    engine = db.make_engine(database_url)
    try:
        with Session(engine) as session:
            tenant, env, key = create_tenant(session, name)
            session.commit()
            scope = Scope(tenant.id, env.id)
    finally:
        engine.dispose()
    http = httpx.Client(base_url=base, headers={"x-api-key": key}, timeout=30)
    stack.append(http)
    return Side(scope, flexprice.Flexprice(server_url=f"{base}/v1", api_key_auth=key), http)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``uvicorn api.app:create_app --factory`` on a free port over the test catalog; its base URL.

    One per test module (each test makes its own two tenants); waits up to 60 s for ``/health``: on a
    loaded machine the import alone can take 10 s."""
    tmp_path = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = {**os.environ, "FLEXPRICE_DATABASE_URL": database_url, "FLEXPRICE_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("the API server did not start: " + (tmp_path / "server.log").read_text())
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def live(live_server: str, database_url: str) -> Iterator[Live]:
    base = live_server
    clients: list[httpx.Client] = []
    try:
        yield Live(
            _side(base, database_url, "live-a", clients),
            _side(base, database_url, "live-b", clients),
            database_url,
        )
    finally:
        for client in clients:
            client.close()


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)
