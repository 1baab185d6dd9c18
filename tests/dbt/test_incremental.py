"""The incremental models really run incrementally, on DuckDB and on ClickHouse (chdb).

fct_meter_usage_daily: a second run after new versions (a re-sent id moving to another day, a new event)
rewrites only the touched (tenant, environment, day) slices — untouched rows keep the first run's
dbt_invocation_id — and the table still equals the reference. fct_period_usage: a run with partition vars
replaces exactly its slice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from clickhouse_connect.driver.client import Client

from flexprice_pipelines.billing.meters import AggregationType, event_matches, event_value
from flexprice_pipelines.warehouse.billing_inputs import write_billing_windows
from tests.dbt import usage_data
from tests.dbt.conftest import Dataset, build_clickhouse, build_duckdb
from tests.dbt.dbt_harness import DbtProject
from tests.support.chdb_http import ChdbHttpServer

pytestmark = pytest.mark.slow

DailyKey = tuple[str, str, str, str, date]
# the daily rollup reads no value for counting meters
_COUNTED = {AggregationType.COUNT, AggregationType.COUNT_UNIQUE}


@dataclass
class Engine:
    """One built warehouse and how to read from and write to it."""

    project: DbtProject
    read: Callable[[str], list[tuple[Any, ...]]]
    append_events: Callable[[list[dict[str, Any]]], None]
    write_target: Any
    write_kwargs: dict[str, Any]


@pytest.fixture(params=["duckdb", "clickhouse"])
def engine(
    request: pytest.FixtureRequest,
    dataset: Dataset,
    tmp_path: Path,
    chdb_server: ChdbHttpServer,
    ch_client: Client,
) -> Iterator[Engine]:
    if request.param == "duckdb":
        project = build_duckdb(dataset, tmp_path)
        path = project.env["FLEXPRICE_DUCKDB_PATH"]

        def read(sql: str) -> list[tuple[Any, ...]]:
            with duckdb.connect(path) as conn:
                return conn.execute(sql).fetchall()

        def append(rows: list[dict[str, Any]]) -> None:
            with duckdb.connect(path) as conn:
                conn.register("incoming", usage_data.arrow_table(rows))
                conn.execute("INSERT INTO raw_events SELECT * FROM incoming")

        conn = duckdb.connect(path)
        yield Engine(project, read, append, conn, {})
        conn.close()
        return
    database = f"inc_{request.node.name.split('[')[0][-20:]}".replace("-", "_")
    ch_client.command(f"DROP DATABASE IF EXISTS {database}")
    project = build_clickhouse(dataset, chdb_server, ch_client, database, tmp_path)

    def ch_read(sql: str) -> list[tuple[Any, ...]]:
        return [
            tuple(row) for row in ch_client.query(sql.replace(" from ", f" from {database}.")).result_rows
        ]

    def ch_append(rows: list[dict[str, Any]]) -> None:
        ch_client.insert_arrow(f"{database}.raw_events", usage_data.arrow_table(rows))

    yield Engine(project, ch_read, ch_append, ch_client, {"database": database})
    ch_client.command(f"DROP DATABASE IF EXISTS {database}")


def _reference_daily(
    dataset: Dataset, rows: list[dict[str, Any]]
) -> dict[DailyKey, tuple[int, Decimal | None]]:
    totals: dict[DailyKey, list[Any]] = defaultdict(lambda: [0, None])
    for (tenant_id, environment_id), events in usage_data.reference_events(rows).items():
        for meter in dataset.meters:
            assert meter.id is not None
            for event in (e for e in events if event_matches(meter, e)):
                key = (
                    tenant_id,
                    environment_id,
                    meter.id,
                    event["external_customer_id"],
                    event["timestamp"].astimezone(UTC).date(),
                )
                total = totals[key]
                total[0] += 1
                value = event_value(meter, event) if meter.aggregation.type not in _COUNTED else None
                if value is not None:
                    total[1] = value if total[1] is None else total[1] + value
    return {key: (count, value_sum) for key, (count, value_sum) in totals.items()}


def _daily(engine: Engine) -> dict[DailyKey, tuple[int, Decimal | None, str]]:
    rows = engine.read(
        "select tenant_id, environment_id, meter_id, external_customer_id, usage_date, event_count, value_sum,"
        " dbt_invocation_id from fct_meter_usage_daily"
    )
    return {(t, e, m, c, d): (int(n), s, inv) for t, e, m, c, d, n, s, inv in rows}


def test_daily_usage_recomputes_only_touched_days(dataset: Dataset, engine: Engine) -> None:
    before = _daily(engine)
    assert {key: value[:2] for key, value in before.items()} == _reference_daily(dataset, dataset.rows)
    (first_run,) = {value[2] for value in before.values()}

    watermark = max(row["ingested_at"] for row in dataset.rows)
    latest = {
        (r["tenant_id"], r["event_id"]): r for r in sorted(dataset.rows, key=lambda r: r["ingested_at"])
    }
    moved = next(r for r in latest.values() if r["tenant_id"] == "t1" and r["event_name"] == "api_call")
    new_rows = [
        {
            **moved,
            "timestamp": moved["timestamp"] + timedelta(days=9),
            "ingested_at": watermark + timedelta(seconds=1),
        },
        {
            **moved,
            "event_id": "brand_new",
            "timestamp": datetime(2024, 3, 20, 8, tzinfo=UTC),
            "ingested_at": watermark + timedelta(seconds=2),
        },
    ]
    engine.append_events(new_rows)
    engine.project.invoke("run", "--select", "fct_meter_usage_daily")

    all_rows = dataset.rows + new_rows
    after = _daily(engine)
    assert {key: value[:2] for key, value in after.items()} == _reference_daily(dataset, all_rows)
    # touched: every day any version of an id ingested at or after the previous watermark sat on
    fresh_ids = {
        (r["tenant_id"], r["environment_id"], r["event_id"])
        for r in all_rows
        if r["ingested_at"] >= watermark
    }
    touched = {
        (r["tenant_id"], r["environment_id"], r["timestamp"].astimezone(UTC).date())
        for r in all_rows
        if (r["tenant_id"], r["environment_id"], r["event_id"]) in fresh_ids
    }
    rewritten = {key for key, value in after.items() if value[2] != first_run}
    assert rewritten == {key for key in after if key[:2] + key[4:] in touched}
    assert rewritten and len(rewritten) < len(after) / 4
    old_day = moved["timestamp"].astimezone(UTC).date()
    assert (
        any(key[4] == old_day for key in before)
        and (moved["tenant_id"], moved["environment_id"], old_day) in touched
    )


def test_partition_run_replaces_exactly_its_slice(dataset: Dataset, engine: Engine) -> None:
    before = {
        row[0]: row[1:]
        for row in engine.read(
            "select window_id, period_key, tenant_id, dbt_invocation_id from fct_period_usage"
        )
    }
    t1_march = [w.window for w in dataset.windows if w.tenant_id == "t1" and w.period_key == "2024-03"]
    kept = [w for w in t1_march if w.meter_id != "m_count"]
    write_billing_windows(engine.write_target, "t1", "prod", "2024-03", kept, **engine.write_kwargs)

    engine.project.invoke(
        "run",
        "--select",
        "+fct_period_usage",
        vars={"tenant_id": "t1", "environment_id": "prod", "period": "2024-03"},
    )

    after = {
        row[0]: row[1:]
        for row in engine.read(
            "select window_id, period_key, tenant_id, dbt_invocation_id from fct_period_usage"
        )
    }
    in_slice = {key for key, (period, tenant, _) in before.items() if (period, tenant) == ("2024-03", "t1")}
    dropped = len(t1_march) - len(kept)
    assert dropped > 0 and len(after) == len(before) - dropped
    for key, (period, tenant, invocation) in after.items():
        assert (invocation != before[key][2]) == (key in in_slice), (period, tenant)
