"""Webhook tests share the API test catalog (SQLite, and PostgreSQL when marked) and its tenants."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import app, client, database_url, other_tenant, tenant  # noqa: F401
from tests.integrations.webhooks.receiver import Receiver, running_receiver


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
