from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import CatalogSession, Conflict, InvalidArgument, NotFound, Repository, Scope
from flexprice_pipelines.catalog.models import Customer, Feature, Meter, Plan, Price, Subscription
from tests.catalog.conftest import new_scope

pytestmark = pytest.mark.usefixtures("database_url")

PRICE = dict(
    amount=Decimal("0.10"),
    currency="usd",
    type="USAGE",
    billing_model="FLAT_FEE",
    billing_period="MONTHLY",
    invoice_cadence="ARREAR",
)


def test_create_get_update_delete(session: Session, scope: Scope) -> None:
    customers = Repository(session, scope, Customer)
    created = customers.create(
        external_id="acme-1", name="Acme", email="ops@acme.test", metadata={"tier": "gold"}
    )
    session.commit()

    assert created.id.startswith("cust_")
    assert (created.tenant_id, created.environment_id) == (scope.tenant_id, scope.environment_id)
    session.expunge_all()
    loaded = customers.get(created.id)
    assert (loaded.name, loaded.email, loaded.metadata_, loaded.status) == (
        "Acme",
        "ops@acme.test",
        {"tier": "gold"},
        "published",
    )

    customers.update(created.id, name="Acme Inc", metadata={"tier": "platinum"})
    session.commit()
    session.expunge_all()
    assert customers.get(created.id).name == "Acme Inc"

    customers.delete(created.id)
    session.commit()
    with pytest.raises(NotFound):
        customers.get(created.id)
    assert customers.list(include_deleted=True).items[0].status == "deleted"


def test_other_tenant_cannot_read_update_list_or_delete(
    factory: sessionmaker[Session], scope: Scope, other_scope: Scope
) -> None:
    with factory() as session:
        mine = Repository(session, scope, Customer).create(external_id="c1", name="Mine")
        session.commit()
    with factory() as session:
        theirs = Repository(session, other_scope, Customer)
        with pytest.raises(NotFound) as excinfo:
            theirs.get(mine.id)
        assert excinfo.value.entity == "customer"
        with pytest.raises(NotFound):
            theirs.update(mine.id, name="stolen")
        with pytest.raises(NotFound):
            theirs.delete(mine.id)
        with pytest.raises(NotFound):
            theirs.update(Repository(session, scope, Customer).get(mine.id), name="stolen")
        assert theirs.list().total == 0
        assert theirs.find_one(external_id="c1") is None
        session.rollback()
    with factory() as session:
        assert Repository(session, scope, Customer).get(mine.id).name == "Mine"


def test_another_environment_is_another_scope(factory: sessionmaker[Session], scope: Scope) -> None:
    from flexprice_pipelines.catalog.tenancy import create_environment

    with factory() as session:
        dev = Scope(scope.tenant_id, create_environment(session, scope.tenant_id, "development").id)
        Repository(session, scope, Plan).create(name="Pro", lookup_key="pro")
        # The same lookup_key is free in the other environment of the same tenant.
        Repository(session, dev, Plan).create(name="Pro (dev)", lookup_key="pro")
        session.commit()
        assert [p.name for p in Repository(session, dev, Plan).list().items] == ["Pro (dev)"]


def test_references_must_lie_in_the_same_scope(
    factory: sessionmaker[Session], scope: Scope, other_scope: Scope
) -> None:
    with factory() as session:
        foreign_meter = Repository(session, other_scope, Meter).create(
            event_name="api_call", name="API calls", aggregation={"type": "COUNT"}
        )
        foreign_plan = Repository(session, other_scope, Plan).create(name="Theirs")
        session.commit()
        features = Repository(session, scope, Feature)
        with pytest.raises(NotFound) as excinfo:
            features.create(name="Calls", type="metered", meter_id=foreign_meter.id)
        assert excinfo.value.field == "meter_id"
        prices = Repository(session, scope, Price)
        with pytest.raises(NotFound) as excinfo:
            prices.create(**PRICE, entity_type="PLAN", entity_id=foreign_plan.id)
        assert excinfo.value.field == "entity_id"
        own_plan = Repository(session, scope, Plan).create(name="Mine")
        price = prices.create(**PRICE, entity_id=own_plan.id)
        assert price.entity_type == "PLAN"
        with pytest.raises(NotFound):
            prices.update(price, entity_id=foreign_plan.id)


