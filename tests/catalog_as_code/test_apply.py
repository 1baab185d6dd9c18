"""`apply` against the real store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.billing.pricing import Price as BillingPrice
from flexprice_pipelines.billing.pricing import calculate_cost
from flexprice_pipelines.catalog import Repository, Scope, db
from flexprice_pipelines.catalog.as_code import Action, CatalogFileError, apply_catalog, load_catalog
from flexprice_pipelines.catalog.models import (
    Coupon,
    Customer,
    Entitlement,
    Feature,
    Meter,
    Plan,
    Price,
    Subscription,
    SubscriptionLineItem,
    TaxRate,
)
from tests.catalog_as_code.helpers import apply_text, example_text, rows, snapshot

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_first_apply_creates_every_object_with_its_fields(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    plan = apply_text(factory, scope, example_text())

    assert {c.action for c in plan.changes} == {Action.CREATE}
    assert plan.count(Action.CREATE) == 6 + 5 + 2 + 8 + 8 + 2 + 2
    assert [
        len(rows(factory, scope, m)) for m in (Meter, Feature, Plan, Price, Entitlement, Coupon, TaxRate)
    ] == [
        6,
        5,
        2,
        8,
        8,
        2,
        2,
    ]
    tokens = rows(factory, scope, Meter, name="Tokens (atlas-large)")[0]
    assert tokens.event_name == "llm_completion"
    assert tokens.aggregation == {"type": "SUM", "field": "total_tokens"}
    assert tokens.filters == [{"key": "model", "values": ["atlas-large", "atlas-large-2025"]}]

    pro = rows(factory, scope, Plan, lookup_key="pro")[0]
    storage = rows(factory, scope, Price, lookup_key="pro_storage")[0]
    storage_meter = rows(factory, scope, Meter, name="Vector storage (GB-month)")[0]
    assert (storage.entity_type, storage.entity_id, storage.meter_id) == ("PLAN", pro.id, storage_meter.id)
    assert storage.tiers == [
        {"up_to": "10", "unit_amount": "0", "flat_amount": "0"},
        {"up_to": "100", "unit_amount": "0.25", "flat_amount": "5.00"},
        {"up_to": None, "unit_amount": "0.10", "flat_amount": "0"},
    ]
    # The stored price is a usable billing price: 150 GB-month = 0 + (90 × 0.25 + 5) + 50 × 0.10.
    stored = BillingPrice.model_validate(
        {c: getattr(storage, c) for c in ("type", "billing_model", "tier_mode", "tiers", "currency")}
        | {
            "billing_period": storage.billing_period,
            "invoice_cadence": storage.invoice_cadence,
            "meter_id": "m",
        }
    )
    assert calculate_cost(stored, Decimal(150)) == Decimal("32.50")

    monthly = rows(factory, scope, Price, lookup_key="pro_monthly")[0]
    assert (monthly.amount, monthly.currency, monthly.billing_cadence, monthly.meter_id) == (
        Decimal("49.00"),
        "usd",
        "RECURRING",
        None,
    )
    package = rows(factory, scope, Price, lookup_key="pro_api_calls")[0]
    assert package.transform_quantity == {"divide_by": 1000, "round": "up"}

    api_calls = rows(factory, scope, Feature, lookup_key="api_calls")[0]
    limit = rows(factory, scope, Entitlement, entity_id=pro.id, feature_id=api_calls.id)[0]
    assert (limit.usage_limit, limit.is_soft_limit, limit.feature_type) == (1000000, True, "metered")
    coupon = rows(factory, scope, Coupon, name="Launch offer — 20% for 3 months")[0]
    assert coupon.metadata_ == {"lookup_key": "launch20"}
    assert coupon.redeem_before == datetime(2026, 7, 1, tzinfo=UTC)
    assert rows(factory, scope, TaxRate, code="US-CA")[0].percentage_value == Decimal("7.25")


def test_second_apply_of_the_same_file_writes_nothing(factory: sessionmaker[Session], scope: Scope) -> None:
    apply_text(factory, scope, example_text())
    before = snapshot(factory, scope)

    plan = apply_text(factory, scope, example_text())

    assert plan.writes == ()
    assert plan.render().startswith("no changes")
    assert snapshot(factory, scope) == before


def test_changes_are_detected_field_by_field_and_written_in_place(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    apply_text(factory, scope, example_text())
    price_id = rows(factory, scope, Price, lookup_key="pro_monthly")[0].id
    edited = (
        example_text()
        .replace("amount: 49.00", "amount: 59.00")
        .replace("usage_limit: 10000\n", "usage_limit: 20000\n")
        .replace("{up_to: 10000000, unit_amount: 0.000008}", "{up_to: 10000000, unit_amount: 0.000007}")
        .replace("name: Single sign-on", "name: SAML single sign-on")
    )

    plan = apply_text(factory, scope, edited)

    changed = {(c.kind, c.key): {f.field: (f.old, f.new) for f in c.fields} for c in plan.writes}
    assert changed[("price", "pro_monthly")] == {"amount": (Decimal("49.00"), Decimal("59.00"))}
    assert changed[("entitlement", "starter/api_calls")] == {"usage_limit": (10000, 20000)}
    assert changed[("feature", "sso")] == {"name": ("Single sign-on", "SAML single sign-on")}
    assert set(changed[("price", "pro_tokens_large")]) == {"tiers"}
    assert len(plan.writes) == 4
    assert "amount: 49.00 → 59.00" in plan.render()
    [monthly] = rows(factory, scope, Price, lookup_key="pro_monthly")
    assert (monthly.id, monthly.amount) == (price_id, Decimal("59.00"))  # unused: updated in place
    assert rows(factory, scope, Price, lookup_key="pro_tokens_large")[0].tiers[1]["unit_amount"] == "0.000007"
    assert apply_text(factory, scope, edited).writes == ()


def test_equal_decimals_written_differently_are_unchanged(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    apply_text(factory, scope, example_text())
    plan = apply_text(factory, scope, example_text().replace("amount: 49.00", "amount: '49'"))
    assert plan.writes == ()


def test_dry_run_reports_the_plan_and_writes_nothing(factory: sessionmaker[Session], scope: Scope) -> None:
    before = snapshot(factory, scope)
    plan = apply_text(factory, scope, example_text(), dry_run=True)
    assert plan.count(Action.CREATE) == 33
    assert snapshot(factory, scope) == before

    apply_text(factory, scope, example_text())
    applied = snapshot(factory, scope)
    plan = apply_text(factory, scope, example_text().replace("amount: 49.00", "amount: 1.00"), dry_run=True)
    assert [(c.kind, c.key, c.action) for c in plan.writes] == [("price", "pro_monthly", Action.UPDATE)]
    assert snapshot(factory, scope) == applied


def _subscribe(factory: sessionmaker[Session], scope: Scope, price_lookup_key: str) -> str:
    with db.write_session(factory) as session:
        price = Repository(session, scope, Price).find_one(lookup_key=price_lookup_key)
        assert price is not None
        customer = Repository(session, scope, Customer).create(external_id="acme", name="Acme")
        subscription = Repository(session, scope, Subscription).create(
            customer_id=customer.id,
            plan_id=price.entity_id,
            currency="usd",
            billing_anchor=T0,
            start_date=T0,
            current_period_start=T0,
            current_period_end=datetime(2026, 4, 1, tzinfo=UTC),
            billing_period="MONTHLY",
        )
        item = Repository(session, scope, SubscriptionLineItem).create(
            subscription_id=subscription.id,
            customer_id=customer.id,
            price_id=price.id,
            currency="usd",
            billing_period="MONTHLY",
        )
        return str(item.id)


def test_a_used_price_whose_amount_changes_gets_a_new_version(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    apply_text(factory, scope, example_text())
    old = rows(factory, scope, Price, lookup_key="pro_monthly")[0]
    item_id = _subscribe(factory, scope, "pro_monthly")

    plan = apply_text(factory, scope, example_text().replace("amount: 49.00", "amount: 59.00"))

    [change] = plan.writes
    assert (change.kind, change.key, change.action, change.row_id) == (
        "price",
        "pro_monthly",
        Action.REPLACE,
        old.id,
    )
    [new] = rows(factory, scope, Price, lookup_key="pro_monthly")
    assert new.id != old.id
    assert (new.amount, new.status, new.entity_id) == (Decimal("59.00"), "published", old.entity_id)
    [archived] = rows(factory, scope, Price, id=old.id)
    assert (archived.status, archived.lookup_key, archived.amount) == ("archived", None, Decimal("49.00"))
    assert archived.metadata_ == {"superseded_lookup_key": "pro_monthly", "superseded_by": new.id}
    # The subscriber keeps the price it signed up for; new subscriptions get the new version.
    assert rows(factory, scope, SubscriptionLineItem, id=item_id)[0].price_id == old.id
    assert apply_text(factory, scope, example_text().replace("amount: 49.00", "amount: 59.00")).writes == ()


def test_a_used_price_keeps_its_row_for_a_description_change(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    apply_text(factory, scope, example_text())
    old = rows(factory, scope, Price, lookup_key="starter_monthly")[0]
    _subscribe(factory, scope, "starter_monthly")
    text = example_text().replace(
        "        trial_period_days: 14\n",
        "        trial_period_days: 14\n        description: Paid monthly\n",
    )

    plan = apply_text(factory, scope, text)

    assert [(c.key, c.action) for c in plan.writes] == [("starter_monthly", Action.UPDATE)]
    [price] = rows(factory, scope, Price, lookup_key="starter_monthly")
    assert (price.id, price.description) == (old.id, "Paid monthly")


def _without_plan(text: str, key: str) -> str:
    start = text.index(f"  - lookup_key: {key}\n    name:")
    end = text.index("\n  - lookup_key: ", start + 1) if key == "starter" else text.index("\ncoupons:")
    return text[:start] + text[end + 1 :]


def test_objects_missing_from_the_file_are_left_alone_unless_pruned(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    apply_text(factory, scope, example_text())
    before = snapshot(factory, scope)
    text = _without_plan(example_text(), "starter")

    plan = apply_text(factory, scope, text)
    assert plan.writes == ()
    left = set(plan.left_alone)
    assert left == {
        "plan starter",
        "price starter_monthly",
        "price starter_api_calls",
        "entitlement starter/api_calls",
        "entitlement starter/sso",
        "entitlement starter/support_tier",
    }
    assert snapshot(factory, scope) == before

    plan = apply_text(factory, scope, text, prune=True)
    assert {c.action for c in plan.writes} == {Action.ARCHIVE}
    assert {f"{c.kind} {c.key}" for c in plan.writes} == left
    assert rows(factory, scope, Plan, lookup_key="starter")[0].status == "archived"
    assert apply_text(factory, scope, text, prune=True).writes == ()

    # Listing it again brings the archived rows back instead of creating duplicates.
    plan = apply_text(factory, scope, example_text())
    assert {c.action for c in plan.writes} == {Action.UPDATE}
    assert all(c.changed == {"status"} for c in plan.writes)
    assert [p.status for p in rows(factory, scope, Plan, lookup_key="starter")] == ["published"]


def test_meters_are_matched_by_event_name_and_name(factory: sessionmaker[Session], scope: Scope) -> None:
    apply_text(factory, scope, example_text())
    meter_id = rows(factory, scope, Meter, name="API calls")[0].id

    # A new file-only key for the same meter changes nothing in the database.
    renamed = example_text().replace("meter: api_calls", "meter: calls")
    renamed = renamed.replace(
        "lookup_key: api_calls\n    name: API calls\n    event_name",
        "lookup_key: calls\n    name: API calls\n    event_name",
    )
    assert renamed.count("calls\n    name: API calls\n    event_name") == 1
    plan = apply_text(factory, scope, renamed)
    assert plan.writes == ()

    # Its aggregation is updated in place; a renamed meter is a different meter.
    text = example_text().replace(
        "aggregation: {type: COUNT}", "aggregation: {type: COUNT}\n    reset_usage: NEVER"
    )
    plan = apply_text(factory, scope, text)
    assert [(c.kind, c.key, c.changed) for c in plan.writes] == [
        ("meter", "api_calls", frozenset({"reset_usage"}))
    ]
    assert rows(factory, scope, Meter, id=meter_id)[0].reset_usage == "NEVER"
    plan = apply_text(
        factory, scope, text.replace("name: API calls\n    event_name", "name: Requests\n    event_name")
    )
    assert plan.writes[0].action is Action.CREATE and plan.writes[0].kind == "meter"
    assert "meter API calls (event_name api_request)" in plan.left_alone


def test_a_store_error_midway_rolls_back_the_whole_apply(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    # An add-on price already owns the lookup_key the file gives a plan price.
    with db.write_session(factory) as session:
        Repository(session, scope, Price).create(
            lookup_key="pro_monthly",
            entity_type="ADDON",
            entity_id="addon_1",
            amount=Decimal(5),
            currency="usd",
            type="FIXED",
            billing_model="FLAT_FEE",
            billing_period="MONTHLY",
            invoice_cadence="ADVANCE",
        )
    before = snapshot(factory, scope)

    with pytest.raises(CatalogFileError) as raised:
        apply_text(factory, scope, example_text())

    [(path, message)] = raised.value.errors
    assert path == "plans[1].prices[0]"
    assert "lookup_key" in message
    assert snapshot(factory, scope) == before
    assert rows(factory, scope, Meter) == []


def test_a_price_moved_to_another_plan_is_reattached(factory: sessionmaker[Session], scope: Scope) -> None:
    apply_text(factory, scope, example_text())
    catalog = load_catalog(example_text())
    starter, pro = catalog.plans
    moved = starter.prices[1]
    edited = catalog.model_copy(
        update={
            "plans": [
                starter.model_copy(update={"prices": starter.prices[:1]}),
                pro.model_copy(update={"prices": [*pro.prices, moved]}),
            ]
        }
    )
    with db.write_session(factory) as session:
        plan = apply_catalog(session, scope, edited)

    [change] = plan.writes
    assert (change.key, change.action, change.path) == (
        "starter_api_calls",
        Action.UPDATE,
        "plans[1].prices[6]",
    )
    assert [(f.field, f.old, f.new) for f in change.fields] == [("plan", "starter", "pro")]
    pro_id = rows(factory, scope, Plan, lookup_key="pro")[0].id
    assert rows(factory, scope, Price, lookup_key="starter_api_calls")[0].entity_id == pro_id
