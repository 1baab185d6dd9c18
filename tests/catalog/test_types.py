from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.billing.ids import deterministic_id
from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.ids import new_id
from flexprice_pipelines.catalog.models import Coupon, Customer

pytestmark = pytest.mark.usefixtures("database_url")


def _roundtrip(factory: sessionmaker[Session], scope: Scope, value: Decimal) -> Decimal:
    with factory() as session:
        coupon = Repository(session, scope, Coupon).create(name="c", coupon_type="fixed", amount_off=value)
        session.commit()
    with factory() as session:
        amount = Repository(session, scope, Coupon).get(coupon.id).amount_off
        assert amount is not None
        return amount


@pytest.mark.parametrize("text", ["0.00000001", "123456789012.12345678", "1.50", "-42", "0"])
def test_decimal_is_exact_including_scale(factory: sessionmaker[Session], scope: Scope, text: str) -> None:
    stored = _roundtrip(factory, scope, Decimal(text))
    assert stored == Decimal(text)
    assert stored.as_tuple() == Decimal(text).as_tuple()
    assert format(stored, "f") == text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.decimals(min_value=Decimal("-1e14"), max_value=Decimal("1e14"), places=8))
def test_decimal_roundtrip_property(factory: sessionmaker[Session], scope: Scope, value: Decimal) -> None:
    stored = _roundtrip(factory, scope, value)
    assert stored == value
    assert stored.as_tuple().exponent == value.as_tuple().exponent


def test_floats_and_non_finite_are_refused(session: Session, scope: Scope) -> None:
    coupons = Repository(session, scope, Coupon)
    with pytest.raises(Exception, match="float"):
        coupons.create(name="c", coupon_type="fixed", amount_off=0.1)
    session.rollback()
    with pytest.raises(Exception, match="finite"):
        coupons.create(name="c", coupon_type="fixed", amount_off=Decimal("NaN"))
    session.rollback()


def test_datetimes_are_aware_utc(session: Session, scope: Scope) -> None:
    kolkata = timezone(timedelta(hours=5, minutes=30))
    moment = datetime(2024, 3, 10, 14, 30, 0, 123456, tzinfo=kolkata)
    coupon = Repository(session, scope, Coupon).create(name="c", coupon_type="fixed", redeem_after=moment)
    session.commit()
    session.expunge_all()
    loaded = Repository(session, scope, Coupon).get(coupon.id).redeem_after
    assert loaded == moment
    assert loaded is not None and loaded.tzinfo is not None and loaded.utcoffset() == timedelta(0)
    assert loaded == datetime(2024, 3, 10, 9, 0, 0, 123456, tzinfo=UTC)

    with pytest.raises(Exception, match="naive"):
        Repository(session, scope, Coupon).create(
            name="c", coupon_type="fixed", redeem_after=datetime(2024, 1, 1)
        )
    session.rollback()


def test_json_roundtrip(session: Session, scope: Scope) -> None:
    payload = {"nested": {"list": [1, "two", None, True]}, "unicode": "₹"}
    customer = Repository(session, scope, Customer).create(external_id="j", name="J", metadata=payload)
    session.commit()
    session.expunge_all()
    assert Repository(session, scope, Customer).get(customer.id).metadata_ == payload


@settings(max_examples=200)
@given(
    st.lists(
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)), min_size=2, max_size=20
    )
)
def test_ids_sort_by_creation_time(moments: list[datetime]) -> None:
    ordered = sorted(m.replace(tzinfo=UTC) for m in moments)
    ids = [new_id("cust", at) for at in ordered]
    assert sorted(ids) == ids
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("cust_") and len(i) == len("cust_") + 26 for i in ids)


def test_deterministic_ids() -> None:
    a = deterministic_id("inv", "tenant_1", "subs_1", "2024-01-01")
    assert a == deterministic_id("inv", "tenant_1", "subs_1", "2024-01-01")
    assert a != deterministic_id("inv", "tenant_1", "subs_1", "2024-02-01")
    assert a.startswith("inv_") and len(a) == len("inv_") + 26
    with pytest.raises(ValueError):
        new_id("x", datetime(2024, 1, 1))
