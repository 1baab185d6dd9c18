"""The read model equals ``billing.meters.aggregate`` on random event streams: duplicates, out-of-order
delivery, re-sent ids with new timestamps and values, every aggregation type, several windows."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.billing.meters import aggregate, event_matches
from flexprice_pipelines.catalog import Scope, db
from flexprice_pipelines.catalog.mappers import billing_meter
from flexprice_pipelines.usage import store
from flexprice_pipelines.usage.state import fold, usage
from flexprice_pipelines.usage.tables import windows
from flexprice_pipelines.usage.updater import UsageUpdater
from tests.usage.seed import as_mapping, create_customer, create_meters, create_plan, event, subscribe

START = datetime(2024, 1, 15, 5, 0, tzinfo=UTC)  # 10:30 in Asia/Kolkata
SPAN_MINUTES = 60 * 24 * 70

values = st.one_of(
    st.none(),
    st.integers(-5, 50),
    st.decimals(min_value=Decimal("-10"), max_value=Decimal("100"), places=2),
    st.sampled_from(["7", "2.5", "abc", "1e1"]),
)
versions = st.lists(
    st.tuples(
        st.integers(0, 9),  # event id: few ids, so many re-sends
        st.integers(-60 * 24 * 3, SPAN_MINUTES),  # minutes from START; some before the subscription
        values,
        st.sampled_from([None, "u1", "u2", "u3", 4]),
        st.sampled_from([None, "eu", "us", "asia"]),
        st.sampled_from(["call", "call", "other"]),
    ),
    min_size=1,
    max_size=30,
)


def _properties(value: object, user: object, region: object) -> dict[str, object]:
    found: dict[str, object] = {}
    if value is not None:
        found["n"] = value
    if user is not None:
        found["user"] = user
    if region is not None:
        found["region"] = region
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=versions, seed=st.integers(0, 2**32), batches=st.integers(1, 3), redeliver=st.integers(0, 5))
def test_read_model_matches_reference(
    factory: sessionmaker[Session], scope: Scope, stream: list[tuple], seed: int, batches: int, redeliver: int
) -> None:
    rng = random.Random(seed)
    with factory() as session:
        catalog = _catalog(session, scope)
        customer = create_customer(session, scope)
        ids = tuple(m.id for m in catalog.meters.values())
        daily = [
            {"feature_id": catalog.features[name].id, "feature_type": "metered", "usage_reset_period": period}
            for name, period in (
                ("count", "DAILY"),
                ("sum", "WEEKLY"),
                ("unique", "NEVER"),
                ("bucket_max", "DAILY"),
            )
        ]
        plan = create_plan(session, scope, daily, meter_ids=ids)
        subscribe(session, scope, customer, plan, START, tz="Asia/Kolkata", billed_meter_ids=ids)

    prefix = f"{customer.external_id}-"
    ingest_order = list(range(len(stream)))
    rng.shuffle(ingest_order)
    all_versions = [
        event(
            scope,
            customer.external_id,
            f"{prefix}{eid}",
            START + timedelta(minutes=minutes),
            datetime(2024, 6, 1, tzinfo=UTC) + timedelta(milliseconds=ingest_order[i]),
            _properties(value, user, region),
            name,
        )
        for i, (eid, minutes, value, user, region, name) in enumerate(stream)
    ]
    delivery = all_versions + [rng.choice(all_versions) for _ in range(redeliver)]
    rng.shuffle(delivery)
    updater = UsageUpdater(config_ttl=60)
    cut = sorted(rng.sample(range(len(delivery) + 1), batches - 1)) if batches > 1 else []
    for chunk in _split(delivery, cut):
        with db.write_session(factory) as session:
            updater.apply(session, chunk)

    reference_events = [as_mapping(e) for e in all_versions]
    with factory() as session:
        rows = session.execute(
            select(windows).where(
                windows.c.tenant_id == scope.tenant_id, windows.c.external_customer_id == customer.external_id
            )
        ).all()
        meters = {m.id: billing_meter(m) for m in catalog.meters.values()}
        for row in rows:
            meter = meters[row.meter_id]
            expected = aggregate(meter, reference_events, row.window_start, row.window_end)
            assert usage(meter, store.window_state(row)) == expected, (
                meter.name,
                row.window_start,
                row.window_end,
            )
            on_the_fly = fold(
                meter,
                row.window_start,
                row.window_end,
                store.window_events(
                    session, scope, customer.external_id, row.meter_id, row.window_start, row.window_end
                ),
            )
            assert usage(meter, on_the_fly) == expected
        # A check outside any transaction reads the row straight off a pooled connection: the same row.
        with factory() as fresh:
            for row in rows:
                key = (row.external_customer_id, row.meter_id, row.window_start, row.window_end)
                assert not fresh.in_transaction()
                direct = store.get_window(fresh, scope, key)
                assert direct is not None and direct._asdict() == row._asdict()
                assert [type(v) for v in direct] == [type(v) for v in row]
            missing = (customer.external_id, "no-such-meter", START, START + timedelta(days=1))
            assert store.get_window(fresh, scope, missing) is None
        # Every final version inside the subscription has its billing window tracked for every matching meter.
        tracked = {(r.meter_id, r.window_start, r.window_end) for r in rows}
        for meter_id, meter in meters.items():
            for e in {e.event_id: e for e in sorted(all_versions, key=lambda v: v.ingested_at)}.values():
                if e.timestamp >= START and event_matches(meter, as_mapping(e)):
                    assert any(m == meter_id and s <= e.timestamp < end for m, s, end in tracked)


_CATALOGS: dict[Scope, object] = {}


def _catalog(session: Session, scope: Scope):  # type: ignore[no-untyped-def]
    if scope not in _CATALOGS:
        _CATALOGS[scope] = create_meters(session, scope)
    return _CATALOGS[scope]


def _split(items: list, cuts: list[int]) -> list[list]:
    bounds = [0, *cuts, len(items)]
    return [items[a:b] for a, b in itertools.pairwise(bounds)]
