"""`export` writes the apply format back: stable, decimals as strings, and applying it is a no-op."""

from __future__ import annotations

import yaml
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import Repository, Scope, db
from flexprice_pipelines.catalog.as_code import dump_catalog, export_catalog, load_catalog
from flexprice_pipelines.catalog.models import Meter, Plan, Price
from tests.catalog_as_code.helpers import apply_text, example_text, rows, snapshot


def export_text(factory: sessionmaker[Session], scope: Scope) -> str:
    with factory() as session:
        return dump_catalog(export_catalog(session, scope))


def test_applying_an_export_changes_nothing(factory: sessionmaker[Session], scope: Scope) -> None:
    apply_text(factory, scope, example_text())
    exported = export_text(factory, scope)
    before = snapshot(factory, scope)

    plan = apply_text(factory, scope, exported, prune=True)

    assert plan.writes == ()
    assert plan.left_alone == ()
    assert snapshot(factory, scope) == before
    assert export_text(factory, scope) == exported


def test_export_is_the_applied_file_in_stable_order(factory: sessionmaker[Session], scope: Scope) -> None:
    apply_text(factory, scope, example_text())
    exported = load_catalog(export_text(factory, scope))
    original = load_catalog(example_text()).sorted()

    assert [p.lookup_key for p in exported.plans] == ["pro", "starter"]
    assert [p.lookup_key for p in exported.plans[0].prices] == sorted(
        p.lookup_key for p in original.plans[0].prices
    )
    # Meter keys live only in the file, so export derives its own; everything else comes back as written.
    exported_keys = {m.identity: m.lookup_key for m in exported.meters}
    rename = {m.lookup_key: exported_keys[m.identity] for m in original.meters}
    assert {m.identity: m for m in exported.meters} == {
        m.identity: m.model_copy(update={"lookup_key": rename[m.lookup_key]}) for m in original.meters
    }
    assert exported.features == [
        f.model_copy(update={"meter": f.meter and rename[f.meter]}) for f in original.features
    ]
    assert exported.plans == [
        plan.model_copy(
            update={
                "prices": [p.model_copy(update={"meter": p.meter and rename[p.meter]}) for p in plan.prices]
            }
        )
        for plan in original.plans
    ]
    assert exported.coupons == original.coupons
    assert exported.tax_rates == original.tax_rates


def test_decimals_are_exported_as_strings_with_their_scale(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    apply_text(factory, scope, example_text())
    data = yaml.safe_load(export_text(factory, scope))
    prices = {p["lookup_key"]: p for plan in data["plans"] for p in plan["prices"]}
    assert prices["pro_monthly"]["amount"] == "49.00"
    assert prices["pro_tokens_large"]["tiers"] == [
        {"up_to": "1000000", "unit_amount": "0.000010"},
        {"up_to": "10000000", "unit_amount": "0.000008"},
        {"up_to": None, "unit_amount": "0.000006"},
    ]
    assert data["tax_rates"][0] == {
        "code": "DE-VAT",
        "name": "Germany VAT",
        "tax_rate_type": "percentage",
        "percentage_value": "19",
        "description": "Standard rate for B2C customers in Germany.",
    }


def test_an_export_copies_a_catalog_to_another_tenant(
    factory: sessionmaker[Session], scope: Scope, other_scope: Scope
) -> None:
    apply_text(factory, scope, example_text())
    exported = export_text(factory, scope)

    plan = apply_text(factory, other_scope, exported)

    assert len(plan.writes) == 33
    assert export_text(factory, other_scope) == exported
    assert {p.id for p in rows(factory, scope, Price)}.isdisjoint(
        p.id for p in rows(factory, other_scope, Price)
    )


def test_apply_for_one_tenant_never_touches_another(
    factory: sessionmaker[Session], scope: Scope, other_scope: Scope
) -> None:
    apply_text(factory, scope, example_text())
    before = snapshot(factory, scope)
    exported = export_text(factory, scope)

    # Same lookup keys, other amounts, and a prune that would archive everything not in the file.
    other = example_text().replace("amount: 49.00", "amount: 99.00")
    apply_text(factory, other_scope, other)
    apply_text(factory, other_scope, "tax_rates: []\n", prune=True)

    assert snapshot(factory, scope) == before
    assert export_text(factory, scope) == exported
    assert [p.status for p in rows(factory, other_scope, Plan)] == ["archived", "archived"]
    assert (
        rows(factory, other_scope, Price, lookup_key="pro_monthly")[0].amount
        != rows(factory, scope, Price, lookup_key="pro_monthly")[0].amount
    )


def test_rows_without_a_lookup_key_are_reported_and_not_exported(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    apply_text(factory, scope, example_text())
    with db.write_session(factory) as session:
        Repository(session, scope, Plan).create(name="Made in the UI")
    exported = export_text(factory, scope)
    assert "Made in the UI" not in exported

    plan = apply_text(factory, scope, example_text())
    assert plan.writes == ()
    assert any("Made in the UI" in item and "no lookup_key" in item for item in plan.unmanaged)


def test_exported_meter_keys_are_derived_from_names(factory: sessionmaker[Session], scope: Scope) -> None:
    with db.write_session(factory) as session:
        meters = Repository(session, scope, Meter)
        meters.create(name="Tokens", event_name="llm", aggregation={"type": "SUM", "field": "n"})
        meters.create(name="Tokens", event_name="embedding", aggregation={"type": "SUM", "field": "n"})
        meters.create(name="API calls", event_name="api", aggregation={"type": "COUNT"})
    with factory() as session:
        keys = {(m.event_name, m.lookup_key) for m in export_catalog(session, scope).meters}
    assert keys == {("llm", "tokens.llm"), ("embedding", "tokens.embedding"), ("api", "api_calls")}
