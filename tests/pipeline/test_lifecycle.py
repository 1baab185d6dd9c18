"""Invoice lifecycle through the assets: drafts in grace, finalization, SKIPPED, reissue, late events."""

from __future__ import annotations

from decimal import Decimal

import dagster as dg
import pytest

from flexprice_pipelines.catalog.models import (
    Customer,
    Meter,
    Plan,
    Price,
    SubscriptionLineItem,
)
from tests.pipeline.conftest import Billing, invoice_by_reason, monthly_usage_plan, utc, worked_example_events

FEB_1 = utc(2026, 2, 1)
MAR_1 = utc(2026, 3, 1)


def _more_api_calls(billing: Billing, scope, count: int, *, ingested) -> None:  # type: ignore[no-untyped-def]
    billing.events(
        scope,
        [("acme", "api_call", utc(2026, 1, 31, 20, i % 60), {}) for i in range(count)],
        ingested_at=ingested,
    )


def test_draft_is_recomputed_in_grace_then_finalized(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    ids = monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)

    assert billing.bill(scope, "2026-02", utc(2026, 2, 1, 1)).success
    draft = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)
    assert (draft.invoice_status, draft.invoice_number, draft.subtotal) == ("DRAFT", None, Decimal("78.50"))
    assert billing.wallet_balance(scope, ids["wallet"]) == Decimal(25)  # drafts never spend credit

    # 100 late events arrive while the invoice is still a draft: the next run picks them up.
    _more_api_calls(billing, scope, 100, ingested=utc(2026, 2, 1, 1, 10))
    assert billing.bill(scope, "2026-02", utc(2026, 2, 1, 1, 30)).success
    again = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)
    assert (again.id, again.invoice_status, again.subtotal) == (draft.id, "DRAFT", Decimal("79.30"))

    assert billing.bill(scope, "2026-02", utc(2026, 2, 1, 2)).success  # exactly end + grace
    final = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)
    assert (final.id, final.invoice_status, final.invoice_number) == (
        draft.id,
        "FINALIZED",
        "INV-202602-00001",
    )
    assert final.subtotal == Decimal("79.30")
    assert billing.wallet_balance(scope, ids["wallet"]) == Decimal(0)


def test_period_not_ended_is_not_billed(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope)
    assert billing.bill(scope, "2026-02", utc(2026, 1, 31, 23)).success
    assert billing.invoices(scope, billing_reason="SUBSCRIPTION_CYCLE") == []


def test_zero_subtotal_cycle_invoice_is_skipped_without_a_number(billing: Billing) -> None:
    scope = billing.tenant("quiet")
    customer = billing.create(scope, Customer, external_id="quiet", name="Quiet")
    meter = billing.create(scope, Meter, event_name="api_call", name="API", aggregation={"type": "COUNT"})
    plan = billing.create(scope, Plan, name="Usage only")
    price = billing.create(
        scope,
        Price,
        type="USAGE",
        billing_model="FLAT_FEE",
        amount=Decimal(1),
        currency="usd",
        billing_period="MONTHLY",
        invoice_cadence="ARREAR",
        meter_id=meter.id,
        entity_type="PLAN",
        entity_id=plan.id,
    )
    start = utc(2026, 1, 1)
    sub = billing.subscribe(scope, customer, plan, start, current_period_end=FEB_1)
    billing.create(
        scope,
        SubscriptionLineItem,
        subscription_id=sub.id,
        customer_id=customer.id,
        price_id=price.id,
        meter_id=meter.id,
        price_type="USAGE",
        currency="usd",
        billing_period="MONTHLY",
        invoice_cadence="ARREAR",
    )
    for now in (utc(2026, 2, 1, 1), utc(2026, 2, 1, 3), utc(2026, 2, 2)):
        assert billing.bill(scope, "2026-02", now).success
    inv = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)
    assert (inv.invoice_status, inv.invoice_number, inv.subtotal, inv.total) == (
        "SKIPPED",
        None,
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert inv.finalized_at == utc(2026, 2, 1, 3)  # settled once, after grace, never touched again
    assert billing.invoices(scope, invoice_status="FINALIZED") == []


def test_finalized_invoice_changes_only_through_reissue(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    ids = monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)
    assert billing.bill(scope, "2026-02", utc(2026, 2, 1, 3)).success
    original = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)

    _more_api_calls(billing, scope, 500, ingested=utc(2026, 2, 3))
    assert billing.bill(scope, "2026-02", utc(2026, 2, 4)).success  # a normal run never rewrites it
    assert billing.snapshot(scope)[0][:8] == (
        original.id,
        "INV-202602-00001",
        "FINALIZED",
        Decimal("78.50"),
        Decimal("7.85"),
        Decimal("25.00"),
        Decimal("6.27"),
        Decimal("51.92"),
    )

    reissue = {"ops": {"invoices": {"config": {"reissue": True, "reason": "late January events"}}}}
    for _ in range(2):  # a second reissue run finds nothing left to change
        assert billing.bill(scope, "2026-02", utc(2026, 2, 5), run_config=reissue).success

    voided = billing.invoices(scope, invoice_status="VOIDED")
    replacement = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)
    assert [v.id for v in voided] == [original.id]
    assert voided[0].recalculated_invoice_id == replacement.id
    assert voided[0].metadata_["void_reason"] == "late January events"
    assert voided[0].invoice_number == "INV-202602-00001"
    # 2,000 billable calls → 10 + 1,000 × 0.008 = 18.00; subtotal 82.50, coupon 8.25, tax 6.59
    assert (
        replacement.invoice_number,
        replacement.subtotal,
        replacement.total_discount,
        replacement.total,
    ) == (
        "INV-202602-00002",
        Decimal("82.50"),
        Decimal("8.25"),
        Decimal("55.84"),
    )
    assert replacement.metadata_["replaces"] == original.id
    # The voided invoice's credit came back and was spent again by the replacement.
    assert billing.wallet_balance(scope, ids["wallet"]) == Decimal(0)
    assert replacement.total_prepaid_credits_applied == Decimal("25.00")


def test_reissue_without_reason_fails(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope)
    with pytest.raises(dg.Failure, match="needs a reason"):
        billing.bill(
            scope, "2026-02", utc(2026, 2, 5), run_config={"ops": {"invoices": {"config": {"reissue": True}}}}
        )
    assert billing.invoices(scope, invoice_status="VOIDED") == []


def test_late_events_after_finalization_go_on_the_next_invoice(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)
    assert billing.bill(scope, "2026-02", utc(2026, 2, 1, 3)).success
    _more_api_calls(billing, scope, 500, ingested=utc(2026, 2, 10))

    result = billing.bill(scope, "2026-03", utc(2026, 3, 1, 3))

    assert result.success
    march = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", MAR_1)
    late = [line for line in billing.lines(scope, march.id) if "late usage" in (line.display_name or "")]
    assert [(x.display_name, x.quantity, x.amount, x.period_start, x.period_end) for x in late] == [
        (
            "API calls: late usage for 2026-01-01 – 2026-02-01",
            Decimal(500),
            Decimal("4.00"),
            utc(2026, 1, 1),
            FEB_1,
        )
    ]
    assert (
        result.asset_materializations_for_node("rated_line_items")[0].metadata["late_usage_lines"].value == 1
    )
    # Billed once: a re-run of March neither repeats nor drops it, and February stays as finalized.
    assert billing.bill(scope, "2026-03", utc(2026, 3, 1, 4)).success
    again = [line for line in billing.lines(scope, march.id) if "late usage" in (line.display_name or "")]
    assert [x.id for x in again] == [x.id for x in late]
    assert invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1).subtotal == Decimal("78.50")
