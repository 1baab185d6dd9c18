"""API fixtures for the entitlement routes: the API test app (frozen clock) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog.db import SQLITE_IMMEDIATE
from flexprice_pipelines.usage.service import EntitlementService
from flexprice_pipelines.usage.updater import UsageUpdater
from tests.api.conftest import (  # noqa: F401  (fixtures re-exported for this package)
    FROZEN_NOW,
    Tenant,
    app,
    client,
    database_url,
    new_tenant,
    other_tenant,
    tenant,
)


@pytest.fixture(autouse=True)
def uncached_service(app: FastAPI) -> None:  # noqa: F811
    # Tests change plans between requests; the production TTL would hide that.
    app.state.entitlement_service = EntitlementService(config_ttl=0)


@pytest.fixture
def db_session(app: FastAPI) -> Iterator[Session]:  # noqa: F811
    with app.state.database.session() as session:
        yield session


def ingest(app: FastAPI, events: list[Any]) -> int:  # noqa: F811
    """Apply events the way the sink's listener does: one write transaction."""
    with app.state.database.session() as session:
        session.connection(execution_options={SQLITE_IMMEDIATE: True})
        applied = UsageUpdater(config_ttl=0).apply(session, events)
        session.commit()
        return applied


__all__ = ["FROZEN_NOW", "Tenant", "datetime", "ingest", "new_tenant"]
