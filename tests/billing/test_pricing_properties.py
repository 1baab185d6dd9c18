"""Property tests for prices and rounding (hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.money import currency_precision, quantum, round_amount
from flexprice_pipelines.billing.pricing import (
    Price,
    calculate_bucketed_cost,
    calculate_cost,
    cost_breakdown,
)

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)

quantities = st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False, allow_infinity=False)
money = st.decimals(min_value=0, max_value=1_000, places=4, allow_nan=False, allow_infinity=False)
currencies = st.sampled_from(["usd", "jpy", "krw", "kwd", "clf", "eur", "xyz"])


@st.composite
def tier_lists(draw: st.DrawFn, whole_bounds: bool = False) -> list[dict[str, Any]]:
    """Valid tiers: strictly increasing bounds, the last one unbounded or not."""
    bound_values = (
        st.integers(min_value=1, max_value=200).map(Decimal)
        if whole_bounds
        else st.decimals(min_value="0.01", max_value=50_000, places=2)
    )
    bounds = sorted(draw(st.sets(bound_values, min_size=0, max_size=4)))
    if not bounds or draw(st.booleans()):
        bounds_or_open: list[Decimal | None] = [*bounds, None]
    else:
        bounds_or_open = list(bounds)
    return [
        {"up_to": bound, "unit_amount": str(draw(money)), "flat_amount": str(draw(money))}
        for bound in bounds_or_open
    ]


def tiered(mode: str, tiers: list[dict[str, Any]]) -> Price:
    return Price.model_validate(
        {
            "type": "USAGE",
            "billing_model": "TIERED",
            "tier_mode": mode,
            "tiers": tiers,
            "currency": "usd",
            "billing_period": "MONTHLY",
            "invoice_cadence": "ARREAR",
            "meter_id": "m",
        }
    )


@st.composite
def any_prices(draw: st.DrawFn) -> Price:
    model = draw(st.sampled_from(["FLAT_FEE", "PACKAGE", "VOLUME", "SLAB"]))
    if model in ("VOLUME", "SLAB"):
        return tiered(model, draw(tier_lists()))
    payload: dict[str, Any] = {
        "type": "FIXED",
        "billing_model": model,
        "amount": str(draw(money)),
        "currency": "usd",
        "billing_period": "MONTHLY",
        "invoice_cadence": "ADVANCE",
    }
    if model == "PACKAGE":
        payload["transform_quantity"] = {
            "divide_by": draw(st.integers(min_value=1, max_value=1_000)),
            "round": draw(st.sampled_from(["up", "down"])),
        }
    return Price.model_validate(payload)


@PROPERTY_SETTINGS
@given(tiers=tier_lists(), quantity=quantities)
def test_slab_breakdown_parts_sum_to_the_total(tiers: list[dict[str, Any]], quantity: Decimal) -> None:
    price = tiered("SLAB", tiers)
    parts = cost_breakdown(price, quantity)
    assert sum((part.amount for part in parts), Decimal(0)) == calculate_cost(price, quantity)
    assert sum((part.quantity for part in parts), Decimal(0)) == quantity
    for part in parts:
        assert part.quantity > 0
        assert part.amount == part.quantity * part.unit_amount + part.flat_amount
        last = part.tier_index == len(tiers) - 1
        if part.up_to is not None and not last:
            assert part.quantity <= part.up_to - part.from_quantity


@PROPERTY_SETTINGS
@given(price=any_prices(), quantity=quantities)
def test_breakdown_sums_to_the_cost_under_every_model(price: Price, quantity: Decimal) -> None:
    parts = cost_breakdown(price, quantity)
    assert sum((part.amount for part in parts), Decimal(0)) == calculate_cost(price, quantity)


@PROPERTY_SETTINGS
@given(tiers=tier_lists(), fraction=st.decimals(min_value=0, max_value=1, places=4))
def test_volume_and_slab_agree_inside_the_first_tier(tiers: list[dict[str, Any]], fraction: Decimal) -> None:
    first_bound = tiers[0]["up_to"]
    quantity = fraction * (first_bound if first_bound is not None else Decimal(1_000))
    assert calculate_cost(tiered("VOLUME", tiers), quantity) == calculate_cost(
        tiered("SLAB", tiers), quantity
    )


@PROPERTY_SETTINGS
@given(tiers=tier_lists(), a=quantities, b=quantities)
def test_slab_cost_is_monotone_in_quantity(tiers: list[dict[str, Any]], a: Decimal, b: Decimal) -> None:
    price = tiered("SLAB", tiers)
    low, high = sorted((a, b))
    assert calculate_cost(price, low) <= calculate_cost(price, high)


@PROPERTY_SETTINGS
@given(tiers=tier_lists(whole_bounds=True), quantity=st.integers(min_value=0, max_value=250))
def test_slab_equals_a_unit_by_unit_reference(tiers: list[dict[str, Any]], quantity: int) -> None:
    """Price whole quantities one unit at a time: unit k falls in the first tier with k ≤ up_to."""

    def tier_of(unit: int) -> int:
        for index, tier in enumerate(tiers):
            if tier["up_to"] is None or unit <= tier["up_to"]:
                return index
        return len(tiers) - 1  # past a bounded last tier

    touched = [tier_of(unit) for unit in range(1, quantity + 1)]
    expected = sum((Decimal(tiers[i]["unit_amount"]) for i in touched), Decimal(0))
    expected += sum((Decimal(tiers[i]["flat_amount"]) for i in set(touched)), Decimal(0))
    assert calculate_cost(tiered("SLAB", tiers), Decimal(quantity)) == expected


@PROPERTY_SETTINGS
@given(price=any_prices(), buckets=st.lists(quantities, max_size=6))
def test_bucketed_cost_is_the_sum_of_single_costs(price: Price, buckets: list[Decimal]) -> None:
    expected = sum((calculate_cost(price, bucket) for bucket in buckets), Decimal(0))
    assert calculate_bucketed_cost(price, iter(buckets)) == expected


@PROPERTY_SETTINGS
@given(
    amount=st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False),
    currency=currencies,
)
def test_round_amount_is_idempotent_and_within_half_a_unit(amount: Decimal, currency: str) -> None:
    once = round_amount(amount, currency)
    assert round_amount(once, currency) == once
    assert abs(once - amount) <= quantum(currency) / 2
    assert once.as_tuple().exponent == -currency_precision(currency)
