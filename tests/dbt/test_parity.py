"""fct_period_usage and fct_period_usage_buckets equal billing/meters.py on DuckDB and on ClickHouse (chdb).

Both engines run the same dbt project (dbt-duckdb; dbt-clickhouse over the chdb HTTP front) over the same
random events: every aggregation type, filters, re-sent ids that move in time, rename or change customer,
events exactly on window edges, JSON number literals, numeric strings, non-numeric values and booleans;
windows in UTC, at 14:30 Asia/Kolkata and anchored on Jan 31.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from flexprice_pipelines.billing.meters import AggregationType, Meter, aggregate, aggregate_buckets
from flexprice_pipelines.warehouse.billing_inputs import window_id
from tests.dbt import usage_data
from tests.dbt.conftest import CH_DATABASE, Dataset, duckdb_rows
from tests.dbt.dbt_harness import DbtProject

pytestmark = pytest.mark.slow

Key = str
Reader = Callable[[str], list[tuple[Any, ...]]]


def _reference(dataset: Dataset) -> tuple[dict[Key, Decimal | None], dict[tuple[Key, datetime], Decimal]]:
    latest = usage_data.reference_events(dataset.rows)
    by_id = {meter.id: meter for meter in dataset.meters}
    usage: dict[Key, Decimal | None] = {}
    buckets: dict[tuple[Key, datetime], Decimal] = {}
    for row in dataset.windows:
        window = row.window
        meter = by_id[window.meter_id]
        events = [
            e
            for e in latest[(row.tenant_id, row.environment_id)]
            if e["external_customer_id"] == window.external_customer_id
        ]
        start = window.usage_start or window.window_start
        key = window_id(row.tenant_id, row.environment_id, window)
        usage[key] = aggregate(meter, events, start, window.window_end)
        if meter.aggregation.bucket_size is not None:
            for bucket_start, value in aggregate_buckets(meter, events, start, window.window_end):
                buckets[(key, bucket_start)] = value
    return usage, buckets


def _close(actual: Decimal | None, expected: Decimal | None, meter: Meter) -> bool:
    # exact, digit for digit: AVG and WEIGHTED_SUM are rounded by one rule on every engine
    return actual == expected


def _check(dataset: Dataset, read: Reader, usage_table: str, bucket_table: str) -> None:
    expected_usage, expected_buckets = _reference(dataset)
    meter_of = {
        window_id(w.tenant_id, w.environment_id, w.window): next(
            m for m in dataset.meters if m.id == w.window.meter_id
        )
        for w in dataset.windows
    }
    actual_usage = dict(read(f"select window_id, quantity from {usage_table}"))
    assert set(actual_usage) == set(expected_usage)
    wrong = [
        (meter_of[key].id, key, actual_usage[key], expected)
        for key, expected in expected_usage.items()
        if not _close(actual_usage[key], expected, meter_of[key])
    ]
    assert not wrong, f"{len(wrong)} of {len(expected_usage)} windows differ, e.g. {wrong[:5]}"
    actual_buckets = {
        (key, start.astimezone(UTC)): value
        for key, start, value in read(f"select window_id, bucket_start, bucket_quantity from {bucket_table}")
    }
    assert actual_buckets == expected_buckets
    # the data must exercise what it claims to
    kinds = {
        meter_of[key].aggregation.type for key, value in expected_usage.items() if value not in (None, 0)
    }
    assert kinds == set(AggregationType)
    assert len(expected_buckets) > 50


def test_duckdb_equals_reference(dataset: Dataset, duckdb_project: DbtProject) -> None:
    _check(
        dataset, lambda sql: duckdb_rows(duckdb_project, sql), "fct_period_usage", "fct_period_usage_buckets"
    )


def test_clickhouse_equals_reference(
    dataset: Dataset, clickhouse_project: DbtProject, ch_client: Client
) -> None:
    def read(sql: str) -> list[tuple[Any, ...]]:
        return [
            tuple(row) for row in ch_client.query(sql.replace(" from ", f" from {CH_DATABASE}.")).result_rows
        ]

    _check(dataset, read, "fct_period_usage", "fct_period_usage_buckets")


def test_dbt_tests_pass_on_both_engines(duckdb_project: DbtProject, clickhouse_project: DbtProject) -> None:
    duckdb_project.invoke("test")
    clickhouse_project.invoke("test", "--exclude", "test_type:unit")
