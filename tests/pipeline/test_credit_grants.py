"""Recurring credit grants land in the wallet (once per period) before the invoice is finalized."""

from __future__ import annotations

from decimal import Decimal

from flexprice_pipelines.catalog import Repository
from flexprice_pipelines.catalog.models import CreditGrant, CreditGrantApplication
from tests.pipeline.conftest import Billing, invoice_by_reason, monthly_usage_plan, utc, worked_example_events


def test_recurring_grant_is_applied_once_per_period_and_spent_at_finalization(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    ids = monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)
    billing.create(
        scope,
        CreditGrant,
        name="Monthly credits",
        scope="SUBSCRIPTION",
        subscription_id=ids["subscription"],
        credits=Decimal(10),
        currency="usd",
        cadence="RECURRING",
        period="MONTHLY",
        period_count=1,
    )

    for _ in range(2):
        assert billing.bill(scope, "2026-02", utc(2026, 2, 1, 3)).success

    with billing.session() as session:
        applied = Repository(session, scope, CreditGrantApplication).list()
    assert sorted(a.period_start for a in applied.items) == [utc(2026, 1, 1), utc(2026, 2, 1)]
    inv = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", utc(2026, 2, 1))
    # 25 prepaid + 2 × 10 granted = 45 available; usage lines after the coupon are 12.60 + 13.50 + 0.45.
    assert (inv.total_prepaid_credits_applied, inv.total) == (Decimal("26.55"), Decimal("50.37"))
    assert billing.wallet_balance(scope, ids["wallet"]) == Decimal("18.45")
