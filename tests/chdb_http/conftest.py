"""One chdb HTTP front for the whole package: chdb opens one data directory per process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client

from tests.support.chdb_http import ChdbHttpServer
from tests.warehouse.shared import chdb_path


@pytest.fixture(scope="package")
def chdb_server() -> Iterator[ChdbHttpServer]:
    # The process's one chdb data directory (chdb opens one per process, and the event and warehouse
    # tests' in-process engine may already hold it when pytest-xdist runs this package after them).
    with ChdbHttpServer(chdb_path()) as server:
        yield server


@pytest.fixture(scope="package")
def ch_client(chdb_server: ChdbHttpServer) -> Iterator[Client]:
    client = clickhouse_connect.get_client(host="127.0.0.1", port=chdb_server.port, tz_mode="aware")
    yield client
    client.close()


@pytest.fixture
def table_name() -> str:
    """A fresh table name, so tests never see each other's rows."""
    return f"t_{uuid.uuid4().hex[:12]}"
