"""HubSpot tests: the API test catalog (SQLite, and PostgreSQL when marked) and a local HubSpot stub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot import HubSpot

from tests.api.conftest import app, client, database_url  # noqa: F401
from tests.support.hubspot_stub import HubSpotStub, running_stub


@pytest.fixture
def stub() -> Iterator[HubSpotStub]:
    with running_stub() as running:
        yield running


@pytest.fixture
def hubspot(stub: HubSpotStub) -> HubSpot:
    return HubSpot(access_token=stub.access_token, host=stub.url)
