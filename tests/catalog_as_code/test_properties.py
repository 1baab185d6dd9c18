"""Property tests of the pure parts: the YAML format round-trips exactly, and the planner finds
exactly the fields that differ (no database involved)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.catalog.as_code import Action, CatalogSpec, dump_catalog, load_catalog, plan_changes
from flexprice_pipelines.catalog.as_code.spec import (
    AggregationSpec,
    MeterSpec,
    PlanSpec,
    PriceSpec,
    TierSpec,
    TransformQuantitySpec,
)
from flexprice_pipelines.catalog.as_code.state import CatalogState, Existing

amounts = st.integers(0, 8).flatmap(
    lambda places: st.decimals(
        min_value=0, max_value=10**7, places=places, allow_nan=False, allow_infinity=False
    )
)
keys = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


@st.composite
def tiers(draw: st.DrawFn) -> list[TierSpec]:
    bounds = sorted(draw(st.sets(st.integers(1, 10**9), min_size=0, max_size=4)))
    ups: list[Decimal | None] = [Decimal(b) for b in bounds]
    return [TierSpec(up_to=up, unit_amount=draw(amounts), flat_amount=draw(amounts)) for up in [*ups, None]]


@st.composite
def prices(draw: st.DrawFn, key: str) -> PriceSpec:
    model = draw(st.sampled_from(["FLAT_FEE", "PACKAGE", "TIERED"]))
    usage = draw(st.booleans())
    return PriceSpec(
        lookup_key=key,
        type="USAGE" if usage else "FIXED",
        billing_model=model,
        tier_mode=draw(st.sampled_from(["VOLUME", "SLAB"])) if model == "TIERED" else None,
        tiers=draw(tiers()) if model == "TIERED" else None,
        amount=Decimal(0) if model == "TIERED" else draw(amounts),
        currency=draw(st.sampled_from(["usd", "eur", "jpy", "kwd"])),
        transform_quantity=TransformQuantitySpec(
            divide_by=draw(st.integers(1, 10**6)), round=draw(st.sampled_from(["up", "down"]))
        )
        if model == "PACKAGE"
        else None,
        billing_period=draw(st.sampled_from(["MONTHLY", "ANNUAL", "WEEKLY"])),
        billing_period_count=draw(st.integers(1, 3)),
        invoice_cadence="ARREAR" if usage else draw(st.sampled_from(["ADVANCE", "ARREAR"])),
        meter="calls" if usage else None,
    )


@st.composite
def catalogs(draw: st.DrawFn) -> CatalogSpec:
    price_keys = draw(st.lists(keys, min_size=1, max_size=5, unique=True))
    split = draw(st.integers(0, len(price_keys)))
    groups = [price_keys[:split], price_keys[split:]]
    plans = [
        PlanSpec(lookup_key=f"plan_{i}", name=f"Plan {i}", prices=[draw(prices(k)) for k in group])
        for i, group in enumerate(groups)
    ]
    meter = MeterSpec(
        lookup_key="calls", name="Calls", event_name="api", aggregation=AggregationSpec(type="COUNT")
    )
    return CatalogSpec(meters=[meter], plans=plans)


def state_of(catalog: CatalogSpec, used: frozenset[str] = frozenset()) -> CatalogState:
    """The stored state a database would hold after applying ``catalog``."""
    state = CatalogState()
    for meter in catalog.meters:
        state.meters[meter.identity] = Existing(f"meter_{meter.lookup_key}", "published", meter)
    for plan in catalog.plans:
        bare = plan.model_copy(update={"prices": [], "entitlements": []})
        state.plans[plan.lookup_key] = Existing(f"plan_{plan.lookup_key}", "published", bare)
        for price in plan.prices:
            state.prices[price.lookup_key] = Existing(
                f"price_{price.lookup_key}",
                "published",
                price,
                {"plan": plan.lookup_key},
                price.lookup_key in used,
            )
    return state


@settings(max_examples=150, deadline=None)
@given(catalogs())
def test_yaml_round_trip_is_exact(catalog: CatalogSpec) -> None:
    text = dump_catalog(catalog)
    assert load_catalog(text) == catalog.sorted()
    assert dump_catalog(load_catalog(text)) == text


@settings(max_examples=150, deadline=None)
@given(catalogs())
def test_a_catalog_planned_against_itself_has_no_writes(catalog: CatalogSpec) -> None:
    plan = plan_changes(catalog, state_of(catalog), prune=True)
    assert plan.writes == ()
    assert len(plan.changes) == 1 + len(catalog.plans) + sum(len(p.prices) for p in catalog.plans)


@settings(max_examples=150, deadline=None)
@given(catalogs(), st.data())
def test_a_changed_amount_is_the_only_change_found(catalog: CatalogSpec, data: st.DataObject) -> None:
    plan_index = data.draw(st.sampled_from([i for i, p in enumerate(catalog.plans) if p.prices]))
    price_index = data.draw(st.integers(0, len(catalog.plans[plan_index].prices) - 1))
    old = catalog.plans[plan_index].prices[price_index]
    new_amount = data.draw(amounts.filter(lambda a: a != old.amount))
    in_use = data.draw(st.booleans())
    edited_plans = list(catalog.plans)
    edited_prices = list(edited_plans[plan_index].prices)
    edited_prices[price_index] = old.model_copy(update={"amount": new_amount})
    edited_plans[plan_index] = edited_plans[plan_index].model_copy(update={"prices": edited_prices})
    edited = catalog.model_copy(update={"plans": edited_plans})

    plan = plan_changes(edited, state_of(catalog, frozenset({old.lookup_key} if in_use else ())))

    [change] = plan.writes
    assert (change.kind, change.key, change.path) == (
        "price",
        old.lookup_key,
        f"plans[{plan_index}].prices[{price_index}]",
    )
    assert change.action is (Action.REPLACE if in_use else Action.UPDATE)
    assert [(f.field, f.old, f.new) for f in change.fields] == [("amount", old.amount, new_amount)]
