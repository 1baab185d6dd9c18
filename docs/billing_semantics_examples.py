"""Every worked figure of docs/billing-semantics.md, computed by the code it documents.

Run: ``.venv/bin/python docs/billing_semantics_examples.py`` — it prints each figure and fails on the first
one that no longer matches the document. Only the pure layers are called (``billing/``, ``rating/``,
``events.schema``); the stateful rules (numbering, finalization, void, grants) are covered by the tests the
document names.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flexprice_pipelines.billing.entitlements import (
    EntitlementSource,
    EntityType,
    FeatureType,
    aggregate_entitlements,
    check_entitlement,
    resolve_subscription_entitlements,
)
from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod
from flexprice_pipelines.billing.errors import BillingError
from flexprice_pipelines.billing.invoicing import (
    BillingReason,
    Coupon,
    CouponCadence,
    CouponType,
    LineCoupon,
    LineInput,
    TaxRate,
    TaxRateType,
    billable_usage,
    compute_invoice,
    coupon_applies,
    is_coupon_redeemable,
    proration_lines,
)
from flexprice_pipelines.billing.meters import Meter, aggregate, aggregate_buckets, billable_quantity
from flexprice_pipelines.billing.money import currency_precision, round_amount, to_minor_units
from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.billing.periods import (
    calendar_anchor,
    next_billing_date,
    proration_coefficient,
    subscription_windows,
    trial_end,
)
from flexprice_pipelines.billing.pricing import Price, PriceType, calculate_bucketed_cost, calculate_cost
from flexprice_pipelines.billing.rating import (
    LineItemTerms,
    SubscriptionTerms,
    assemble_invoices,
    plan_partition,
    rate_partition,
)
from flexprice_pipelines.billing.rating.rate import BilledUsage
from flexprice_pipelines.billing.rating.terms import CouponTerms
from flexprice_pipelines.billing.rating.usage import compute_period_usage
from flexprice_pipelines.billing.wallets import CreditBalance, plan_consumption
from flexprice_pipelines.events.schema import EventValidationError, TenantScope, validate_batch

D = Decimal
checked = 0


def check(label: str, got: object, expected: object) -> None:
    """Print one figure; stop when the code disagrees with the document."""
    global checked
    if got != expected:
        raise SystemExit(f"MISMATCH {label}: code gives {got!r}, the document says {expected!r}")
    checked += 1
    print(f"ok  {label}: {got}")


def raises(label: str, fn: Any, field: str) -> None:
    try:
        fn()
    except BillingError as exc:
        check(label, exc.field, field)
        return
    raise SystemExit(f"MISMATCH {label}: no error raised")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: Any = UTC) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


# --- §1 events --------------------------------------------------------------------------------------


def section_1() -> None:
    scope = TenantScope("t", "e")
    now = at(2024, 3, 31, 12)
    ok = validate_batch(
        [
            {"event_name": "  api_call ", "external_customer_id": "c1", "event_id": "a"},
            {"event_name": "api_call", "external_customer_id": "c1", "event_id": "a", "properties": {"n": 2}},
        ],
        scope,
        now,
    )
    check("§1 event_name trimmed", ok[0].event_name, "api_call")
    check("§1 timestamp defaults to receipt", ok[0].timestamp, now)
    check("§1 ingested_at of item 1 = now + 1 µs", ok[1].ingested_at - now, timedelta(microseconds=1))
    edge = validate_batch(
        [{"event_name": "x", "external_customer_id": "c", "timestamp": "2024-02-25T12:00:00Z"}], scope, now
    )
    check("§1 exactly 35 days back is accepted", len(edge), 1)
    try:
        validate_batch(
            [
                {"event_name": "x", "external_customer_id": "c", "timestamp": "2024-02-25T11:59:59Z"},
                {"event_name": "x", "external_customer_id": "c", "timestamp": "2024-03-31T12:05:01Z"},
                {"event_name": " ", "external_customer_id": "c"},
            ],
            scope,
            now,
        )
    except EventValidationError as exc:
        check(
            "§1 bounds named, batch rejected whole",
            [(e["index"], e["field"], e["message"]) for e in exc.errors],
            [
                (0, "timestamp", "is more than 35 days in the past (max_past bound)"),
                (1, "timestamp", "is more than 5 minutes in the future (max_future bound)"),
                (2, "event_name", exc.errors[2]["message"]),
            ],
        )


# --- §2 meters --------------------------------------------------------------------------------------

START2, END2 = at(2024, 3, 1), at(2024, 3, 2)


def ev(
    eid: str, hour: int, props: dict[str, object], name: str = "api_call", day: int = 1
) -> dict[str, object]:
    return {
        "event_id": eid,
        "event_name": name,
        "external_customer_id": "c1",
        "timestamp": at(2024, 3, day, hour),
        "properties": props,
        "ingested_at": at(2024, 3, day, hour, 1),
    }


EVENTS2 = [
    ev("e1", 0, {"tokens": 10, "model": "gpt-4"}),
    ev("e2", 6, {"tokens": "20.5", "model": "o1"}),
    ev("e3", 12, {"tokens": D("5.5"), "model": "gpt-4"}),
    ev("e4", 18, {"model": "o1"}),
    ev("e7", 23, {"tokens": "abc", "model": "x"}),
    ev("e5", 0, {"tokens": 1000}, day=2),
    ev("e6", 3, {"tokens": 99}, name="other"),
]


def meter(kind: str, field: str | None = "tokens", **extra: object) -> Meter:
    agg: dict[str, object] = {"type": kind}
    if field:
        agg["field"] = field
    agg.update(extra)
    return Meter.model_validate({"event_name": "api_call", "aggregation": agg})


def section_2() -> None:
    table = [
        ("COUNT", meter("COUNT", None), D(5)),
        ("SUM", meter("SUM"), D(36)),
        ("SUM_WITH_MULTIPLIER ×1000", meter("SUM_WITH_MULTIPLIER", multiplier="1000"), D(36000)),
        ("AVG", meter("AVG"), D(12)),
        ("MIN", meter("MIN"), D("5.5")),
        ("MAX", meter("MAX"), D("20.5")),
        ("COUNT_UNIQUE(model)", meter("COUNT_UNIQUE", "model"), D(3)),
        ("COUNT_UNIQUE(tokens)", meter("COUNT_UNIQUE"), D(4)),
        ("LATEST", meter("LATEST"), D("5.5")),
        ("WEIGHTED_SUM", meter("WEIGHTED_SUM"), D("28.125")),
    ]
    for label, m, expected in table:
        check(f"§2 {label}", aggregate(m, EVENTS2, START2, END2), expected)
    filtered = Meter.model_validate(
        {
            "event_name": "api_call",
            "aggregation": {"type": "SUM", "field": "tokens"},
            "filters": [{"key": "model", "values": ["gpt-4"]}],
        }
    )
    check("§2 SUM with filter model ∈ {gpt-4}", aggregate(filtered, EVENTS2, START2, END2), D("15.5"))
    moved = {**ev("e3", 1, {"tokens": D("5.5"), "model": "gpt-4"}, day=2), "ingested_at": at(2024, 3, 2, 2)}
    check(
        "§2 e3 re-sent into the next day: SUM",
        aggregate(meter("SUM"), [*EVENTS2, moved], START2, END2),
        D("30.5"),
    )
    check("§2 empty window SUM → no usage", aggregate(meter("SUM"), [], START2, END2), None)
    check("§2 empty window COUNT → 0", aggregate(meter("COUNT", None), [], START2, END2), D(0))
    check("§2 billable quantity of no usage", billable_quantity(None), D(0))
    check("§2 negative usage floored", billable_quantity(D(-3)), D(0))
    status = Meter.model_validate(
        {
            "event_name": "api_call",
            "aggregation": {"type": "COUNT"},
            "filters": [{"key": "status", "values": ["200"]}, {"key": "ok", "values": ["true"]}],
        }
    )
    typed = [ev("s1", 1, {"status": 200, "ok": True}), ev("s2", 2, {"status": "200", "ok": "false"})]
    check("§2 filter 200 ↔ '200', true ↔ 'true'", aggregate(status, typed, START2, END2), D(1))

    hourly = Meter.model_validate(
        {"event_name": "api_call", "aggregation": {"type": "MAX", "field": "tokens", "bucket_size": "HOUR"}}
    )
    hour_events = [ev("h1", 10, {"tokens": 9}), ev("h2", 11, {"tokens": 15}), ev("h3", 11, {"tokens": 4})]
    buckets = aggregate_buckets(hourly, hour_events, START2, END2)
    check("§2 bucketed MAX per hour", [(b.hour, v) for b, v in buckets], [(10, D(9)), (11, D(15))])
    check(
        "§2 bucketed MAX window total = Σ bucket maxima", aggregate(hourly, hour_events, START2, END2), D(24)
    )
    raises(
        "§2 bucket_size only with SUM/MAX",
        lambda: meter("AVG", bucket_size="HOUR"),
        "aggregation.bucket_size",
    )
    raises(
        "§2 multiplier > 0", lambda: meter("SUM_WITH_MULTIPLIER", multiplier="0"), "aggregation.multiplier"
    )


# --- §3 prices --------------------------------------------------------------------------------------

TIERS_A = [
    {"up_to": 10, "unit_amount": "50"},
    {"up_to": 20, "unit_amount": "40"},
    {"up_to": None, "unit_amount": "30"},
]


def price(**fields: object) -> Price:
    base: dict[str, object] = {
        "type": "USAGE",
        "currency": "usd",
        "billing_period": "MONTHLY",
        "invoice_cadence": "ARREAR",
        "meter_id": "m",
    }
    return Price.model_validate({**base, **fields})


def costs(p: Price, quantities: list[str]) -> list[Decimal]:
    return [calculate_cost(p, D(q)) for q in quantities]


def section_3() -> None:
    check("§3 FLAT_FEE 100 × 5", calculate_cost(price(billing_model="FLAT_FEE", amount="100"), D(5)), D(500))
    pkg = price(billing_model="PACKAGE", amount="50", transform_quantity={"divide_by": 10})
    check("§3 PACKAGE 50/10 up, 25", calculate_cost(pkg, D(25)), D(150))
    up = price(billing_model="PACKAGE", amount="1", transform_quantity={"divide_by": 100})
    check(
        "§3 PACKAGE 1/100 up",
        costs(up, ["0", "99", "100", "101", "150", "300"]),
        [D(x) for x in (0, 1, 1, 2, 2, 3)],
    )
    down = price(billing_model="PACKAGE", amount="1", transform_quantity={"divide_by": 100, "round": "down"})
    check("§3 PACKAGE 1/100 down", costs(down, ["50", "250"]), [D(0), D(2)])
    vol = price(billing_model="TIERED", tier_mode="VOLUME", tiers=TIERS_A)
    check("§3 VOLUME tiers A", costs(vol, ["5", "15", "25"]), [D(250), D(600), D(750)])
    slab = price(billing_model="TIERED", tier_mode="SLAB", tiers=TIERS_A)
    check("§3 SLAB tiers A", costs(slab, ["5", "15", "25"]), [D(250), D(700), D(1050)])
    small = price(
        billing_model="TIERED",
        tier_mode="SLAB",
        tiers=[{"up_to": 1, "unit_amount": "10"}, {"up_to": 2, "unit_amount": "20"}, {"unit_amount": "30"}],
    )
    check(
        "§3 SLAB ≤1:10 ≤2:20 rest 30",
        costs(small, ["0", "1", "2", "2.5", "3"]),
        [D(x) for x in ("0", "10", "30", "45", "60")],
    )
    flats = price(
        billing_model="TIERED",
        tier_mode="SLAB",
        tiers=[
            {"up_to": 5, "unit_amount": "0", "flat_amount": "1"},
            {"up_to": 10, "unit_amount": "1", "flat_amount": "2"},
            {"unit_amount": "2"},
        ],
    )
    check("§3 SLAB with flat amounts", costs(flats, ["3", "7", "12"]), [D(1), D(5), D(12)])
    tiers_b = [
        {"up_to": 10, "unit_amount": ".10"},
        {"up_to": 20, "unit_amount": ".05"},
        {"unit_amount": ".02"},
    ]
    b_slab = price(billing_model="TIERED", tier_mode="SLAB", tiers=tiers_b)
    b_vol = price(billing_model="TIERED", tier_mode="VOLUME", tiers=tiers_b)
    check("§3 bucketed SLAB 9, 15", calculate_bucketed_cost(b_slab, [D(9), D(15)]), D("2.15"))
    check("§3 bucketed VOLUME 9, 15", calculate_bucketed_cost(b_vol, [D(9), D(15)]), D("1.65"))
    bounded = price(
        billing_model="TIERED",
        tier_mode="SLAB",
        tiers=[{"up_to": 10, "unit_amount": "1"}, {"up_to": 20, "unit_amount": "2"}],
    )
    check("§3 SLAB past a bounded last tier (25)", calculate_cost(bounded, D(25)), D(40))
    bounded_vol = price(
        billing_model="TIERED",
        tier_mode="VOLUME",
        tiers=[{"up_to": 10, "unit_amount": "1"}, {"up_to": 20, "unit_amount": "2"}],
    )
    check("§3 VOLUME past a bounded last tier (25)", calculate_cost(bounded_vol, D(25)), D(50))
    check("§3 quantity 0 costs 0 (flat amount not charged)", calculate_cost(flats, D(0)), D(0))
    raises(
        "§3 USAGE + ADVANCE refused",
        lambda: price(billing_model="FLAT_FEE", amount="1", invoice_cadence="ADVANCE"),
        "invoice_cadence",
    )
    raises(
        "§3 ONETIME + ARREAR refused",
        lambda: price(
            type="FIXED", billing_model="FLAT_FEE", amount="1", billing_period="ONETIME", meter_id=None
        ),
        "invoice_cadence",
    )
    raises(
        "§3 unsorted tiers refused",
        lambda: price(billing_model="TIERED", tier_mode="SLAB", tiers=[TIERS_A[1], TIERS_A[0], TIERS_A[2]]),
        "tiers.1.up_to",
    )
    raises(
        "§3 null up_to not last",
        lambda: price(billing_model="TIERED", tier_mode="SLAB", tiers=[TIERS_A[2], TIERS_A[0]]),
        "tiers.0.up_to",
    )
    raises("§3 negative amount", lambda: price(billing_model="FLAT_FEE", amount="-1"), "amount")
    raises(
        "§3 PACKAGE without divide_by",
        lambda: price(billing_model="PACKAGE", amount="1", transform_quantity={}),
        "transform_quantity.divide_by",
    )
    raises("§3 TIERED without tiers", lambda: price(billing_model="TIERED", tier_mode="SLAB"), "tiers")
    raises(
        "§3 USAGE without meter_id",
        lambda: price(billing_model="FLAT_FEE", amount="1", meter_id=None),
        "meter_id",
    )
    try:
        calculate_cost(price(billing_model="FLAT_FEE", amount="1"), 1.5)  # type: ignore[arg-type]
    except TypeError:
        check("§3 float quantity is a TypeError", True, True)


# --- §4 currency and rounding ----------------------------------------------------------------------


def section_4() -> None:
    check(
        "§4 precisions",
        [currency_precision(c) for c in ("usd", "JPY", "krw", "vnd", "clp", "kwd", "clf", "xyz")],
        [2, 0, 0, 0, 0, 3, 4, 2],
    )
    check("§4 usd 10.275", round_amount(D("10.275"), "usd"), D("10.28"))
    check("§4 usd 0.005", round_amount(D("0.005"), "usd"), D("0.01"))
    check("§4 usd -0.005 (away from zero)", round_amount(D("-0.005"), "usd"), D("-0.01"))
    check("§4 jpy 1023.5", round_amount(D("1023.5"), "jpy"), D(1024))
    check("§4 usd -0.001 prints as 0.00", str(round_amount(D("-0.001"), "usd")), "0.00")
    three = [
        LineInput(
            line_id=f"l{i}",
            price_type=PriceType.FIXED,
            amount=D("10.333333"),
            quantity=D(1),
            currency="usd",
            display_name="x",
            period_start=START2,
            period_end=END2,
        )
        for i in range(3)
    ]
    check("§4 3 × 10.333333 subtotal", compute_invoice(three, "usd").subtotal, D("30.99"))
    check(
        "§4 minor units usd/jpy/kwd",
        [to_minor_units(D("12.345"), c) for c in ("usd", "jpy", "kwd")],
        [1235, 12, 12345],
    )


# --- §5 periods -------------------------------------------------------------------------------------


def section_5() -> None:
    m = BillingPeriod.MONTHLY
    check(
        "§5 monthly anniversary 01-31 → 02-29",
        next_billing_date(at(2024, 1, 31), at(2024, 1, 31), 1, m, "UTC"),
        at(2024, 2, 29),
    )
    check(
        "§5 from 02-29, anchor 01-31 → 03-31",
        next_billing_date(at(2024, 2, 29), at(2024, 1, 31), 1, m, "UTC"),
        at(2024, 3, 31),
    )
    check(
        "§5 annual 2024-02-29 → 2025-02-28",
        next_billing_date(at(2024, 2, 29), at(2024, 2, 29), 1, BillingPeriod.ANNUAL, "UTC"),
        at(2025, 2, 28),
    )
    cal = calendar_anchor(at(2024, 1, 15), m, "UTC")
    check(
        "§5 monthly calendar from 01-15 → 02-01",
        next_billing_date(at(2024, 1, 15), cal, 1, m, "UTC"),
        at(2024, 2, 1),
    )
    check(
        "§5 weekly Mon 10:00, anchor Wed 14:00",
        next_billing_date(at(2024, 3, 4, 10), at(2024, 2, 28, 14), 1, BillingPeriod.WEEKLY, "UTC"),
        at(2024, 3, 6, 14),
    )
    check(
        "§5 daily 03-10 08:00, anchor clock 14:30",
        next_billing_date(at(2024, 3, 10, 8), at(2024, 3, 1, 14, 30), 1, BillingPeriod.DAILY, "UTC"),
        at(2024, 3, 11, 14, 30),
    )
    check(
        "§5 quarterly calendar first end",
        next_billing_date(
            at(2024, 2, 10),
            calendar_anchor(at(2024, 2, 10), BillingPeriod.QUARTERLY, "UTC"),
            1,
            BillingPeriod.QUARTERLY,
            "UTC",
        ),
        at(2024, 4, 1),
    )
    check(
        "§5 calendar weekly anchor is Monday",
        calendar_anchor(at(2024, 3, 6, 9), BillingPeriod.WEEKLY, "UTC"),
        at(2024, 3, 11),
    )
    ny = ZoneInfo("America/New_York")
    day = subscription_windows(at(2024, 3, 9, tz=ny), at(2024, 3, 11, tz=ny), BillingPeriod.DAILY, 1, ny)
    check(
        "§5 New York day across spring-forward",
        [w.duration for w in day],
        [timedelta(hours=24), timedelta(hours=23)],
    )
    check(
        "§5 skipped local time moves forward",
        next_billing_date(
            at(2024, 3, 9, 2, 30, tz=ny), at(2024, 3, 1, 2, 30, tz=ny), 1, BillingPeriod.DAILY, ny
        ),
        at(2024, 3, 10, 7, 30),
    )
    k = ZoneInfo("Asia/Kolkata")
    start = at(2024, 1, 17, 14, 30, tz=k)
    windows = subscription_windows(
        start,
        at(2024, 6, 1, tz=k),
        m,
        1,
        k,
        trial_end=trial_end(start, 14, k),
        pauses=[(at(2024, 3, 4, tz=k), at(2024, 3, 14, tz=k))],
        cancel_at=at(2024, 5, 20, tz=k),
    )
    check(
        "§5 Kolkata trial + pause + cancel windows (UTC)",
        [(w.start.strftime("%m-%d %H:%M"), w.end.strftime("%m-%d %H:%M"), w.is_trial) for w in windows],
        [
            ("01-17 09:00", "01-31 09:00", True),
            ("01-31 09:00", "02-29 09:00", False),
            ("02-29 09:00", "04-10 09:00", False),
            ("04-10 09:00", "05-10 09:00", False),
            ("05-10 09:00", "05-19 18:30", False),
        ],
    )
    cal_trial = subscription_windows(
        at(2024, 1, 10), at(2024, 4, 1), m, 1, "UTC", BillingCycle.CALENDAR, trial_end=at(2024, 1, 24)
    )
    check(
        "§5 calendar after a trial re-anchors on the 1st",
        [(w.start.date().isoformat(), w.end.date().isoformat(), w.is_trial) for w in cal_trial],
        [
            ("2024-01-10", "2024-01-24", True),
            ("2024-01-24", "2024-02-01", False),
            ("2024-02-01", "2024-03-01", False),
            ("2024-03-01", "2024-04-01", False),
        ],
    )
    coeff = proration_coefficient(at(2024, 4, 1), at(2024, 5, 1), at(2024, 4, 21))
    check("§5 proration coefficient 10 of 30 days", coeff, D(1) / D(3))
    lines = proration_lines(D(30), D(1), D(60), D(2), coeff, "usd")
    check(
        "§5 proration charge / credit / net",
        (lines.charge, lines.credit, lines.net),
        (D("40.00"), D("-10.00"), D("30.00")),
    )
    check(
        "§5 coefficient after the end floors at 0",
        proration_coefficient(at(2024, 4, 1), at(2024, 5, 1), at(2024, 6, 1)),
        D(0),
    )


# --- §6 invoices ------------------------------------------------------------------------------------


def line(line_id: str, amount: str, kind: PriceType = PriceType.USAGE, currency: str = "usd") -> LineInput:
    return LineInput(
        line_id=line_id,
        price_type=kind,
        amount=D(amount),
        quantity=D(1),
        currency=currency,
        display_name=line_id,
        period_start=START2,
        period_end=END2,
    )


def pct(cid: str, value: str) -> Coupon:
    return Coupon(id=cid, type=CouponType.PERCENTAGE, percentage_off=D(value))


def fixed(cid: str, value: str) -> Coupon:
    return Coupon(id=cid, type=CouponType.FIXED, amount_off=D(value), currency="usd")


def totals(inv: Any) -> tuple[Decimal, ...]:
    return (inv.subtotal, inv.total_discount, inv.total_credits, inv.total)


def section_6() -> None:
    cases = [
        (
            "30, 70 | 10% inv | 20",
            [line("a", "30"), line("b", "70")],
            [],
            [pct("c", "10")],
            "20",
            ("100", "10", "20", "70"),
        ),
        (
            "33.33, 66.67 | 10% inv | 10",
            [line("a", "33.33"), line("b", "66.67")],
            [],
            [pct("c", "10")],
            "10",
            ("100", "10", "10", "80"),
        ),
        (
            "50, 50 | 50% line a + $10 inv | 20",
            [line("a", "50"), line("b", "50")],
            [LineCoupon(coupon=pct("h", "50"), line_id="a")],
            [fixed("t", "10")],
            "20",
            ("100", "35", "20", "45"),
        ),
        (
            "100 | 10% line + 20% inv | 10",
            [line("a", "100")],
            [LineCoupon(coupon=pct("l", "10"), line_id="a")],
            [pct("i", "20")],
            "10",
            ("100", "28", "10", "62"),
        ),
        (
            "50 usage + 50 fixed | $10 inv | 25",
            [line("u", "50"), line("f", "50", PriceType.FIXED)],
            [],
            [fixed("t", "10")],
            "25",
            ("100", "10", "25", "65"),
        ),
    ]
    for label, lines, line_coupons, invoice_coupons, wallet, expected in cases:
        inv = compute_invoice(lines, "usd", line_coupons, invoice_coupons, D(wallet))
        check(f"§6 {label}", totals(inv), tuple(D(x).quantize(D("0.01")) for x in expected))
    uneven = compute_invoice(
        [line("a", "33.33"), line("b", "66.67")], "usd", invoice_coupons=[pct("c", "10")]
    )
    check(
        "§6 pro-rata allocation 33.33/66.67",
        [r.invoice_discount for r in uneven.lines],
        [D("3.33"), D("6.67")],
    )
    split = compute_invoice(
        [line("a", "1"), line("b", "1"), line("c", "1")], "usd", invoice_coupons=[fixed("t", "1")]
    )
    check(
        "§6 residue cent to the first line_id",
        [r.invoice_discount for r in split.lines],
        [D("0.34"), D("0.33"), D("0.33")],
    )
    for tax_label, base, rate, cur, tax_amount in [
        ("100.00 @ 8.875%", "100.00", "8.875", "usd", "8.88"),
        ("123.45 @ 7.25%", "123.45", "7.25", "usd", "8.95"),
        ("jpy 999 @ 10.5%", "999", "10.5", "jpy", "105"),
        ("1.00 @ 0.1%", "1.00", "0.1", "usd", "0.00"),
    ]:
        inv = compute_invoice(
            [line("a", base, currency=cur)],
            cur,
            tax_rates=[TaxRate(id="t", name="t", percentage_value=D(rate))],
        )
        check(f"§6 tax {tax_label}", inv.total_tax, D(tax_amount))
    two_taxes = compute_invoice(
        [line("a", "100")],
        "usd",
        invoice_coupons=[pct("c", "10")],
        wallet_credit_available=D(50),
        tax_rates=[
            TaxRate(id="s", name="state", percentage_value=D(5)),
            TaxRate(id="c", name="city", percentage_value=D(2)),
        ],
    )
    check(
        "§6 taxes on subtotal − discount, not compounded, credits ignored",
        [t.tax_amount for t in two_taxes.tax_lines],
        [D("4.50"), D("1.80")],
    )
    check("§6 … total", two_taxes.total, D("46.30"))
    free = compute_invoice(
        [line("a", "10")],
        "usd",
        invoice_coupons=[pct("c", "100")],
        tax_rates=[
            TaxRate(id="f", name="fee", tax_rate_type=TaxRateType.FIXED, fixed_value=D(2), currency="usd")
        ],
    )
    check("§6 fixed tax not charged on a zero base", free.total_tax, D("0.00"))
    check(
        "§6 zero-subtotal cycle invoice SKIPPED",
        compute_invoice([line("a", "0.004")], "usd").status.value,
        "SKIPPED",
    )
    check(
        "§6 zero-subtotal create invoice is DRAFT in the core",
        compute_invoice([], "usd", billing_reason=BillingReason.SUBSCRIPTION_CREATE).status.value,
        "DRAFT",
    )
    check("§6 included units 5400 − 5100", billable_usage(D(5400), D(5100), False), D(300))
    check("§6 included units, usage below", billable_usage(D(40), D(100), False), D(0))
    check("§6 unlimited bills nothing", billable_usage(D(40), None, True), D(0))
    check("§6 no entitlement bills all", billable_usage(D(40), None, False), D(40))
    section_6_pipeline()


def section_6_pipeline() -> None:
    """One subscription through plan → usage → rate → assemble, as the pipeline runs it."""
    meter_ = Meter.model_validate(
        {"id": "m_calls", "event_name": "api_call", "aggregation": {"type": "COUNT"}}
    )
    sub = SubscriptionTerms(
        tenant_id="t1",
        environment_id="env1",
        subscription_id="sub1",
        customer_id="cust1",
        external_customer_id="acme",
        plan_id="pro",
        currency="usd",
        start=at(2024, 1, 15),
        billing_period=BillingPeriod.MONTHLY,
        line_items=(
            LineItemTerms(
                line_item_id="li_fee",
                price=Price.model_validate(
                    {
                        "id": "p_fee",
                        "type": "FIXED",
                        "billing_model": "FLAT_FEE",
                        "amount": "49",
                        "currency": "usd",
                        "billing_period": "MONTHLY",
                        "invoice_cadence": "ADVANCE",
                    }
                ),
                display_name="Platform fee",
            ),
            LineItemTerms(
                line_item_id="li_calls",
                price=Price.model_validate(
                    {
                        "id": "p_calls",
                        "type": "USAGE",
                        "billing_model": "TIERED",
                        "tier_mode": "SLAB",
                        "currency": "usd",
                        "billing_period": "MONTHLY",
                        "invoice_cadence": "ARREAR",
                        "meter_id": "m_calls",
                        "tiers": [
                            {"up_to": 1000, "unit_amount": "0.01"},
                            {"up_to": None, "unit_amount": "0.005"},
                        ],
                    }
                ),
                display_name="API calls",
                included_units=D(500),
            ),
        ),
        tax_rates=(TaxRate(id="ny", name="NY", percentage_value=D("8.875")),),
    )
    events = [
        {
            "event_id": f"e{i}",
            "event_name": "api_call",
            "external_customer_id": "acme",
            "timestamp": at(2024, 1, 15) + timedelta(minutes=20 * i),
            "properties": {},
            "ingested_at": at(2024, 1, 15) + timedelta(minutes=20 * i, seconds=1),
        }
        for i in range(2500)
    ]
    january = plan_partition([sub], YearMonth.parse("2024-01"), at(2024, 3, 1), timedelta(hours=2))
    check(
        "§6 pipeline Jan partition: invoices",
        [
            (p.billing_reason.value, p.period_start.date().isoformat(), p.period_end.date().isoformat())
            for p in january.invoices
        ],
        [("SUBSCRIPTION_CREATE", "2024-01-15", "2024-02-15")],
    )
    feb = plan_partition([sub], YearMonth.parse("2024-02"), at(2024, 3, 1), timedelta(hours=2))
    check(
        "§6 pipeline Feb partition: invoices",
        [
            (
                p.billing_reason.value,
                p.period_start.date().isoformat(),
                p.period_end.date().isoformat(),
                p.finalizable,
            )
            for p in feb.invoices
        ],
        [("SUBSCRIPTION_CYCLE", "2024-01-15", "2024-02-15", True)],
    )
    check(
        "§6 pipeline Feb charges",
        sorted((c.line_item_id, c.kind.value, c.start.date().isoformat()) for c in feb.charges),
        [("li_calls", "usage", "2024-01-15"), ("li_fee", "fixed", "2024-02-15")],
    )
    usage = {r.window_id: r for r in compute_period_usage(feb.windows, {"m_calls": meter_}, events)}
    check("§6 pipeline usage in [01-15, 02-15)", [r.quantity for r in usage.values()], [D(2232)])
    lines = rate_partition(feb, {"sub1": sub}, usage, {})
    check(
        "§6 pipeline rated lines (unrounded)",
        sorted((r.display_name, r.quantity, r.amount) for r in lines),
        [("API calls", D(1732), D("13.660")), ("Platform fee", D(1), D(49))],
    )
    drafts = assemble_invoices(feb, {"sub1": sub}, lines, {("cust1", "usd"): D(5)})
    c = drafts[0].computation
    check(
        "§6 pipeline invoice subtotal/discount/credits/tax/total",
        (c.subtotal, c.total_discount, c.total_credits, c.total_tax, c.total),
        (D("62.66"), D("0.00"), D("5.00"), D("5.56"), D("63.22")),
    )
    again = assemble_invoices(
        feb, {"sub1": sub}, rate_partition(feb, {"sub1": sub}, usage, {}), {("cust1", "usd"): D(5)}
    )
    check(
        "§6 pipeline re-run: same invoice id and totals",
        (again[0].period.invoice_id, totals(again[0].computation)),
        (drafts[0].period.invoice_id, totals(c)),
    )

    # Late usage: 100 more events for [01-15, 02-15) arrive after its invoice was finalized.
    late_events = events + [
        {
            "event_id": f"late{i}",
            "event_name": "api_call",
            "external_customer_id": "acme",
            "timestamp": at(2024, 2, 10) + timedelta(minutes=i),
            "properties": {},
            "ingested_at": at(2024, 2, 20) + timedelta(minutes=i),
        }
        for i in range(100)
    ]
    march = plan_partition([sub], YearMonth.parse("2024-03"), at(2024, 4, 1), timedelta(hours=2))
    check(
        "§6 late: March charges",
        sorted(
            (ch.kind.value, ch.start.date().isoformat(), ch.end.date().isoformat())
            for ch in march.charges
            if ch.line_item_id == "li_calls"
        ),
        [("late_usage", "2024-01-15", "2024-02-15"), ("usage", "2024-02-15", "2024-03-15")],
    )
    march_usage = {
        r.window_id: r for r in compute_period_usage(march.windows, {"m_calls": meter_}, late_events)
    }
    billed = {
        ("li_calls", at(2024, 1, 15), at(2024, 2, 15)): [
            BilledUsage(quantity=D(1732), amount=D("13.66"), invoice_id=feb.invoices[0].invoice_id)
        ]
    }
    late_lines = [
        r for r in rate_partition(march, {"sub1": sub}, march_usage, billed) if r.kind.value == "late_usage"
    ]
    check(
        "§6 late usage line",
        [(r.display_name, r.quantity, r.amount) for r in late_lines],
        [("API calls: late usage for 2024-01-15 – 2024-02-15", D(100), D("0.50"))],
    )

    # A `once` coupon associated at the start discounts the first invoice issued: the CREATE invoice.
    coupon = CouponTerms(
        coupon=Coupon(id="welcome", type=CouponType.PERCENTAGE, percentage_off=D(10)), start=sub.start
    )
    with_coupon = replace(sub, coupons=(coupon,))
    subs_c = {"sub1": with_coupon}
    jan_plan = plan_partition([with_coupon], YearMonth.parse("2024-01"), at(2024, 3, 1), timedelta(hours=2))
    feb_plan = plan_partition([with_coupon], YearMonth.parse("2024-02"), at(2024, 3, 1), timedelta(hours=2))
    jan_c = assemble_invoices(jan_plan, subs_c, rate_partition(jan_plan, subs_c, {}, {}), {})
    feb_c = assemble_invoices(feb_plan, subs_c, rate_partition(feb_plan, subs_c, usage, {}), {})
    check(
        "§6 once coupon: CREATE / first CYCLE discount",
        (jan_c[0].computation.total_discount, feb_c[0].computation.total_discount),
        (D("4.90"), D("0.00")),
    )


# --- §7 entitlements, wallets, coupons -----------------------------------------------------------


def section_6_edges() -> None:
    """Pauses, cancellation and mid-period line items as the partition plan bills them."""

    def terms(**extra: Any) -> SubscriptionTerms:
        fee = LineItemTerms(
            line_item_id="li_fee",
            price=Price.model_validate(
                {
                    "id": "p_fee",
                    "type": "FIXED",
                    "billing_model": "FLAT_FEE",
                    "amount": "30",
                    "currency": "usd",
                    "billing_period": "MONTHLY",
                    "invoice_cadence": "ARREAR",
                }
            ),
            display_name="Support",
        )
        calls = LineItemTerms(
            line_item_id="li_calls",
            price=Price.model_validate(
                {
                    "id": "p_calls",
                    "type": "USAGE",
                    "billing_model": "FLAT_FEE",
                    "amount": "1",
                    "currency": "usd",
                    "billing_period": "MONTHLY",
                    "invoice_cadence": "ARREAR",
                    "meter_id": "m",
                }
            ),
            display_name="Calls",
        )
        base: dict[str, Any] = {
            "tenant_id": "t",
            "environment_id": "e",
            "subscription_id": "s",
            "customer_id": "c",
            "external_customer_id": "x",
            "plan_id": None,
            "currency": "usd",
            "start": at(2024, 1, 1),
            "billing_period": BillingPeriod.MONTHLY,
            "line_items": (fee, calls),
        }
        return SubscriptionTerms(**{**base, **extra})

    paused = terms(pauses=((at(2024, 2, 5), at(2024, 2, 15)),))
    plan = plan_partition([paused], YearMonth.parse("2024-03"), at(2024, 4, 1), timedelta(hours=2))
    check(
        "§5 pause: the window holding it ends 10 days later",
        [(p.period_start.date().isoformat(), p.period_end.date().isoformat()) for p in plan.invoices],
        [("2024-02-01", "2024-03-11")],
    )
    check(
        "§5 pause: usage is counted over the whole window, pause included",
        [
            (w.window_start.date().isoformat(), w.window_end.date().isoformat())
            for w in plan.windows
            if w.role.value == "cycle"
        ],
        [("2024-02-01", "2024-03-11")],
    )
    fee_line = [r for r in rate_partition(plan, {"s": paused}, {}, {}) if r.line_item_id == "li_fee"]
    check(
        "§5 pause: the fixed charge of the longer window is billed once, whole",
        [r.amount for r in fee_line],
        [D(30)],
    )

    cancelled = terms(cancel_at=at(2024, 2, 10))
    plan = plan_partition([cancelled], YearMonth.parse("2024-02"), at(2024, 3, 1), timedelta(hours=2))
    check(
        "§5 cancel: last window ends at the cancellation",
        [(p.period_start.date().isoformat(), p.period_end.date().isoformat()) for p in plan.invoices],
        [("2024-01-01", "2024-02-01"), ("2024-02-01", "2024-02-10")],
    )
    fee_line = [r for r in rate_partition(plan, {"s": cancelled}, {}, {}) if r.line_item_id == "li_fee"]
    check(
        "§5 cancel: ARREAR fixed charge of the short window is not prorated",
        [(r.period_end.date().isoformat(), r.amount) for r in fee_line],
        [("2024-02-01", D(30)), ("2024-02-10", D(30))],
    )

    late_item = terms(line_items=tuple(replace(i, start=at(2024, 1, 20)) for i in terms().line_items))
    plan = plan_partition([late_item], YearMonth.parse("2024-02"), at(2024, 3, 1), timedelta(hours=2))
    check(
        "§6 line item from 01-20: usage window clipped to it",
        [(w.window_start.date().isoformat(), w.window_end.date().isoformat()) for w in plan.windows],
        [("2024-01-20", "2024-02-01")],
    )
    fee_line = [r for r in rate_partition(plan, {"s": late_item}, {}, {}) if r.line_item_id == "li_fee"]
    check(
        "§6 line item from 01-20: its fixed charge is billed whole",
        [(r.period_start.date().isoformat(), r.amount) for r in fee_line],
        [("2024-01-01", D(30))],
    )
    drafts = assemble_invoices(plan, {"s": late_item}, rate_partition(plan, {"s": late_item}, {}, {}), {})
    check("§6 no usage, fixed 30: invoice is a DRAFT", drafts[0].status.value, "DRAFT")
    none = terms(line_items=(terms().line_items[1],))
    plan = plan_partition([none], YearMonth.parse("2024-02"), at(2024, 3, 1), timedelta(hours=2))
    drafts = assemble_invoices(plan, {"s": none}, rate_partition(plan, {"s": none}, {}, {}), {})
    check("§6 no usage, no fixed charge: SKIPPED", drafts[0].status.value, "SKIPPED")

    quarterly = terms(
        line_items=(
            LineItemTerms(
                line_item_id="li_q",
                price=Price.model_validate(
                    {
                        "id": "p_q",
                        "type": "FIXED",
                        "billing_model": "FLAT_FEE",
                        "amount": "90",
                        "currency": "usd",
                        "billing_period": "QUARTERLY",
                        "invoice_cadence": "ADVANCE",
                    }
                ),
                display_name="Quarterly platform fee",
            ),
        )
    )
    found = []
    for month in ("2024-01", "2024-02", "2024-03", "2024-04"):
        plan = plan_partition([quarterly], YearMonth.parse(month), at(2024, 5, 1), timedelta(hours=2))
        found += [(month, c.start.date().isoformat(), c.end.date().isoformat()) for c in plan.charges]
    check(
        "§6 quarterly ADVANCE line on a monthly subscription",
        found,
        [("2024-01", "2024-01-01", "2024-04-01"), ("2024-04", "2024-04-01", "2024-07-01")],
    )


def known_gaps() -> None:
    """Behaviour the document lists under "Known gaps": pinned so that a fix shows up here."""
    start = at(2024, 1, 1)
    fee = LineItemTerms(
        line_item_id="li",
        price=Price.model_validate(
            {
                "id": "p",
                "type": "FIXED",
                "billing_model": "FLAT_FEE",
                "amount": "49",
                "currency": "usd",
                "billing_period": "MONTHLY",
                "invoice_cadence": "ADVANCE",
            }
        ),
        display_name="fee",
    )
    coupon = CouponTerms(coupon=Coupon(id="w", type=CouponType.PERCENTAGE, percentage_off=D(10)), start=start)
    sub = SubscriptionTerms(
        tenant_id="t",
        environment_id="e",
        subscription_id="s",
        customer_id="c",
        external_customer_id="x",
        plan_id=None,
        currency="usd",
        start=start,
        billing_period=BillingPeriod.MONTHLY,
        trial_end=start + timedelta(days=14),
        line_items=(fee,),
        coupons=(coupon,),
    )
    found = []
    for month in ("2024-01", "2024-02"):
        plan = plan_partition([sub], YearMonth.parse(month), at(2024, 3, 1), timedelta(hours=2))
        for d in assemble_invoices(plan, {"s": sub}, rate_partition(plan, {"s": sub}, {}, {}), {}):
            found.append(
                (d.period.billing_reason.value, d.computation.subtotal, d.computation.total_discount)
            )
    check(
        "gap: a once coupon on a trial subscription is spent on the zero CREATE invoice",
        found,
        [
            ("SUBSCRIPTION_CREATE", D("0.00"), D("0.00")),
            ("SUBSCRIPTION_CYCLE", D("49.00"), D("0.00")),
            ("SUBSCRIPTION_CYCLE", D("49.00"), D("0.00")),
        ],
    )


def section_7() -> None:
    def src(sub: str, kind: EntityType, limit: int | None, soft: bool = False) -> EntitlementSource:
        return EntitlementSource(
            subscription_id=sub,
            plan_id="p",
            entity_type=kind,
            feature_id="api_calls",
            feature_type=FeatureType.METERED,
            usage_limit=None if limit is None else D(limit),
            is_soft_limit=soft,
        )

    plan = [src("sub_1", EntityType.PLAN, 1000), src("sub_2", EntityType.PLAN, 100)]
    override = [src("sub_1", EntityType.SUBSCRIPTION, 5000)]
    ent = aggregate_entitlements(resolve_subscription_entitlements(plan, override))
    check("§7 override + sum of limits", ent.usage_limit, D(5100))
    c1 = check_entitlement(ent, D(4000))
    check(
        "§7 check 4000 of 5100", (c1.allowed, c1.reason.value, c1.remaining), (True, "within_limit", D(1100))
    )
    c2 = check_entitlement(ent, D(5100))
    check(
        "§7 check 5100 of 5100 (hard)",
        (c2.allowed, c2.reason.value, c2.remaining),
        (False, "limit_reached", D(0)),
    )
    soft = aggregate_entitlements([src("a", EntityType.PLAN, 10, soft=True), src("b", EntityType.PLAN, 10)])
    c3 = check_entitlement(soft, D(25))
    check(
        "§7 soft if any row is soft",
        (c3.allowed, c3.reason.value, c3.remaining),
        (True, "soft_limit_exceeded", D(0)),
    )
    unl = aggregate_entitlements([src("a", EntityType.PLAN, 10), src("b", EntityType.PLAN, None)])
    check(
        "§7 any unlimited → unlimited",
        (unl.usage_limit, check_entitlement(unl, D(10**9)).reason.value),
        (None, "unlimited"),
    )

    now = at(2024, 6, 1)
    promo = CreditBalance(
        transaction_id="promo",
        remaining=D(20),
        priority=1,
        expiry_date=now + timedelta(days=10),
        created_at=now - timedelta(days=5),
    )
    topup = CreditBalance(transaction_id="topup", remaining=D(100), created_at=now - timedelta(days=40))
    old = CreditBalance(
        transaction_id="old", remaining=D(30), expiry_date=now, created_at=now - timedelta(days=60)
    )
    check(
        "§7 wallet consumption order",
        plan_consumption([promo, topup, old], D(50), now),
        [("promo", D(20)), ("topup", D(30))],
    )
    check(
        "§7 never more than available",
        sum(a for _, a in plan_consumption([promo, topup], D(500), now)),
        D(120),
    )

    once = Coupon(id="o", type=CouponType.PERCENTAGE, percentage_off=D(10))
    rep = Coupon(
        id="r",
        type=CouponType.PERCENTAGE,
        percentage_off=D(10),
        cadence=CouponCadence.REPEATED,
        duration_in_periods=3,
    )
    forever = Coupon(id="f", type=CouponType.PERCENTAGE, percentage_off=D(10), cadence=CouponCadence.FOREVER)
    check(
        "§7 once / repeated(3) / forever over periods 0..4",
        [[coupon_applies(cp, n) for n in range(5)] for cp in (once, rep, forever)],
        [[True, False, False, False, False], [True, True, True, False, False], [True] * 5],
    )
    window = Coupon(
        id="w",
        type=CouponType.FIXED,
        amount_off=D(5),
        currency="usd",
        redeem_after=at(2024, 1, 1),
        redeem_before=at(2024, 2, 1),
        max_redemptions=2,
        total_redemptions=1,
    )
    check(
        "§7 redeem window half-open",
        [is_coupon_redeemable(window, t) for t in (at(2024, 1, 1), at(2024, 1, 31, 23), at(2024, 2, 1))],
        [True, True, False],
    )


if __name__ == "__main__":
    for section in (
        section_1,
        section_2,
        section_3,
        section_4,
        section_5,
        section_6,
        section_6_edges,
        section_7,
        known_gaps,
    ):
        section()
    print(f"{checked} figures match docs/billing-semantics.md")
