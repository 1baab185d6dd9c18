"""Both engines bill every aggregation digit for digit like billing/meters.py at the edges of DECIMAL(38, 18).

One window per (scenario, meter): half-cent averages (1.01 and 1.02 → 1.015, which a double makes
1.014999999999999872), thirds that never terminate (rounded to 18 decimals half away from zero), 18-decimal
values, values next to 1e19 and -1e19, products of SUM_WITH_MULTIPLIER with 36 decimals before rounding,
and values no engine can count (1e300, -1e30, "1e20", 19 decimals), which every engine leaves out. The
scenarios are hand-picked plus seeded random draws from the same edge values. A window whose sum leaves
DECIMAL(38, 18) fails the run on both engines and raises QuantityOverflow in the reference.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from flexprice_pipelines.billing.errors import QuantityOverflow
from flexprice_pipelines.billing.meters import Meter, aggregate, aggregate_buckets
from flexprice_pipelines.warehouse.billing_inputs import BillingWindow, window_id
from tests.dbt import usage_data
from tests.dbt.conftest import Dataset, build_clickhouse, build_duckdb, duckdb_rows
from tests.support.chdb_http import ChdbHttpServer

pytestmark = pytest.mark.slow

START, END = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)
TENANT, ENVIRONMENT = usage_data.TENANTS[0]
_METER_SPECS: list[dict[str, Any]] = [
    {"id": "count", "aggregation": {"type": "COUNT"}},
    {"id": "unique", "aggregation": {"type": "COUNT_UNIQUE", "field": "v"}},
    {"id": "sum", "aggregation": {"type": "SUM", "field": "v"}},
    {"id": "avg", "aggregation": {"type": "AVG", "field": "v"}},
    {"id": "min", "aggregation": {"type": "MIN", "field": "v"}},
    {"id": "max", "aggregation": {"type": "MAX", "field": "v"}},
    {"id": "latest", "aggregation": {"type": "LATEST", "field": "v"}},
    {"id": "weighted", "aggregation": {"type": "WEIGHTED_SUM", "field": "v"}},
    {"id": "mult", "aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": "v", "multiplier": "2.5"}},
    {
        "id": "mult_third",
        "aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": "v", "multiplier": "0.333333333333333333"},
    },
    {"id": "sum_hour", "aggregation": {"type": "SUM", "field": "v", "bucket_size": "HOUR"}},
    {"id": "max_day", "aggregation": {"type": "MAX", "field": "v", "bucket_size": "DAY"}},
]
# JSON text of a property value; strings are quoted here
# (1e400 is left to tests/pipeline/test_uncountable_values.py: ClickHouse cannot read any property of its event)
UNCOUNTABLE = ["1e300", "-1e30", '"1e20"', "100000000000000000000", "0.1234567890123456789", '"-1e-19"']
EDGES = [
    "1.01",
    "1.02",
    "1",
    "2",
    "-2",
    "0",
    "0.005",
    "0.000000000000000001",
    "-0.000000000000000001",
    "0.333333333333333333",
    "123.4567890123456789",
    '"9.999999999999999999"',
    "9999999999999999999.999999999999999999",
    "-9999999999999999999.999999999999999999",
    "1E+19",
    '"1e-18"',
    "100e-2",
    '"NaN"',
    '"Infinity"',
]
SCENARIOS: list[list[str]] = [
    ["1.01", "1.02"],  # AVG 1.015: the cent a double lost
    ["1", "0", "0"],  # thirds
    ["-2", "0", "0"],
    ["0.000000000000000001", "0"],  # half a unit of the 18th decimal: away from zero
    ["-0.000000000000000001", "0"],
    ["0.000000000000000001", "0", "0"],
    ["123.4567890123456789"],  # × 2.5 keeps 18 decimals (the old SQL cut the sum to 12)
    ["9999999999999999999.999999999999999999", "-9999999999999999999.999999999999999999", "1"],
    ["9999999999999999999.999999999999999999", "1E+19"],
    ["0.005", "0.005", "0.005"],
    ["1.01", "1e300", "1.02", "-1e30"],  # uncountable values are left out by every engine
    UNCOUNTABLE,
    ['"NaN"', '"Infinity"', "3"],
]


def _scenarios(seed: int, count: int) -> list[list[str]]:
    rng = random.Random(seed)
    drawn = [[rng.choice(EDGES + UNCOUNTABLE[:2]) for _ in range(rng.randint(1, 5))] for _ in range(count)]
    # two values of 1e19 magnitude would overflow SUM; keep one per scenario (overflow is tested below)
    return [s for s in drawn if sum(1 for v in s if "99999999" in v or "E+19" in v) <= 1]


def _dataset(scenarios: list[list[str]], meter_specs: list[dict[str, Any]]) -> Dataset:
    meters = [Meter.model_validate({"event_name": "api_call", **spec}) for spec in meter_specs]
    rng = random.Random(7)
    windows: list[usage_data.Window] = []
    rows: list[dict[str, Any]] = []
    for n, values in enumerate(scenarios):
        customer = f"s{n}"
        for meter in meters:
            assert meter.id is not None
            windows.append(
                usage_data.Window(
                    TENANT,
                    ENVIRONMENT,
                    BillingWindow(
                        subscription_id=f"sub_{customer}",
                        line_item_id=f"li_{customer}_{meter.id}",
                        price_id=f"price_{meter.id}",
                        meter_id=meter.id,
                        customer_id=f"cust_{customer}",
                        external_customer_id=customer,
                        window_start=START,
                        window_end=END,
                    ),
                )
            )
        for k, text in enumerate(values):
            # timestamps a third of the window apart make WEIGHTED_SUM's weights non-terminating
            offset = rng.choice([timedelta(0), (END - START) / 3, (END - START) * 2 / 3, timedelta(hours=k)])
            properties_text = '{"v": ' + text + "}"
            rows.append(
                {
                    "tenant_id": TENANT,
                    "environment_id": ENVIRONMENT,
                    "event_id": f"{customer}_e{k}",
                    "event_name": "api_call",
                    "external_customer_id": customer,
                    "customer_id": None,
                    "timestamp": START + offset,
                    "source": None,
                    "properties_text": properties_text,
                    "properties": json.loads(properties_text, parse_float=Decimal),
                    "ingested_at": datetime(2024, 4, 2, tzinfo=UTC) + timedelta(seconds=len(rows)),
                }
            )
    return Dataset(meters, windows, rows)


def _expected(dataset: Dataset) -> tuple[dict[str, Decimal | None], dict[tuple[str, datetime], Decimal]]:
    latest = usage_data.reference_events(dataset.rows)[(TENANT, ENVIRONMENT)]
    by_id = {meter.id: meter for meter in dataset.meters}
    usage: dict[str, Decimal | None] = {}
    buckets: dict[tuple[str, datetime], Decimal] = {}
    for row in dataset.windows:
        window, meter = row.window, by_id[row.window.meter_id]
        events = [e for e in latest if e["external_customer_id"] == window.external_customer_id]
        key = window_id(TENANT, ENVIRONMENT, window)
        usage[key] = aggregate(meter, events, window.window_start, window.window_end)
        if meter.aggregation.bucket_size is not None:
            for start, value in aggregate_buckets(meter, events, window.window_start, window.window_end):
                buckets[(key, start)] = value
    return usage, buckets


DATASET = _dataset(SCENARIOS + _scenarios(seed=11, count=60), _METER_SPECS)


def _check(read: Any) -> None:
    expected_usage, expected_buckets = _expected(DATASET)
    actual = dict(read("select window_id, quantity from fct_period_usage"))
    wrong = [
        (key, actual.get(key), value) for key, value in expected_usage.items() if actual.get(key) != value
    ]
    assert not wrong, f"{len(wrong)} of {len(expected_usage)} windows differ, e.g. {wrong[:5]}"
    actual_buckets = {
        (key, start.astimezone(UTC)): value
        for key, start, value in read(
            "select window_id, bucket_start, bucket_quantity from fct_period_usage_buckets"
        )
    }
    assert actual_buckets == expected_buckets
    # the edges are exercised: long fractions, non-terminating quotients and huge magnitudes billed
    assert Decimal("1.015") in expected_usage.values()
    assert Decimal("0.333333333333333333") in expected_usage.values()
    assert any(v is not None and abs(v) > Decimal("1e19") for v in expected_usage.values())


def test_duckdb_is_exact_at_the_edges(tmp_path: Path) -> None:
    project = build_duckdb(DATASET, tmp_path)
    _check(lambda sql: duckdb_rows(project, sql))


def test_clickhouse_is_exact_at_the_edges(
    tmp_path: Path, chdb_server: ChdbHttpServer, ch_client: Client
) -> None:
    database = "flexprice_exact"
    build_clickhouse(DATASET, chdb_server, ch_client, database, tmp_path)

    def read(sql: str) -> list[tuple[Any, ...]]:
        return [
            tuple(row) for row in ch_client.query(sql.replace(" from ", f" from {database}.")).result_rows
        ]

    _check(read)


OVERFLOWS = [
    (
        {"id": "sum", "aggregation": {"type": "SUM", "field": "v"}},
        ["60000000000000000000", "60000000000000000000"],
    ),
    (
        {"id": "mult", "aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": "v", "multiplier": "2"}},
        ["60000000000000000000"],
    ),
    (
        {"id": "sum_hour", "aggregation": {"type": "SUM", "field": "v", "bucket_size": "HOUR"}},
        ["60000000000000000000", "60000000000000000000"],
    ),
]


@pytest.mark.parametrize(("spec", "values"), OVERFLOWS, ids=[spec["id"] for spec, _ in OVERFLOWS])
def test_a_sum_outside_decimal_38_18_fails_every_engine(
    tmp_path: Path, chdb_server: ChdbHttpServer, ch_client: Client, spec: dict[str, Any], values: list[str]
) -> None:
    dataset = _dataset([values], [spec])
    with pytest.raises(QuantityOverflow):
        _expected(dataset)
    with pytest.raises(AssertionError, match=r"outside|[Oo]verflow"):
        build_duckdb(dataset, tmp_path / "duckdb")
    with pytest.raises(AssertionError, match=r"outside|[Oo]verflow"):
        build_clickhouse(dataset, chdb_server, ch_client, f"flexprice_overflow_{spec['id']}", tmp_path / "ch")
