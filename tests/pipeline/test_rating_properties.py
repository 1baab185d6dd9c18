"""Pure rating functions: partition windows, rating and invoice assembly (hypothesis + worked cases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod
from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.billing.periods import subscription_windows
from flexprice_pipelines.billing.pricing import Price
from flexprice_pipelines.billing.rating import (
    BilledUsage,
    ChargeKind,
    LineItemTerms,
    SubscriptionTerms,
    UsageRow,
    assemble_invoices,
    plan_partition,
    rate_partition,
)

GRACE = timedelta(hours=2)
ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Pacific/Auckland"]


def _price(kind: str, **extra: object) -> Price:
    base = {"currency": "usd", "billing_period": "MONTHLY", "billing_model": "FLAT_FEE"}
    if kind == "usage":
        return Price.model_validate(
            {
                **base,
                "id": "p_usage",
                "type": "USAGE",
                "invoice_cadence": "ARREAR",
                "meter_id": "m1",
                "amount": "0.5",
                **extra,
            }
        )
    return Price.model_validate(
        {**base, "id": "p_fixed", "type": "FIXED", "invoice_cadence": kind, "amount": "10", **extra}
    )


def _sub(
    start: datetime, period: BillingPeriod, tz: str, cycle: BillingCycle, **extra: object
) -> SubscriptionTerms:
    items = (
        LineItemTerms(
            line_item_id="li_usage", price=_price("usage", billing_period=period.value), display_name="Calls"
        ),
        LineItemTerms(
            line_item_id="li_fee", price=_price("ADVANCE", billing_period=period.value), display_name="Fee"
        ),
    )
    return SubscriptionTerms(
        tenant_id="t",
        environment_id="e",
        subscription_id="s1",
        customer_id="c1",
        external_customer_id="x1",
        plan_id="p",
        currency="usd",
        start=start,
        billing_period=period,
        timezone=tz,
        billing_cycle=cycle,
        line_items=items,
        **extra,  # type: ignore[arg-type]
    )


starts = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2024, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=60, deadline=None)
@given(
    start=starts,
    period=st.sampled_from(
        [BillingPeriod.DAILY, BillingPeriod.WEEKLY, BillingPeriod.MONTHLY, BillingPeriod.QUARTERLY]
    ),
    tz=st.sampled_from(ZONES),
    cycle=st.sampled_from(list(BillingCycle)),
)
def test_every_ended_window_is_billed_once_in_the_month_it_ends(
    start: datetime, period: BillingPeriod, tz: str, cycle: BillingCycle
) -> None:
    sub = _sub(start, period, tz, cycle)
    now = datetime(2025, 7, 1, tzinfo=UTC)
    months = [YearMonth(2024 + (m - 1) // 12, (m - 1) % 12 + 1) for m in range(1, 19)]
    cycles = []
    for month in months:
        plan = plan_partition([sub], month, now, GRACE)
        assert plan == plan_partition([sub], month, now, GRACE)  # deterministic, ids included
        for inv in plan.invoices:
            if inv.billing_reason.value == "SUBSCRIPTION_CYCLE":
                assert month.start <= inv.period_end < month.end
                cycles.append((inv.period_start, inv.period_end))
    expected = [
        (w.start, w.end)
        for w in subscription_windows(start, now, period, 1, tz, cycle)
        if w.end <= now and w.end < months[-1].end
    ]
    assert sorted(cycles) == expected


def test_cycle_invoice_holds_arrear_usage_and_next_periods_advance_fee() -> None:
    sub = _sub(
        datetime(2024, 1, 31, 9, tzinfo=UTC), BillingPeriod.MONTHLY, "Asia/Kolkata", BillingCycle.ANNIVERSARY
    )
    plan = plan_partition([sub], YearMonth(2024, 2), datetime(2024, 3, 1, tzinfo=UTC), GRACE)
    [inv] = plan.invoices
    assert (inv.period_start, inv.period_end, inv.finalizable) == (
        datetime(2024, 1, 31, 9, tzinfo=UTC),
        datetime(2024, 2, 29, 9, tzinfo=UTC),
        True,
    )
    kinds = {(c.line_item_id, c.kind, c.start, c.end) for c in plan.charges}
    assert kinds == {
        ("li_usage", ChargeKind.USAGE, inv.period_start, inv.period_end),
        (
            "li_fee",
            ChargeKind.FIXED,
            inv.period_end,
            datetime(2024, 3, 31, 8, tzinfo=UTC) + timedelta(hours=1),
        ),
    }


def test_in_grace_is_a_draft_and_trial_period_bills_nothing() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    trial_end = datetime(2024, 1, 15, tzinfo=UTC)
    sub = _sub(start, BillingPeriod.MONTHLY, "UTC", BillingCycle.ANNIVERSARY, trial_end=trial_end)
    jan = plan_partition([sub], YearMonth(2024, 1), datetime(2024, 1, 15, 1, tzinfo=UTC), GRACE)
    trial = [i for i in jan.invoices if i.billing_reason.value == "SUBSCRIPTION_CYCLE"]
    assert [(i.period_end, i.finalizable) for i in trial] == [(trial_end, False)]
    # The trial window itself bills nothing: no usage, no ARREAR; only the first paid period's ADVANCE fee.
    assert [
        (c.line_item_id, c.kind, c.start, c.end) for c in jan.charges if c.invoice_id == trial[0].invoice_id
    ] == [("li_fee", ChargeKind.FIXED, trial_end, datetime(2024, 2, 15, tzinfo=UTC))]


def test_trial_create_invoice_is_zero_and_first_paid_advance_is_billed_at_trial_end() -> None:
    trial_end = datetime(2024, 1, 15, tzinfo=UTC)
    sub = _sub(
        datetime(2024, 1, 1, tzinfo=UTC),
        BillingPeriod.MONTHLY,
        "UTC",
        BillingCycle.ANNIVERSARY,
        trial_end=trial_end,
    )
    subs = {sub.subscription_id: sub}
    now = datetime(2024, 3, 1, tzinfo=UTC)
    totals: dict[tuple[str, datetime], Decimal] = {}
    statuses: dict[tuple[str, datetime], str] = {}
    fees: list[tuple[datetime, datetime]] = []
    for month in (YearMonth(2024, 1), YearMonth(2024, 2)):
        plan = plan_partition([sub], month, now, GRACE)
        rows = {w.window_id: UsageRow(window_id=w.window_id, quantity=Decimal(4)) for w in plan.windows}
        lines = rate_partition(plan, subs, rows, {})
        fees += [(ln.period_start, ln.period_end) for ln in lines if ln.line_item_id == "li_fee"]
        for draft in assemble_invoices(plan, subs, lines, {}):
            key = (draft.period.billing_reason.value, draft.period.issued_at)
            totals[key] = draft.computation.total
            statuses[key] = draft.status.value
    create = ("SUBSCRIPTION_CREATE", datetime(2024, 1, 1, tzinfo=UTC))
    assert (totals[create], statuses[create]) == (0, "SKIPPED")
    assert totals[("SUBSCRIPTION_CYCLE", trial_end)] == Decimal("10.00")
    # Each paid period's ADVANCE fee is billed exactly once; the trial window never is.
    assert sorted(fees) == [
        (trial_end, datetime(2024, 2, 15, tzinfo=UTC)),
        (datetime(2024, 2, 15, tzinfo=UTC), datetime(2024, 3, 15, tzinfo=UTC)),
    ]


def _rated(usage: Decimal, billed: BilledUsage | None) -> list[object]:
    sub = _sub(datetime(2024, 1, 1, tzinfo=UTC), BillingPeriod.MONTHLY, "UTC", BillingCycle.ANNIVERSARY)
    plan = plan_partition([sub], YearMonth(2024, 3), datetime(2024, 3, 2, tzinfo=UTC), GRACE)
    late = next(c for c in plan.charges if c.kind is ChargeKind.LATE_USAGE)
    rows = {w.window_id: UsageRow(window_id=w.window_id, quantity=usage) for w in plan.windows}
    billed_map = {} if billed is None else {(late.line_item_id, late.start, late.end): [billed]}
    return [
        line
        for line in rate_partition(plan, {sub.subscription_id: sub}, rows, billed_map)
        if line.kind is ChargeKind.LATE_USAGE
    ]


def test_late_usage_is_rerated_cumulatively_minus_what_was_billed() -> None:
    february = BilledUsage(quantity=Decimal(100), amount=Decimal("50.00"), invoice_id="inv_february")
    [late] = _rated(Decimal(130), february)
    assert (late.quantity, late.amount) == (Decimal(30), Decimal("15.00"))  # type: ignore[attr-defined]
    assert _rated(Decimal(100), february) == []
    assert _rated(Decimal(130), None) == []  # previous invoice still a draft: its own re-run bills it


@settings(max_examples=80, deadline=None)
@given(
    usages=st.lists(st.decimals(min_value=0, max_value=10**6, places=3), min_size=1, max_size=6),
    credit=st.decimals(min_value=0, max_value=10**5, places=2),
)
def test_assembled_lines_sum_to_subtotal_and_credit_is_shared_not_duplicated(
    usages: list[Decimal], credit: Decimal
) -> None:
    subs = [
        SubscriptionTerms(
            tenant_id="t",
            environment_id="e",
            subscription_id=f"s{i}",
            customer_id="c1",
            external_customer_id="x1",
            plan_id="p",
            currency="usd",
            start=datetime(2024, 1, 1, tzinfo=UTC),
            billing_period=BillingPeriod.MONTHLY,
            line_items=(LineItemTerms(line_item_id=f"li{i}", price=_price("usage"), display_name="Calls"),),
        )
        for i in range(len(usages))
    ]
    plan = plan_partition(subs, YearMonth(2024, 2), datetime(2024, 2, 2, tzinfo=UTC), GRACE)
    by_sub = {w.subscription_id: w.window_id for w in plan.windows}
    rows = {by_sub[f"s{i}"]: UsageRow(window_id=by_sub[f"s{i}"], quantity=u) for i, u in enumerate(usages)}
    lines = rate_partition(plan, {s.subscription_id: s for s in subs}, rows, {})
    drafts = assemble_invoices(plan, {s.subscription_id: s for s in subs}, lines, {("c1", "usd"): credit})
    assert len(drafts) == len(usages)
    for draft in drafts:
        assert sum(line.amount for line in draft.computation.lines) == draft.computation.subtotal
        assert draft.computation.total >= 0
    assert sum(d.computation.total_credits for d in drafts) <= credit
    reversed_drafts = assemble_invoices(
        plan, {s.subscription_id: s for s in subs}, list(reversed(lines)), {("c1", "usd"): credit}
    )
    assert [d.computation for d in reversed_drafts] == [d.computation for d in drafts]
