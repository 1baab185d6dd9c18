"""Store selection by URL and DuckDB's one-writer-process rule."""

from __future__ import annotations

import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from flexprice_pipelines.warehouse import make_warehouse
from flexprice_pipelines.warehouse.clickhouse_store import ClickHouseWarehouse
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse, WarehouseBusy
from tests.warehouse.shared import billed_totals, chdb_client, chdb_path, make_event

_HOLD_LOCK = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
conn.execute("CREATE TABLE IF NOT EXISTS held (x INT)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.close()
"""


def _hold_lock(path: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_duckdb_url_opens_the_file_per_call(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "warehouse.duckdb"
    warehouse = make_warehouse(f"duckdb:///{path}")
    assert isinstance(warehouse, DuckDBWarehouse) and warehouse.path == str(path)
    warehouse.ensure_schema()
    warehouse.insert_events([make_event("e1", Decimal("2.5"))])
    # Nothing is held open: another process can take the write lock right away.
    holder = _hold_lock(path, 0)
    assert holder.wait(timeout=30) == 0


def test_duckdb_waits_for_another_writer_process(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb", lock_timeout=30)
    warehouse.ensure_schema()
    holder = _hold_lock(tmp_path / "w.duckdb", 1.5)
    started = time.monotonic()
    warehouse.insert_events([make_event("e1", Decimal(3))])
    assert time.monotonic() - started >= 0.5
    assert holder.wait(timeout=30) == 0
    assert billed_totals(warehouse) == (1, Decimal(3))


def test_duckdb_gives_up_after_the_lock_timeout(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb", lock_timeout=0.3)
    warehouse.ensure_schema()
    holder = _hold_lock(tmp_path / "w.duckdb", 5)
    try:
        with pytest.raises(WarehouseBusy, match="stayed locked"):
            warehouse.insert_events([make_event("e1", Decimal(3))])
    finally:
        holder.kill()
        holder.wait()


def test_chdb_url_selects_clickhouse_and_creates_the_production_table() -> None:
    warehouse = make_warehouse(f"chdb://{chdb_path()}")
    assert isinstance(warehouse, ClickHouseWarehouse) and warehouse.database == "default"
    warehouse.ensure_schema()
    engine, partition_key, sorting_key = warehouse.query(
        "SELECT engine_full, partition_key, sorting_key FROM system.tables "
        "WHERE database = 'default' AND name = 'raw_events'"
    )[0]
    assert engine.startswith("ReplacingMergeTree(ingested_at)")
    assert partition_key == "toYYYYMM(timestamp)"
    assert sorting_key == "tenant_id, environment_id, external_customer_id, timestamp, event_id"


def test_clickhouse_database_name_is_checked() -> None:
    with pytest.raises(ValueError, match="invalid ClickHouse database name"):
        ClickHouseWarehouse(chdb_client(), database="x; DROP TABLE y")


def test_unknown_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported warehouse URL"):
        make_warehouse("postgres://localhost/db")
