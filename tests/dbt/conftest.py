"""One warehouse per engine, loaded with the same random events, meters and windows; dbt built on both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import clickhouse_connect
import duckdb
import pytest
from clickhouse_connect.driver.client import Client

from flexprice_pipelines.billing.meters import Meter
from flexprice_pipelines.warehouse.billing_inputs import (
    MeterFeature,
    ensure_billing_inputs,
    write_billing_meters,
    write_billing_windows,
)
from flexprice_pipelines.warehouse.clickhouse_store import ClickHouseWarehouse
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.dbt import usage_data
from tests.dbt.dbt_harness import DbtProject
from tests.support.chdb_http import ChdbHttpServer
from tests.warehouse.shared import chdb_path

CH_DATABASE = "flexprice_dbt"


@dataclass
class Dataset:
    """What was loaded into both warehouses."""

    meters: list[Meter]
    windows: list[usage_data.Window]
    rows: list[dict[str, Any]]


def _edges(windows: list[usage_data.Window]) -> list[datetime]:
    moments = {w.window.window_start for w in windows} | {w.window.window_end for w in windows}
    return sorted(moments)


@pytest.fixture(scope="package")
def dataset() -> Dataset:
    meters = usage_data.meters()
    windows = usage_data.windows(meters)
    return Dataset(meters, windows, usage_data.events(seed=20240317, count=700, edges=_edges(windows)))


def _load_inputs(target: Any, dataset: Dataset, **kwargs: Any) -> None:
    ensure_billing_inputs(target, **kwargs)
    features = {"m_sum": MeterFeature("f_tokens", "Tokens")}
    for tenant_id, environment_id in usage_data.TENANTS:
        write_billing_meters(target, tenant_id, environment_id, dataset.meters, features, **kwargs)
        scoped = [
            w for w in dataset.windows if (w.tenant_id, w.environment_id) == (tenant_id, environment_id)
        ]
        for period in sorted({w.period_key for w in scoped}):
            slice_ = [w.window for w in scoped if w.period_key == period]
            write_billing_windows(target, tenant_id, environment_id, period, slice_, **kwargs)


def build_duckdb(dataset: Dataset, work: Path) -> DbtProject:
    """A DuckDB warehouse file loaded with ``dataset`` and built with ``dbt run``."""
    path = work / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path)
    warehouse.ensure_schema()
    with warehouse.connect() as conn:
        conn.register("incoming", usage_data.arrow_table(dataset.rows))
        conn.execute("INSERT INTO raw_events SELECT * FROM incoming")
        _load_inputs(conn, dataset)
    project = DbtProject("duckdb", {"FLEXPRICE_DUCKDB_PATH": str(path)}, work)
    project.invoke("run")
    return project


@pytest.fixture(scope="package")
def duckdb_project(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    return build_duckdb(dataset, tmp_path_factory.mktemp("dbt_duckdb"))


def duckdb_rows(project: DbtProject, sql: str) -> list[tuple[Any, ...]]:
    """Read the DuckDB warehouse of ``project``."""
    with duckdb.connect(project.env["FLEXPRICE_DUCKDB_PATH"]) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(sql).fetchall()


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


def build_clickhouse(
    dataset: Dataset, server: ChdbHttpServer, client: Client, database: str, work: Path
) -> DbtProject:
    """A ClickHouse database (chdb) loaded with ``dataset`` in several parts and built with ``dbt run``."""
    ClickHouseWarehouse(client, database=database).ensure_schema()
    # several inserts → several parts: de-duplication must not depend on merges
    table = usage_data.arrow_table(dataset.rows)
    for offset in range(0, table.num_rows, 250):
        client.insert_arrow(f"{database}.raw_events", table.slice(offset, 250))
    _load_inputs(client, dataset, database=database)
    env = {
        "FLEXPRICE_CLICKHOUSE_HOST": "127.0.0.1",
        "FLEXPRICE_CLICKHOUSE_PORT": str(server.port),
        "FLEXPRICE_CLICKHOUSE_DATABASE": database,
    }
    project = DbtProject("clickhouse", env, work)
    project.invoke("run")
    return project


@pytest.fixture(scope="package")
def clickhouse_project(
    dataset: Dataset, chdb_server: ChdbHttpServer, ch_client: Client, tmp_path_factory: pytest.TempPathFactory
) -> DbtProject:
    return build_clickhouse(dataset, chdb_server, ch_client, CH_DATABASE, tmp_path_factory.mktemp("dbt_ch"))
