"""Prices: validation and cost (docs/billing-semantics.md §3), every example row of the spec."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from flexprice_pipelines.billing.errors import InvalidPrice
from flexprice_pipelines.billing.pricing import (
    BillingModel,
    BillingPeriod,
    InvalidPriceDetails,
    InvoiceCadence,
    Price,
    PriceType,
    Tier,
    TierCost,
    TierMode,
    TransformQuantity,
    calculate_bucketed_cost,
    calculate_cost,
    cost_breakdown,
)

D = Decimal

TIERS_A: list[dict[str, Any]] = [
    {"up_to": 10, "unit_amount": "50"},
    {"up_to": 20, "unit_amount": "40"},
    {"up_to": None, "unit_amount": "30"},
]
TIERS_STEPS: list[dict[str, Any]] = [
    {"up_to": 1, "unit_amount": "10"},
    {"up_to": 2, "unit_amount": "20"},
    {"up_to": None, "unit_amount": "30"},
]
TIERS_FLAT: list[dict[str, Any]] = [
    {"up_to": 5, "unit_amount": "0", "flat_amount": "1"},
    {"up_to": 10, "unit_amount": "1", "flat_amount": "2"},
    {"up_to": None, "unit_amount": "2"},
]
TIERS_CENTS: list[dict[str, Any]] = [
    {"up_to": 10, "unit_amount": "0.10"},
    {"up_to": 20, "unit_amount": "0.05"},
    {"up_to": None, "unit_amount": "0.02"},
]


def usage(**fields: Any) -> dict[str, Any]:
    """A valid USAGE price payload with ``fields`` overriding the defaults."""
    return {
        "type": "USAGE",
        "billing_model": "FLAT_FEE",
        "amount": "1",
        "currency": "usd",
        "billing_period": "MONTHLY",
        "invoice_cadence": "ARREAR",
        "meter_id": "meter_api_calls",
    } | fields


def flat_fee(amount: str) -> Price:
    return Price.model_validate(usage(amount=amount))


def package(amount: str, divide_by: int, round_mode: str) -> Price:
    return Price.model_validate(
        usage(
            billing_model="PACKAGE",
            amount=amount,
            transform_quantity={"divide_by": divide_by, "round": round_mode},
        )
    )


def tiered(mode: str, tiers: list[dict[str, Any]]) -> Price:
    return Price.model_validate(usage(billing_model="TIERED", tier_mode=mode, tiers=tiers, amount="0"))


# --- §3 example table --------------------------------------------------------------------------------

EXAMPLES: list[tuple[str, Price, str, str]] = [
    ("FLAT_FEE 100", flat_fee("100"), "5", "500"),
    ("PACKAGE 50/10 up", package("50", 10, "up"), "25", "150"),
    *[
        ("PACKAGE 1/100 up", package("1", 100, "up"), qty, cost)
        for qty, cost in [("0", "0"), ("99", "1"), ("100", "1"), ("101", "2"), ("150", "2"), ("300", "3")]
    ],
    *[
        ("PACKAGE 1/100 down", package("1", 100, "down"), qty, cost)
        for qty, cost in [("50", "0"), ("250", "2")]
    ],
    *[
        ("VOLUME tiers A", tiered("VOLUME", TIERS_A), qty, cost)
        for qty, cost in [("5", "250"), ("15", "600"), ("25", "750")]
    ],
    *[
        ("SLAB tiers A", tiered("SLAB", TIERS_A), qty, cost)
        for qty, cost in [("5", "250"), ("15", "700"), ("25", "1050")]
    ],
    *[
        ("SLAB 10/20/30", tiered("SLAB", TIERS_STEPS), qty, cost)
        for qty, cost in [("0", "0"), ("1", "10"), ("2", "30"), ("2.5", "45"), ("3", "60")]
    ],
    *[
        ("SLAB with flat amounts", tiered("SLAB", TIERS_FLAT), qty, cost)
        for qty, cost in [("3", "1"), ("7", "5"), ("12", "12")]
    ],
]


@pytest.mark.parametrize(
    ("price", "quantity", "expected"),
    [pytest.param(price, qty, cost, id=f"{name}-q{qty}") for name, price, qty, cost in EXAMPLES],
)
def test_cost_matches_the_spec_examples(price: Price, quantity: str, expected: str) -> None:
    assert calculate_cost(price, D(quantity)) == D(expected)


@pytest.mark.parametrize(
    ("price", "quantity"),
    [pytest.param(price, qty, id=f"{name}-q{qty}") for name, price, qty, _ in EXAMPLES],
)
def test_breakdown_sums_to_the_cost(price: Price, quantity: str) -> None:
    parts = cost_breakdown(price, D(quantity))
    assert sum((part.amount for part in parts), D(0)) == calculate_cost(price, D(quantity))


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("SLAB", "2.15"), ("VOLUME", "1.65")],
)
def test_bucketed_cost_prices_each_bucket_separately(mode: str, expected: str) -> None:
    price = tiered(mode, TIERS_CENTS)
    assert calculate_bucketed_cost(price, [D(9), D(15)]) == D(expected)
    # Pricing the summed quantity instead would give another number.
    assert calculate_cost(price, D(24)) != D(expected)


def test_bucketed_cost_of_no_buckets_is_zero() -> None:
    assert calculate_bucketed_cost(tiered("SLAB", TIERS_CENTS), []) == 0


# --- quantity handling ---------------------------------------------------------------------------

ALL_MODELS = [
    pytest.param(flat_fee("100"), id="flat_fee"),
    pytest.param(package("50", 10, "up"), id="package"),
    pytest.param(tiered("VOLUME", TIERS_FLAT), id="volume-with-flat"),
    pytest.param(tiered("SLAB", TIERS_FLAT), id="slab-with-flat"),
]


@pytest.mark.parametrize("price", ALL_MODELS)
def test_quantity_zero_costs_zero_even_with_a_flat_amount(price: Price) -> None:
    assert calculate_cost(price, D(0)) == 0
    assert cost_breakdown(price, D(0)) == []


@pytest.mark.parametrize("price", ALL_MODELS)
def test_negative_quantity_is_floored_at_zero(price: Price) -> None:
    assert calculate_cost(price, D("-7")) == 0
    assert cost_breakdown(price, D("-7")) == []


@pytest.mark.parametrize("price", ALL_MODELS)
def test_float_quantity_is_refused(price: Price) -> None:
    with pytest.raises(TypeError):
        calculate_cost(price, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cost_breakdown(price, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        calculate_bucketed_cost(price, [D(1), 2.5])  # type: ignore[list-item]


def test_non_finite_quantity_is_refused() -> None:
    with pytest.raises(ValueError):
        calculate_cost(flat_fee("1"), D("NaN"))


def test_flat_fee_ignores_transform_quantity() -> None:
    price = Price.model_validate(usage(amount="100", transform_quantity={"divide_by": 10}))
    assert calculate_cost(price, D(5)) == D(500)


def test_flat_fee_keeps_fractional_cost_unrounded() -> None:
    assert calculate_cost(flat_fee("0.0015"), D(3)) == D("0.0045")


def test_package_rounds_fractional_quantities_up() -> None:
    assert calculate_cost(package("2", 100, "up"), D("0.5")) == D(2)
    assert calculate_cost(package("2", 100, "down"), D("199.999")) == D(2)


def test_package_remainder_is_exact_beyond_decimal_precision() -> None:
    # A 28-digit quotient would round this to exactly 1 package; there is a remainder.
    quantity = D("100.0000000000000000000000000001")
    assert calculate_cost(package("1", 100, "up"), quantity) == D(2)


# --- tier boundaries -----------------------------------------------------------------------------


def test_volume_up_to_is_inclusive() -> None:
    price = tiered("VOLUME", TIERS_A)
    assert calculate_cost(price, D(10)) == D(500)  # 10 × 50: still the first tier
    assert calculate_cost(price, D("10.001")) == D("400.040")  # just above: the second tier
    assert calculate_cost(price, D(20)) == D(800)


def test_volume_adds_the_reached_tiers_flat_amount() -> None:
    price = tiered("VOLUME", TIERS_FLAT)
    assert calculate_cost(price, D(3)) == D(1)  # 3 × 0 + 1
    assert calculate_cost(price, D(7)) == D(9)  # 7 × 1 + 2
    assert calculate_cost(price, D(12)) == D(24)  # 12 × 2 + 0


def test_slab_quantity_on_a_boundary_does_not_touch_the_next_tier() -> None:
    price = tiered("SLAB", TIERS_FLAT)
    # At exactly 5 only the first tier's flat fee applies; the second tier's 2 is not charged.
    assert calculate_cost(price, D(5)) == D(1)
    assert [part.tier_index for part in cost_breakdown(price, D(5))] == [0]
    assert calculate_cost(price, D("5.5")) == D("3.5")


def test_quantity_above_a_bounded_last_tier_is_priced_at_that_tier() -> None:
    tiers = [{"up_to": 10, "unit_amount": "2"}, {"up_to": 20, "unit_amount": "1"}]
    assert calculate_cost(tiered("VOLUME", tiers), D(30)) == D(30)
    # SLAB: 10 × 2 + 20 × 1; the 10 units past the last bound are not dropped.
    assert calculate_cost(tiered("SLAB", tiers), D(30)) == D(40)
    assert cost_breakdown(tiered("SLAB", tiers), D(30))[-1].quantity == D(20)


# --- breakdown -----------------------------------------------------------------------------------


def test_slab_breakdown_lists_each_touched_tier() -> None:
    parts = cost_breakdown(tiered("SLAB", TIERS_A), D(25))
    assert parts == [
        TierCost(0, D(0), D(10), D(10), D(50), D(0), D(500)),
        TierCost(1, D(10), D(20), D(10), D(40), D(0), D(400)),
        TierCost(2, D(20), None, D(5), D(30), D(0), D(150)),
    ]


def test_slab_breakdown_includes_flat_amounts_of_touched_tiers() -> None:
    parts = cost_breakdown(tiered("SLAB", TIERS_FLAT), D(7))
    assert [(p.tier_index, p.quantity, p.flat_amount, p.amount) for p in parts] == [
        (0, D(5), D(1), D(1)),
        (1, D(2), D(2), D(4)),
    ]


def test_volume_breakdown_is_one_entry_for_the_reached_tier() -> None:
    parts = cost_breakdown(tiered("VOLUME", TIERS_A), D(15))
    assert parts == [TierCost(1, D(10), D(20), D(15), D(40), D(0), D(600))]


def test_flat_fee_breakdown_describes_units() -> None:
    assert cost_breakdown(flat_fee("100"), D(5)) == [TierCost(None, D(0), None, D(5), D(100), D(0), D(500))]


def test_package_breakdown_describes_packages() -> None:
    [part] = cost_breakdown(package("1", 100, "up"), D(101))
    assert (part.quantity, part.package_size, part.unit_amount, part.amount) == (D(2), D(100), D(1), D(2))


def test_tier_cost_is_immutable() -> None:
    part = cost_breakdown(flat_fee("1"), D(1))[0]
    with pytest.raises(AttributeError):
        part.amount = D(0)  # type: ignore[misc]


# --- parsing a Flexprice price -------------------------------------------------------------------

FLEXPRICE_PRICE = {
    "id": "price_01JABCDEF",
    "amount": "0",
    "display_amount": "$0",
    "currency": "USD",
    "price_unit_type": "FIAT",
    "type": "USAGE",
    "billing_period": "MONTHLY",
    "billing_period_count": 1,
    "billing_model": "TIERED",
    "display_name": "API calls",
    "billing_cadence": "RECURRING",
    "invoice_cadence": "ARREAR",
    "trial_period": 0,
    "tier_mode": "SLAB",
    "tiers": [
        {"up_to": 1000, "unit_amount": "0.01", "flat_amount": "5"},
        {"up_to": None, "unit_amount": "0.005", "flat_amount": None},
    ],
    "meter_id": "meter_01JAPI",
    "lookup_key": "api-calls-monthly",
    "description": "",
    "transform_quantity": {},
    "metadata": {"team": "core"},
    "environment_id": "env_01",
    "entity_type": "PLAN",
    "entity_id": "plan_01",
    "tenant_id": "tenant_01",
    "status": "published",
    "created_at": "2025-01-01T00:00:00Z",
}


def test_a_flexprice_price_object_is_accepted_and_extra_fields_ignored() -> None:
    price = Price.model_validate(FLEXPRICE_PRICE)
    assert price.id == "price_01JABCDEF"
    assert price.type is PriceType.USAGE
    assert price.billing_model is BillingModel.TIERED
    assert price.tier_mode is TierMode.SLAB
    assert price.billing_period is BillingPeriod.MONTHLY
    assert price.invoice_cadence is InvoiceCadence.ARREAR
    assert price.currency == "usd"
    assert price.display_name == "API calls"
    assert price.lookup_key == "api-calls-monthly"
    assert price.tiers == (
        Tier(up_to=D(1000), unit_amount=D("0.01"), flat_amount=D(5)),
        Tier(up_to=None, unit_amount=D("0.005"), flat_amount=D(0)),
    )
    assert price.transform_quantity == TransformQuantity(divide_by=None, round="up")
    assert not hasattr(price, "metadata")
    assert calculate_cost(price, D(1500)) == D("17.500")


def test_a_flexprice_price_is_accepted_as_json() -> None:
    price = Price.model_validate_json(json.dumps(FLEXPRICE_PRICE))
    assert price == Price.model_validate(FLEXPRICE_PRICE)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("12.50", "12.5"), (12, "12"), (D("12.5"), "12.5"), (" 3 ", "3")],
    ids=["str", "int", "decimal", "padded-str"],
)
def test_amounts_accept_strings_ints_and_decimals(amount: object, expected: str) -> None:
    parsed = Price.model_validate(usage(amount=amount)).amount
    assert isinstance(parsed, Decimal)
    assert parsed == D(expected)


def test_defaults() -> None:
    price = Price.model_validate(
        {
            "type": "FIXED",
            "billing_model": "PACKAGE",
            "amount": "9",
            "currency": "eur",
            "billing_period": "ANNUAL",
            "invoice_cadence": "ADVANCE",
            "transform_quantity": {"divide_by": 5},
        }
    )
    assert price.billing_period_count == 1
    assert price.transform_quantity is not None
    assert price.transform_quantity.round == "up"
    assert price.meter_id is None
    assert price.tiers is None
    assert price.trial_period_days == 0


def test_trial_period_days_accepts_flexprices_trial_period_name() -> None:
    assert Price.model_validate(usage(trial_period=14)).trial_period_days == 14
    assert Price.model_validate(usage(trial_period_days=7)).trial_period_days == 7


def test_flexprice_empty_strings_mean_not_set() -> None:
    price = Price.model_validate(usage(tier_mode="", lookup_key="", type="FIXED", meter_id=""))
    assert (price.tier_mode, price.lookup_key, price.meter_id) == (None, None, None)


def test_price_round_trips_through_json() -> None:
    price = tiered("SLAB", TIERS_FLAT)
    assert Price.model_validate(price.model_dump(mode="json")) == price
    assert Price.model_validate_json(price.model_dump_json()) == price


def test_price_is_immutable() -> None:
    price = flat_fee("1")
    with pytest.raises(ValidationError):
        price.amount = D(2)  # type: ignore[misc]


# --- validation: every rule names its field -------------------------------------------------------

INVALID: list[tuple[str, dict[str, Any], str | None]] = [
    ("usage-advance", usage(invoice_cadence="ADVANCE"), "invoice_cadence"),
    ("onetime-arrear", usage(type="FIXED", billing_period="ONETIME"), "invoice_cadence"),
    ("usage-without-meter", usage(meter_id=None), "meter_id"),
    ("usage-with-empty-meter", usage(meter_id=""), "meter_id"),
    ("tiered-without-tiers", usage(billing_model="TIERED", tier_mode="SLAB"), "tiers"),
    ("tiered-with-empty-tiers", usage(billing_model="TIERED", tier_mode="SLAB", tiers=[]), "tiers"),
    ("tiered-without-mode", usage(billing_model="TIERED", tiers=TIERS_A), "tier_mode"),
    (
        "unsorted-up-to",
        usage(
            billing_model="TIERED",
            tier_mode="VOLUME",
            tiers=[{"up_to": 20, "unit_amount": 1}, {"up_to": 10, "unit_amount": 1}, {"unit_amount": 1}],
        ),
        "tiers.1.up_to",
    ),
    (
        "duplicate-up-to",
        usage(
            billing_model="TIERED",
            tier_mode="SLAB",
            tiers=[
                {"up_to": 5, "unit_amount": 1},
                {"up_to": 10, "unit_amount": 1},
                {"up_to": 10, "unit_amount": 1},
            ],
        ),
        "tiers.2.up_to",
    ),
    (
        "null-up-to-not-last",
        usage(
            billing_model="TIERED",
            tier_mode="SLAB",
            tiers=[{"up_to": None, "unit_amount": 1}, {"up_to": 10, "unit_amount": 1}],
        ),
        "tiers.0.up_to",
    ),
    ("negative-amount", usage(amount="-0.01"), "amount"),
    (
        "negative-unit-amount",
        usage(
            billing_model="TIERED",
            tier_mode="SLAB",
            tiers=[{"up_to": 1, "unit_amount": 1}, {"up_to": None, "unit_amount": "-1"}],
        ),
        "tiers.1.unit_amount",
    ),
    (
        "negative-flat-amount",
        usage(
            billing_model="TIERED",
            tier_mode="SLAB",
            tiers=[{"up_to": None, "unit_amount": 1, "flat_amount": "-5"}],
        ),
        "tiers.0.flat_amount",
    ),
    (
        "negative-up-to",
        usage(billing_model="TIERED", tier_mode="SLAB", tiers=[{"up_to": -1, "unit_amount": 1}]),
        "tiers.0.up_to",
    ),
    ("package-without-transform", usage(billing_model="PACKAGE"), "transform_quantity"),
    (
        "package-without-divide-by",
        usage(billing_model="PACKAGE", transform_quantity={"round": "up"}),
        "transform_quantity.divide_by",
    ),
    (
        "package-divide-by-zero",
        usage(billing_model="PACKAGE", transform_quantity={"divide_by": 0}),
        "transform_quantity.divide_by",
    ),
    (
        "package-divide-by-fraction",
        usage(billing_model="PACKAGE", transform_quantity={"divide_by": "2.5"}),
        "transform_quantity.divide_by",
    ),
    (
        "divide-by-negative-on-flat-fee",
        usage(transform_quantity={"divide_by": -1}),
        "transform_quantity.divide_by",
    ),
    (
        "round-nearest",
        usage(billing_model="PACKAGE", transform_quantity={"divide_by": 10, "round": "nearest"}),
        "transform_quantity.round",
    ),
    ("unknown-type", usage(type="SEAT"), "type"),
    ("missing-type", {k: v for k, v in usage().items() if k != "type"}, "type"),
    ("unknown-billing-model", usage(billing_model="STAIRSTEP"), "billing_model"),
    (
        "unknown-tier-mode",
        usage(billing_model="TIERED", tier_mode="GRADUATED", tiers=TIERS_A),
        "tier_mode",
    ),
    ("unknown-billing-period", usage(billing_period="YEARLY"), "billing_period"),
    ("lower-case-cadence", usage(invoice_cadence="arrear"), "invoice_cadence"),
    ("currency-too-long", usage(currency="usdd"), "currency"),
    ("currency-with-digit", usage(currency="us1"), "currency"),
    ("currency-not-a-string", usage(currency=840), "currency"),
    ("missing-currency", {k: v for k, v in usage().items() if k != "currency"}, "currency"),
    ("float-amount", usage(amount=1.5), "amount"),
    ("text-amount", usage(amount="one"), "amount"),
    ("nan-amount", usage(amount="NaN"), "amount"),
    ("infinite-amount", usage(amount="Infinity"), "amount"),
    (
        "float-unit-amount",
        usage(billing_model="TIERED", tier_mode="SLAB", tiers=[{"up_to": None, "unit_amount": 0.1}]),
        "tiers.0.unit_amount",
    ),
    (
        "float-up-to",
        usage(billing_model="TIERED", tier_mode="SLAB", tiers=[{"up_to": 1.5, "unit_amount": 1}]),
        "tiers.0.up_to",
    ),
    (
        "tier-without-unit-amount",
        usage(billing_model="TIERED", tier_mode="SLAB", tiers=[{"up_to": None}]),
        "tiers.0.unit_amount",
    ),
    ("tiers-not-a-list", usage(billing_model="TIERED", tier_mode="SLAB", tiers="A"), "tiers"),
    ("period-count-zero", usage(billing_period_count=0), "billing_period_count"),
    ("period-count-float", usage(billing_period_count=1.0), "billing_period_count"),
    ("period-count-bool", usage(billing_period_count=True), "billing_period_count"),
    ("negative-trial", usage(trial_period_days=-1), "trial_period_days"),
    ("not-an-object", ["USAGE"], None),  # type: ignore[list-item]
]


@pytest.mark.parametrize(
    ("payload", "field"),
    [pytest.param(payload, field, id=name) for name, payload, field in INVALID],
)
def test_invalid_price_names_the_offending_field(payload: Any, field: str | None) -> None:
    with pytest.raises(InvalidPrice) as caught:
        Price.model_validate(payload)
    assert caught.value.field == field
    assert caught.value.message


def test_pydantic_validation_error_never_escapes() -> None:
    for _, payload, _ in INVALID:
        try:
            Price.model_validate(payload)
        except InvalidPrice:
            continue
        pytest.fail(f"accepted {payload!r}")


def test_the_constructor_and_json_parser_raise_invalid_price_too() -> None:
    with pytest.raises(InvalidPrice) as from_kwargs:
        Price(**usage(invoice_cadence="ADVANCE"))
    assert from_kwargs.value.field == "invoice_cadence"
    with pytest.raises(InvalidPrice) as from_json:
        Price.model_validate_json(json.dumps(usage(amount=-1)))
    assert from_json.value.field == "amount"
    with pytest.raises(InvalidPrice) as from_json_float:
        Price.model_validate_json('{"amount": 1.5}')
    assert from_json_float.value.field is not None


def test_a_tier_on_its_own_raises_invalid_price() -> None:
    with pytest.raises(InvalidPrice) as caught:
        Tier(up_to=D(1), unit_amount=D("-1"))
    assert caught.value.field == "unit_amount"
    with pytest.raises(InvalidPrice) as caught_transform:
        TransformQuantity.model_validate({"divide_by": 0})
    assert caught_transform.value.field == "divide_by"


def test_all_problems_are_listed_and_the_first_is_reported() -> None:
    payload = usage(
        billing_model="PACKAGE",
        invoice_cadence="ADVANCE",
        meter_id=None,
    )
    with pytest.raises(InvalidPriceDetails) as caught:
        Price.model_validate(payload)
    fields = [field for field, _ in caught.value.errors]
    assert fields == ["transform_quantity", "invoice_cadence", "meter_id"]
    assert caught.value.field == "transform_quantity"
    assert str(caught.value).startswith("transform_quantity: ")


def test_several_field_errors_are_all_listed() -> None:
    with pytest.raises(InvalidPriceDetails) as caught:
        Price.model_validate(usage(amount=1.5, currency="dollars", billing_period="FORTNIGHTLY"))
    assert {field for field, _ in caught.value.errors} == {"amount", "currency", "billing_period"}
    assert "float" in dict(caught.value.errors)["amount"]
