"""Fixtures for the events routes over HTTP: a migrated SQLite catalog per session, an app per test with its
own data directory (so its own outbox), a clock that advances one second per request, and tenants."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import now
from flexprice_pipelines.catalog import db
from flexprice_pipelines.events.outbox import connect_outbox
from flexprice_pipelines.settings import Settings
from tests.api.conftest import Tenant, new_tenant
from tests.events.conftest import kafka_bootstrap  # noqa: F401  (the real Tansu broker, one per session)

FROZEN_NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def catalog_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('events-api') / 'catalog.db'}"
    db.migrate(url)
    return url


def make_app(catalog_url: str, home: Path, **settings: str) -> FastAPI:
    """An app on the session catalog whose bus lives in ``home``; request n is received at FROZEN_NOW + n s."""
    app = create_app(Settings(database_url=catalog_url, home=home, **settings))  # type: ignore[arg-type]
    ticks = itertools.count()
    app.dependency_overrides[now] = lambda: FROZEN_NOW + timedelta(seconds=next(ticks))
    return app


@pytest.fixture
def app(catalog_url: str, tmp_path: Path) -> FastAPI:
    return make_app(catalog_url, tmp_path / "home")


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client  # the lifespan closes the app's bus


@pytest.fixture
def tenant(client: TestClient, app: FastAPI) -> Tenant:
    return new_tenant(client, app, "tenant-a")


@pytest.fixture
def other_tenant(client: TestClient, app: FastAPI) -> Tenant:
    return new_tenant(client, app, "tenant-b")


def outbox_rows(app: FastAPI) -> list[bytes]:
    """Every payload on the app's outbox, in order (none if the outbox was never created)."""
    path = app.state.settings.home / "outbox.db"
    if not path.exists():
        return []
    conn = connect_outbox(path)
    try:
        return [row[0] for row in conn.execute("SELECT payload FROM outbox ORDER BY seq")]
    finally:
        conn.close()
