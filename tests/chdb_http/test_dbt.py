"""dbt-clickhouse (driver: http), unchanged, building and testing models through the chdb front."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from dbt.artifacts.schemas.run import RunExecutionResult
from dbt.cli.main import dbtRunner, dbtRunnerResult

from tests.support.chdb_http import ChdbHttpServer

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
COLUMNS = ["event_id", "customer_id", "quantity", "ts"]

PROJECT = {
    "dbt_project.yml": 'name: chdb_http_probe\nversion: "1.0"\nprofile: probe\nmodel-paths: ["models"]\n',
    "models/schema.yml": """
version: 2
sources:
  - name: raw
    schema: raw_dbt
    tables:
      - name: events
models:
  - name: events_inc
    columns:
      - name: event_id
        data_tests: [unique, not_null]
  - name: usage_totals
    columns:
      - name: customer_id
        data_tests: [unique, not_null]
""",
    "models/usage_totals.sql": """
{{ config(materialized='table', order_by='customer_id') }}
select customer_id, sum(quantity) as quantity, count() as events
from {{ source('raw', 'events') }}
group by customer_id
""",
    "models/events_inc.sql": """
{{ config(materialized='incremental', unique_key='event_id', order_by='event_id') }}
select event_id, customer_id, quantity, ts from {{ source('raw', 'events') }}
{% if is_incremental() %}
where ts > (select max(ts) from {{ this }})
{% endif %}
""",
}


def _event(i: int, minutes: int) -> tuple[str, str, Decimal, datetime]:
    return f"e{i}", f"c{i % 3}", Decimal(i) / 4, EPOCH + timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, chdb_server: ChdbHttpServer) -> Path:
    root = tmp_path_factory.mktemp("dbt_project")
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "profiles.yml").write_text(
        "probe:\n  target: dev\n  outputs:\n    dev:\n      type: clickhouse\n      driver: http\n"
        f"      host: 127.0.0.1\n      port: {chdb_server.port}\n      user: default\n      password: ''\n"
        "      schema: analytics_dbt\n      threads: 1\n"
    )
    return root


def _dbt(project: Path, *args: str) -> dbtRunnerResult:
    return dbtRunner().invoke(
        [*args, "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"]
    )


def _statuses(result: dbtRunnerResult) -> dict[str, str]:
    assert isinstance(result.result, RunExecutionResult), result.exception
    return {r.node.name: str(r.status) for r in result.result.results}


def test_run_incremental_twice_then_test_and_docs(project: Path, ch_client: Client) -> None:
    ch_client.command("CREATE DATABASE IF NOT EXISTS raw_dbt")
    ch_client.command(
        "CREATE TABLE raw_dbt.events (event_id String, customer_id String, quantity Decimal(38, 10), "
        "ts DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY ts"
    )
    ch_client.insert("raw_dbt.events", [_event(i, i) for i in range(10)], column_names=COLUMNS)

    first = _dbt(project, "run")
    assert first.success, first.exception
    assert ch_client.command("SELECT count() FROM analytics_dbt.events_inc") == 10
    totals = ch_client.query(
        "SELECT customer_id, quantity, events FROM analytics_dbt.usage_totals ORDER BY customer_id"
    )
    assert totals.result_rows == [
        ("c0", Decimal("4.5"), 4),  # events 0, 3, 6, 9
        ("c1", Decimal("3"), 3),  # 1, 4, 7
        ("c2", Decimal("3.75"), 3),  # 2, 5, 8
    ]

    # One new event after the high-water mark, one late event before it: only the incremental
    # branch (ts > max(ts)) skips the late one, so its absence proves that branch ran.
    ch_client.insert("raw_dbt.events", [_event(10, 100), _event(11, -5)], column_names=COLUMNS)
    second = _dbt(project, "run")
    assert second.success, second.exception
    ids = ch_client.query("SELECT event_id FROM analytics_dbt.events_inc ORDER BY event_id").result_columns[0]
    assert sorted(ids) == sorted([f"e{i}" for i in range(11)])
    assert ch_client.command("SELECT count() FROM analytics_dbt.usage_totals") == 3
    # the table model is rebuilt from all 12 raw events, late one included
    assert ch_client.command("SELECT sum(events) FROM analytics_dbt.usage_totals") == 12

    tested = _dbt(project, "test")
    assert tested.success, tested.exception
    assert _statuses(tested) == {
        "unique_events_inc_event_id": "pass",
        "not_null_events_inc_event_id": "pass",
        "unique_usage_totals_customer_id": "pass",
        "not_null_usage_totals_customer_id": "pass",
    }

    # the unique test really queries the table: a duplicate makes it fail
    ch_client.command(
        "INSERT INTO analytics_dbt.events_inc SELECT * FROM analytics_dbt.events_inc WHERE event_id = 'e1'"
    )
    failing = _dbt(project, "test", "--select", "events_inc")
    assert not failing.success
    assert _statuses(failing) == {
        "unique_events_inc_event_id": "fail",
        "not_null_events_inc_event_id": "pass",
    }

    docs = _dbt(project, "docs", "generate")
    assert docs.success, docs.exception
    catalog = json.loads((project / "target" / "catalog.json").read_text())
    columns = catalog["nodes"]["model.chdb_http_probe.usage_totals"]["columns"]
    assert {name: col["type"] for name, col in columns.items()} == {
        "customer_id": "String",
        "quantity": "Decimal(38, 10)",
        "events": "UInt64",
    }