def test_list_pages_counts_and_filters(session: Session, scope: Scope) -> None:
    customers = Repository(session, scope, Customer)
    made = [
        customers.create(external_id=f"c{i:02d}", name=f"C{i}", email="x@y.z" if i % 2 else None)
        for i in range(7)
    ]
    session.commit()

    page = customers.list(limit=3, offset=0)
    assert (page.total, [c.id for c in page.items]) == (7, [c.id for c in made[:3]])
    last = customers.list(limit=3, offset=6)
    assert [c.id for c in last.items] == [made[6].id]
    assert [c.id for c in customers.list(limit=2, newest_first=True).items] == [made[6].id, made[5].id]
    assert customers.list(email="x@y.z").total == 3
    assert customers.list(email=None).total == 4
    assert customers.list(external_id=["c00", "c05", "zz"]).total == 2
    with pytest.raises(InvalidArgument) as excinfo:
        customers.list(colour="red")
    assert excinfo.value.field == "colour"
    with pytest.raises(InvalidArgument) as excinfo:
        customers.list(limit=0)
    assert excinfo.value.field == "limit"
    with pytest.raises(InvalidArgument):
        customers.list(tenant_id=scope.tenant_id)


def test_unique_conflicts_name_the_field(session: Session, scope: Scope, other_scope: Scope) -> None:
    customers = Repository(session, scope, Customer)
    first = customers.create(external_id="dup", name="One")
    with pytest.raises(Conflict) as excinfo:
        customers.create(external_id="dup", name="Two")
    assert excinfo.value.field == "external_id"
    # The savepoint kept the transaction usable, and the first row is still there.
    session.commit()
    assert customers.get(first.id).name == "One"

    plans = Repository(session, scope, Plan)
    plans.create(name="A", lookup_key="starter")
    with pytest.raises(Conflict) as excinfo:
        plans.create(name="B", lookup_key="starter")
    assert excinfo.value.field == "lookup_key"

    # Another tenant may use the same keys; a deleted row frees its key.
    Repository(session, other_scope, Customer).create(external_id="dup", name="Other tenant")
    customers.delete(first.id)
    assert customers.create(external_id="dup", name="Again").id != first.id
    session.commit()


def test_protected_unknown_and_missing_fields(session: Session, scope: Scope, other_scope: Scope) -> None:
    customers = Repository(session, scope, Customer)
    with pytest.raises(InvalidArgument) as excinfo:
        customers.create(external_id="x", name="X", tenant_id=other_scope.tenant_id)
    assert excinfo.value.field == "tenant_id"
    with pytest.raises(InvalidArgument) as excinfo:
        customers.create(external_id="x", name="X", nickname="x")
    assert excinfo.value.field == "nickname"
    with pytest.raises(InvalidArgument) as excinfo:
        customers.create(external_id="x")
    assert excinfo.value.field == "name"


def test_caller_supplied_deterministic_id(session: Session, scope: Scope) -> None:
    from flexprice_pipelines.billing.ids import deterministic_id

    plan_id = deterministic_id("plan", scope.tenant_id, "pro")
    Repository(session, scope, Plan).create(id=plan_id, name="Pro")
    session.commit()
    assert Repository(session, scope, Plan).get(plan_id).name == "Pro"
    with pytest.raises(Conflict):
        Repository(session, scope, Plan).create(id=plan_id, name="Pro again")


def test_catalog_session_and_hard_delete(session: Session, scope: Scope) -> None:
    catalog = CatalogSession(session, scope)
    customer = catalog.repo(Customer).create(external_id="h", name="H")
    plan = catalog.repo(Plan).create(name="P")
    from datetime import UTC, datetime

    start = datetime(2024, 1, 31, tzinfo=UTC)
    catalog.repo(Subscription).create(
        customer_id=customer.id,
        plan_id=plan.id,
        currency="usd",
        billing_anchor=start,
        start_date=start,
        current_period_start=start,
        current_period_end=datetime(2024, 2, 29, tzinfo=UTC),
        billing_period="MONTHLY",
    )
    catalog.commit()
    with pytest.raises(Conflict):  # still referenced by the subscription
        catalog.repo(Customer).delete(customer.id, hard=True)
    other = catalog.repo(Customer).create(external_id="gone", name="Gone")
    catalog.repo(Customer).delete(other.id, hard=True)
    catalog.commit()
    assert catalog.repo(Customer).list(include_deleted=True).total == 1


def test_new_scope_helper_makes_distinct_tenants(factory: sessionmaker[Session]) -> None:
    assert new_scope(factory) != new_scope(factory)
