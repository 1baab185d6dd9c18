"""Freshness end to end: ``POST /v1/events`` (embedded outbox) → ``flexprice sink`` running in its own
process → the next checks show the event within 1 second (each wait is bounded by that second)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import now
from flexprice_pipelines.settings import Settings
from tests.usage.api.conftest import FROZEN_NOW, Tenant, new_tenant
from tests.usage.seed import create_customer, create_meters, create_plan, subscribe

FRESHNESS_SECONDS = 1.0
EVENTS = 10


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def events_app(database_url: str, home: Path) -> FastAPI:
    application = create_app(Settings(database_url=database_url, home=home, event_bus="outbox"))
    application.dependency_overrides[now] = lambda: FROZEN_NOW
    return application


@pytest.fixture
def sink(database_url: str, home: Path, events_app: FastAPI) -> Iterator[subprocess.Popen[bytes]]:
    """``flexprice sink`` on the app's outbox and catalog, once its loop turns (bounded start)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FLEXPRICE_HOME": str(home), "FLEXPRICE_DATABASE_URL": database_url}
    env["FLEXPRICE_EVENT_BUS"] = "outbox"
    process = subprocess.Popen(
        [sys.executable, "-m", "flexprice_pipelines.cli", "sink", "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not (home / "sink.heartbeat").exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the sink did not start within 60 s"
        time.sleep(0.05)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _usage(tenant: Tenant, body: dict[str, str]) -> int:
    response = tenant.post("/v1/entitlements/check", body)
    assert response.status_code == 200, response.text
    return int(response.json()["current_usage"])


def _wait_for(tenant: Tenant, body: dict[str, str], expected: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _usage(tenant, body) == expected:
            return True
        time.sleep(0.01)
    return _usage(tenant, body) == expected


def test_an_accepted_event_is_in_checks_within_a_second(
    events_app: FastAPI, sink: subprocess.Popen[bytes]
) -> None:
    with TestClient(events_app) as client:
        tenant = new_tenant(client, events_app, "fresh")
        with events_app.state.database.session() as session:
            catalog = create_meters(
                session, tenant.scope, {"calls": {"event_name": "call", "aggregation": {"type": "COUNT"}}}
            )
            feature = catalog.features["calls"]
            customer = create_customer(session, tenant.scope)
            grant = [{"feature_id": feature.id, "feature_type": "metered", "usage_reset_period": "MONTHLY"}]
            subscribe(
                session,
                tenant.scope,
                customer,
                create_plan(session, tenant.scope, grant),
                FROZEN_NOW - timedelta(days=3),
            )
        body = {"customer_id": customer.id, "feature_id": feature.id}

        def post(event_id: str) -> None:
            event = {
                "event_id": event_id,
                "event_name": "call",
                "external_customer_id": customer.external_id,
                "timestamp": (FROZEN_NOW - timedelta(minutes=1)).isoformat(),
            }
            response = tenant.post("/v1/events", event)
            assert response.status_code == 202, response.text

        assert _usage(tenant, body) == 0
        post("warm-up")  # the sink's first batch creates the warehouse: not what is measured
        assert _wait_for(tenant, body, 1, 60)
        for i in range(EVENTS):
            post(f"e{i}")
            assert _wait_for(tenant, body, i + 2, FRESHNESS_SECONDS), f"event {i} not visible within 1 s"
        post("e0")  # a re-sent id: a newer version of the same event, counted once
        time.sleep(FRESHNESS_SECONDS)
        assert _usage(tenant, body) == EVENTS + 1
    assert sink.poll() is None  # still running: the fixture stops it
