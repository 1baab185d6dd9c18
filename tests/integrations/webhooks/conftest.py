"""Webhook tests share the API test catalog (SQLite, and PostgreSQL when marked) and its tenants."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from flexprice_pipelines.integrations.destinations import DestinationPolicy
from tests.api.conftest import app, client, database_url, other_tenant, tenant  # noqa: F401
from tests.integrations.webhooks.receiver import Receiver, running_receiver

# The receivers listen on 127.0.0.1: these tests allow loopback explicitly, as development does.
LOOPBACK = DestinationPolicy(allow_loopback=True)


@pytest.fixture
def loopback_endpoints(app: FastAPI) -> Iterator[None]:  # noqa: F811
    """The API accepts loopback endpoint URLs (``FLEXPRICE_WEBHOOKS_ALLOW_LOOPBACK``) in this test."""
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"webhooks_allow_loopback": True})
    try:
        yield
    finally:
        app.state.settings = settings


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def other_receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as http_client:
        yield http_client
