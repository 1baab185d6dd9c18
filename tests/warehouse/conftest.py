from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flexprice_pipelines.warehouse.base import Warehouse
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.warehouse.shared import fresh_clickhouse


@pytest.fixture(params=["duckdb", "clickhouse"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    """Each warehouse test runs against real DuckDB and the real ClickHouse engine (chdb)."""
    store: Warehouse
    if request.param == "duckdb":
        store = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
        store.ensure_schema()
    else:
        store = fresh_clickhouse()
    yield store
