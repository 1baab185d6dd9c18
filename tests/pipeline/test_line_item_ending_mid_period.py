"""A usage line item that ends inside its billing period is billed only up to its end, by both engines.

The subscription period is [Jan 1, Feb 1) 2026; the API-calls line item ends Jan 25, so its usage window is
[Jan 1, Jan 25), invoiced in the 2026-02 partition (where the period ends) although the window ends in January.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from flexprice_pipelines.catalog import Scope
from flexprice_pipelines.catalog.models import (
    Customer,
    Meter,
    Plan,
    Price,
    SubscriptionLineItem,
)
from tests.pipeline.conftest import Billing, invoice_by_reason, utc

JAN_1 = utc(2026, 1, 1)
JAN_25 = utc(2026, 1, 25)
FEB_1 = utc(2026, 2, 1)
AFTER_GRACE = utc(2026, 2, 1, 3)  # default grace is 2 hours
ONE_US = timedelta(microseconds=1)


def _catalog(b: Billing, scope: Scope) -> dict[str, str]:
    """Monthly calendar subscription from Jan 1: 0.01 per API call (COUNT) and 0.50 per GB (SUM), in arrears.

    The API-calls line item ends on Jan 25; storage runs on.
    """
    customer = b.create(scope, Customer, external_id="acme", name="Acme")
    api = b.create(scope, Meter, event_name="api_call", name="API calls", aggregation={"type": "COUNT"})
    storage = b.create(
        scope, Meter, event_name="storage", name="Storage", aggregation={"type": "SUM", "field": "gb"}
    )
    plan = b.create(scope, Plan, name="Usage only")
    common = {
        "type": "USAGE",
        "billing_model": "FLAT_FEE",
        "invoice_cadence": "ARREAR",
        "currency": "usd",
        "billing_period": "MONTHLY",
        "entity_type": "PLAN",
        "entity_id": plan.id,
    }
    prices = {
        "api": b.create(scope, Price, amount=Decimal("0.01"), meter_id=api.id, **common),
        "storage": b.create(scope, Price, amount=Decimal("0.50"), meter_id=storage.id, **common),
    }
    sub = b.subscribe(scope, customer, plan, JAN_1, current_period_end=FEB_1, billing_cycle="calendar")
    ids = {"subscription": sub.id}
    names = {"api": "API calls", "storage": "Storage"}
    ends = {"api": JAN_25, "storage": None}
    for key, price in prices.items():
        item = b.create(
            scope,
            SubscriptionLineItem,
            subscription_id=sub.id,
            customer_id=customer.id,
            plan_id=plan.id,
            price_id=price.id,
            price_type="USAGE",
            meter_id=price.meter_id,
            display_name=names[key],
            currency="usd",
            billing_period="MONTHLY",
            invoice_cadence="ARREAR",
            end_date=ends[key],
        )
        ids[key] = item.id
    return ids


def _events(b: Billing, scope: Scope) -> None:
    rows: list[tuple[str, str, datetime, dict[str, Any]]] = []
    # API calls in [Jan 1, Jan 25): the start boundary, 120 mid-window, the last microsecond before Jan 25.
    rows += [("acme", "api_call", JAN_1, {})]
    rows += [("acme", "api_call", utc(2026, 1, 10, 9, i % 60), {}) for i in range(120)]
    rows += [("acme", "api_call", JAN_25 - ONE_US, {})]
    # API calls outside it: the end boundary itself, 30 on Jan 28, the period's last microsecond, the
    # period end (February's), and the last microsecond of December.
    rows += [("acme", "api_call", JAN_25, {})]
    rows += [("acme", "api_call", utc(2026, 1, 28, 14, i), {}) for i in range(30)]
    rows += [("acme", "api_call", FEB_1 - ONE_US, {}), ("acme", "api_call", FEB_1, {})]
    rows += [("acme", "api_call", JAN_1 - ONE_US, {})]
    # Storage in [Jan 1, Feb 1): on both sides of Jan 25 and on the boundaries.
    rows += [
        ("acme", "storage", JAN_1, {"gb": "1.5"}),
        ("acme", "storage", utc(2026, 1, 10), {"gb": "10"}),
        ("acme", "storage", JAN_25, {"gb": "2.25"}),
        ("acme", "storage", utc(2026, 1, 28), {"gb": "4"}),
        ("acme", "storage", FEB_1 - ONE_US, {"gb": "0.75"}),
    ]
    # Storage outside it.
    rows += [
        ("acme", "storage", JAN_1 - ONE_US, {"gb": "100"}),
        ("acme", "storage", FEB_1, {"gb": "100"}),
    ]
    b.events(scope, rows)


@pytest.mark.parametrize("engine", ["dbt", "python"])
def test_ended_line_item_billed_only_until_its_end(billing: Billing, engine: str) -> None:
    scope = billing.tenant("acme-corp")
    ids = _catalog(billing, scope)
    _events(billing, scope)

    result = billing.bill(scope, "2026-02", AFTER_GRACE, engine=engine)

    assert result.success
    inv = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)
    assert (inv.period_start, inv.period_end) == (JAN_1, FEB_1)
    assert inv.invoice_status == "FINALIZED"
    assert inv.invoice_number == "INV-202602-00001"
    # API calls (ended Jan 25), [Jan 1, Jan 25): 1 (Jan 1 00:00) + 120 + 1 (Jan 24 23:59:59.999999) = 122
    #   → 122 × 0.01 = 1.22  (the 32 calls in [Jan 25, Feb 1) would make it 154 → 1.54)
    # Storage (not ended), [Jan 1, Feb 1): 1.5 + 10 + 2.25 + 4 + 0.75 = 18.5 GB → 18.5 × 0.50 = 9.25
    # Subtotal 1.22 + 9.25 = 10.47; no coupon, credit or tax → total 10.47
    assert (
        inv.subtotal,
        inv.total_discount,
        inv.total_prepaid_credits_applied,
        inv.total_tax,
        inv.total,
    ) == (Decimal("10.47"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("10.47"))
    lines = {line.display_name: line for line in billing.lines(scope, inv.id)}
    assert {name: (line.quantity, line.amount) for name, line in lines.items()} == {
        "API calls": (Decimal(122), Decimal("1.22")),
        "Storage": (Decimal("18.5"), Decimal("9.25")),
    }
    assert (lines["API calls"].period_start, lines["API calls"].period_end) == (JAN_1, JAN_25)
    assert (lines["Storage"].period_start, lines["Storage"].period_end) == (JAN_1, FEB_1)
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks and all(checks.values()), checks
    usage_meta = result.asset_materializations_for_node("period_usage")[0].metadata
    assert usage_meta["engine"].value == engine
    assert usage_meta["events_counted"].value == 122 + 5
    if engine == "dbt":
        # The ended item's window is in the 2026-02 slice although it ends in January.
        with duckdb.connect(billing.warehouse_url.removeprefix("duckdb:///"), read_only=True) as con:
            windows = con.execute(
                "select line_item_id, period_key, window_end from fct_period_usage order by window_end"
            ).fetchall()
        assert [(item, key, end) for item, key, end in windows] == [
            (ids["api"], "2026-02", JAN_25),
            (ids["storage"], "2026-02", FEB_1),
        ]
