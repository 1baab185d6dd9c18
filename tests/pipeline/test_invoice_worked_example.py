"""The worked example, billed end to end through the Dagster assets and checked to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.pipeline.conftest import Billing, invoice_by_reason, monthly_usage_plan, utc, worked_example_events

FEB_1 = utc(2026, 2, 1)
AFTER_GRACE = utc(2026, 2, 1, 3)  # default grace is 2 hours


@pytest.mark.parametrize("engine", ["dbt", "python"])
def test_cycle_invoice_to_the_cent(billing: Billing, engine: str) -> None:
    scope = billing.tenant("acme-corp")
    ids = monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)

    result = billing.bill(scope, "2026-02", AFTER_GRACE, engine=engine)

    assert result.success
    inv = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)
    # API calls: 1,600 − 100 included = 1,500 → 1,000 × 0.01 + 500 × 0.008 = 14.00 (SLAB)
    # Storage: 25.5 GB → ceil(25.5 / 10) = 3 packages × 5 = 15.00; Emails: 250 × 0.002 = 0.50
    # Platform fee for the NEXT period (ADVANCE): 49.00 → subtotal 78.50
    # 10 % coupon 7.85; wallet 25.00 on usage lines; tax 8.875 % of 70.65 = 6.27; total 51.92
    assert (
        inv.subtotal,
        inv.total_discount,
        inv.total_prepaid_credits_applied,
        inv.total_tax,
        inv.total,
    ) == (
        Decimal("78.50"),
        Decimal("7.85"),
        Decimal("25.00"),
        Decimal("6.27"),
        Decimal("51.92"),
    )
    assert inv.invoice_status == "FINALIZED"
    assert inv.invoice_number == "INV-202602-00001"
    assert (inv.period_start, inv.period_end) == (utc(2026, 1, 1), FEB_1)
    lines = {line.display_name: line for line in billing.lines(scope, inv.id)}
    assert {name: (line.quantity, line.amount) for name, line in lines.items()} == {
        "API calls": (Decimal(1500), Decimal("14.00")),
        "Storage": (Decimal("25.5"), Decimal("15.00")),
        "Emails": (Decimal(250), Decimal("0.50")),
        "Platform fee": (Decimal(1), Decimal("49.00")),
    }
    assert (lines["Platform fee"].period_start, lines["Platform fee"].period_end) == (FEB_1, utc(2026, 3, 1))
    assert lines["API calls"].metadata_["usage"] == "1600"
    # The wallet was debited atomically with the finalization, once.
    assert billing.wallet_balance(scope, ids["wallet"]) == Decimal(0)
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks and all(checks.values()), checks
    assert "raw_events_counted_into_usage" in checks
    usage_meta = result.asset_materializations_for_node("period_usage")[0].metadata
    assert usage_meta["engine"].value == engine
    assert usage_meta["events_counted"].value == 1600 + 2 + 250


def test_three_reruns_give_identical_invoices(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    ids = monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)

    snapshots = []
    for _ in range(3):
        assert billing.bill(scope, "2026-02", AFTER_GRACE).success
        snapshots.append(billing.snapshot(scope))

    assert snapshots[0] == snapshots[1] == snapshots[2]
    assert [row[1] for row in snapshots[0]] == ["INV-202602-00001"]
    assert billing.wallet_balance(scope, ids["wallet"]) == Decimal(0)


def test_create_invoice_bills_first_period_in_advance(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope)

    assert billing.bill(scope, "2026-01", utc(2026, 1, 1, 3)).success

    inv = invoice_by_reason(billing, scope, "SUBSCRIPTION_CREATE", FEB_1)
    # 49.00 − 10 % = 44.10; wallet credit pays usage only; tax 8.875 % of 44.10 = 3.91
    assert (inv.subtotal, inv.total_discount, inv.total_prepaid_credits_applied, inv.total) == (
        Decimal("49.00"),
        Decimal("4.90"),
        Decimal("0.00"),
        Decimal("48.01"),
    )
    assert inv.invoice_number == "INV-202601-00001"
