"""A value no engine can count (outside DECIMAL(38, 18)) fails the blocking usage check, on every engine.

Rows that reached the warehouse anyway (written before the API refused them, or by any other path) are
injected as raw JSON text, so ``1e400`` reaches the SQL as written. DuckDB and ClickHouse (chdb behind its
HTTP interface) run the real dbt models; the Python engine the reference. Each must leave the values out
of the quantity (the storage line bills the 25.5 GB it can count, the same on every engine), never crash
the partition, and the check must fail naming the meter, the customer and every event id, which keeps
the invoice from being issued. A quantity with all 38 digits reaches rating exactly on every engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from flexprice_pipelines.catalog import Scope, db
from flexprice_pipelines.defs.billing.assets import USAGE_CHECK
from flexprice_pipelines.warehouse import make_warehouse
from tests.dbt.usage_data import arrow_table
from tests.pipeline.conftest import Billing, monthly_usage_plan, utc, worked_example_events
from tests.pipeline.test_clickhouse_end_to_end import clickhouse_url  # noqa: F401 (fixture)

AFTER_GRACE = utc(2026, 2, 1, 3)
# (event id, raw properties text): every one a number or numeric string outside DECIMAL(38, 18)
UNCOUNTABLE = [
    ("evt_huge", '{"gb": 1e400}'),
    ("evt_negative", '{"gb": -1e30}'),
    ("evt_string", '{"gb": "1e20"}'),
    ("evt_long", '{"gb": 0.1234567890123456789}'),
]
# counted by every engine: NaN / Infinity strings are not numbers, and the edge of the domain fits
COUNTABLE = [
    ("evt_nan", '{"gb": "NaN"}'),
    ("evt_infinity", '{"gb": "Infinity"}'),
    ("evt_edge", '{"gb": 0.000000000000000001}'),
]


def _inject(billing: Billing, scope: Scope, rows: list[tuple[str, str]]) -> None:
    raw: list[dict[str, Any]] = [
        {
            "tenant_id": scope.tenant_id,
            "environment_id": scope.environment_id,
            "event_id": event_id,
            "event_name": "storage",
            "external_customer_id": "acme",
            "customer_id": None,
            "timestamp": utc(2026, 1, 15),
            "source": "legacy",
            "properties_text": text,
            "ingested_at": utc(2026, 1, 16),
        }
        for event_id, text in rows
    ]
    warehouse = make_warehouse(billing.warehouse_url)
    warehouse.ensure_schema()
    warehouse.insert_arrow(arrow_table(raw))
    warehouse.close()


def _bill_with_uncountable_values(billing: Billing, engine: str) -> tuple[dg.ExecuteInProcessResult, Scope]:
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)
    _inject(billing, scope, UNCOUNTABLE + COUNTABLE)
    return billing.bill(scope, "2026-02", AFTER_GRACE, engine=engine, raise_on_error=False), scope


def _assert_check_names_every_value(
    billing: Billing, result: dg.ExecuteInProcessResult, scope: Scope
) -> None:
    usage = result.output_for_node("period_usage")
    # the countable values of the window are billed, on every engine: 12 + 13.5 + 1e-18
    storage = {row.quantity for row in usage.values() if row.quantity is not None and row.quantity < 100}
    assert storage == {Decimal("25.500000000000000001")}
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == USAGE_CHECK]
    assert not check.passed
    description = check.description or ""
    for event_id, _ in UNCOUNTABLE:
        assert event_id in description
    assert "customer acme" in description
    named = {row["event_id"] for row in check.metadata["uncountable_examples"].value}  # type: ignore[union-attr]
    assert named == {event_id for event_id, _ in UNCOUNTABLE}
    # blocking: nothing downstream of the usage ran
    assert billing.invoices(scope, billing_reason="SUBSCRIPTION_CYCLE") == []


@pytest.mark.parametrize("engine", ["dbt", "python"])
def test_uncountable_values_fail_the_usage_check_on_duckdb(billing: Billing, engine: str) -> None:
    result, scope = _bill_with_uncountable_values(billing, engine)
    _assert_check_names_every_value(billing, result, scope)


@pytest.fixture
def clickhouse_billing(tmp_path: Path, clickhouse_url: str) -> Iterator[Billing]:  # noqa: F811
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    db.migrate(url)
    with dg.instance_for_test() as instance:
        yield Billing(url, clickhouse_url, tmp_path / "io", instance)


def test_uncountable_values_fail_the_usage_check_on_clickhouse(clickhouse_billing: Billing) -> None:
    result, scope = _bill_with_uncountable_values(clickhouse_billing, "dbt")
    _assert_check_names_every_value(clickhouse_billing, result, scope)


LONG = "12345678901234567890.123456789012345678"  # 38 digits: the default 28-digit context rounded it


@pytest.mark.parametrize("engine", ["dbt", "python"])
def test_a_38_digit_quantity_reaches_rating_exactly(billing: Billing, engine: str) -> None:
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope)
    _inject(billing, scope, [("evt_long_sum", '{"gb": "' + LONG + '"}')])
    result = billing.bill(scope, "2026-02", AFTER_GRACE, engine=engine, raise_on_error=False)
    quantities = {row.quantity for row in result.output_for_node("period_usage").values()}
    assert Decimal(LONG) in quantities
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks[USAGE_CHECK]
