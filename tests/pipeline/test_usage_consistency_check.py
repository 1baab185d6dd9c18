"""The usage read-model check executed on a real (tenant, period) partition.

Events take the embedded deployment's production path: published on the outbox bus, drained by the
``Sink`` into the DuckDB warehouse with ``embedded_listeners`` feeding the read model in the SQLite
catalog. The deployed ``billing_job`` (``pipeline_definitions``) then bills the partition with the real
dbt models, and with them the asset check ``usage_read_model_matches_fct_period_usage`` on
``fct_period_usage``. Afterwards the read model is made to drift through SQL (a window row that missed
an update, a lost per-event row) and the check, run again, must fail naming both (customer, meter, window).

The catalog holds the cases where the read model's tracked billing windows are not what billing bills
(a line item starting inside the window; a trial window; an entitlement's meter that no
line item bills): the check must compare what is billed, so they are not differences.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import dagster as dg
from sqlalchemy import delete, select, update

from flexprice_pipelines.billing.meters import aggregate
from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.catalog import Scope, db
from flexprice_pipelines.catalog.models import (
    Customer,
    Entitlement,
    Feature,
    Meter,
    Plan,
    Price,
    SubscriptionLineItem,
)
from flexprice_pipelines.defs import pipeline_definitions
from flexprice_pipelines.defs.partitions import billing_partition_key
from flexprice_pipelines.events.outbox import OutboxBus
from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.events.sink import Sink, make_source
from flexprice_pipelines.settings import Settings
from flexprice_pipelines.usage.catalog_view import load_meters
from flexprice_pipelines.usage.listener import embedded_listeners
from flexprice_pipelines.usage.queries import closed_billing_windows
from flexprice_pipelines.usage.tables import meter_events, windows
from flexprice_pipelines.warehouse import make_warehouse
from tests.pipeline.conftest import Billing, utc

CHECK = "usage_read_model_matches_fct_period_usage"
JAN, FEB = utc(2026, 1, 1), utc(2026, 2, 1)  # the billing window checked: closed, in the February partition
NOW = utc(2026, 2, 1, 3)
PERIOD = YearMonth(2026, 2)
ACME, TRIAL = "acme", "trialist"
ADDON_START, TRIAL_START = utc(2026, 1, 10), utc(2026, 1, 18)
METERS: dict[str, dict[str, Any]] = {
    "calls": {"event_name": "api_call", "aggregation": {"type": "COUNT"}},
    "tokens": {"event_name": "api_call", "aggregation": {"type": "SUM", "field": "tokens"}},
    "peak_gpus": {"event_name": "gpu", "aggregation": {"type": "MAX", "field": "gpus"}},
    "users": {"event_name": "login", "aggregation": {"type": "COUNT_UNIQUE", "field": "user"}},
    "seats": {"event_name": "seats", "aggregation": {"type": "LATEST", "field": "seats"}},
    "storage": {"event_name": "store", "aggregation": {"type": "SUM", "field": "gb"}},  # entitled, not billed
}
# (meter, line item start, line item end) billed to acme; tokens is an add-on from Jan 10. (A line item ending
# inside the window is left out: ``billing_inputs`` refuses its window, ending before the partition month.)
ACME_ITEMS: list[tuple[str, datetime | None, datetime | None]] = [
    ("calls", None, None),
    ("tokens", ADDON_START, None),
    ("peak_gpus", None, None),
    ("users", None, None),
    ("seats", None, None),
]
Interval = tuple[str, str, datetime, datetime]  # (customer, meter name, start, end)
BILLED: list[Interval] = [
    (ACME, "calls", JAN, FEB),
    (ACME, "tokens", ADDON_START, FEB),
    (ACME, "peak_gpus", JAN, FEB),
    (ACME, "users", JAN, FEB),
    (ACME, "seats", JAN, FEB),
]


def _subscription(
    b: Billing,
    scope: Scope,
    external_id: str,
    start: datetime,
    items: Sequence[tuple[str, datetime | None, datetime | None]],
    meter_ids: dict[str, str],
    *,
    trial_end: datetime | None = None,
    entitled: tuple[str, ...] = (),
) -> None:
    """A monthly calendar subscription billing ``items`` in arrears, entitled (no reset period) to ``entitled``."""
    customer = b.create(scope, Customer, external_id=external_id, name=external_id.title())
    plan = b.create(scope, Plan, name=f"Usage {external_id}")
    sub = b.subscribe(
        scope,
        customer,
        plan,
        start,
        trial_end=trial_end,
        subscription_status="trialing" if trial_end else "active",
    )
    for name, item_start, item_end in items:
        price = b.create(
            scope,
            Price,
            type="USAGE",
            billing_model="FLAT_FEE",
            amount=Decimal("0.01"),
            currency="usd",
            billing_period="MONTHLY",
            invoice_cadence="ARREAR",
            meter_id=meter_ids[name],
            entity_type="PLAN",
            entity_id=plan.id,
        )
        b.create(
            scope,
            SubscriptionLineItem,
            subscription_id=sub.id,
            customer_id=customer.id,
            plan_id=plan.id,
            price_id=price.id,
            price_type="USAGE",
            meter_id=meter_ids[name],
            display_name=name,
            currency="usd",
            billing_period="MONTHLY",
            invoice_cadence="ARREAR",
            start_date=item_start,
            end_date=item_end,
        )
    for name in entitled:
        feature = b.create(
            scope, Feature, name=f"{name} {external_id}", type="metered", meter_id=meter_ids[name]
        )
        b.create(
            scope,
            Entitlement,
            entity_type="PLAN",
            entity_id=plan.id,
            feature_id=feature.id,
            feature_type="metered",
            usage_limit=10_000,
        )


def _catalog(b: Billing, scope: Scope) -> dict[str, str]:
    """Six meters; acme is billed five of them (one an add-on from Jan 10) and entitled to API calls
    and storage; the trialist is billed API calls and in trial through January."""
    meter_ids = {name: b.create(scope, Meter, name=name, **spec).id for name, spec in METERS.items()}
    _subscription(b, scope, ACME, JAN, ACME_ITEMS, meter_ids, entitled=("calls", "storage"))
    _subscription(b, scope, TRIAL, TRIAL_START, [("calls", None, None)], meter_ids, trial_end=FEB)
    return meter_ids


def _events(scope: Scope, seed: int) -> list[Event]:
    """Seeded January usage (plus December / February noise and the exclusive window end), in random
    delivery order, with re-sent ids: a later ``ingested_at`` with a new value, moving the event out of
    the window or elsewhere in it, and a stale older version that must not count."""
    rng = random.Random(seed)

    def at() -> datetime:
        return JAN + timedelta(microseconds=rng.randrange(int((FEB - JAN).total_seconds() * 1e6)))

    def props(name: str) -> dict[str, Any]:
        if name == "api_call":
            return {"tokens": str(Decimal(rng.randrange(1, 10**6)) / 1000)}
        if name == "gpu":
            return {"gpus": rng.randrange(0, 64)}
        if name == "login":
            return {"user": f"u{rng.randrange(12)}"}
        if name == "store":
            return {"gb": str(Decimal(rng.randrange(1, 10**4)) / 100)}
        return {"seats": str(Decimal(rng.randrange(1, 500)) / 10)}

    def make(event_id: str, customer: str, name: str, ts: datetime, ingested: datetime) -> Event:
        return Event(
            tenant_id=scope.tenant_id,
            environment_id=scope.environment_id,
            event_id=event_id,
            event_name=name,
            external_customer_id=customer,
            customer_id=None,
            timestamp=ts,
            source="test",
            properties=props(name),
            ingested_at=ingested,
        )

    names = ["api_call"] * 5 + ["gpu", "login", "login", "seats", "store"]
    first = utc(2026, 1, 15)
    out = [make(f"evt-{i}", ACME, rng.choice(names), at(), first + timedelta(seconds=i)) for i in range(300)]
    out += [make(f"trial-{i}", TRIAL, "api_call", at(), first + timedelta(seconds=i)) for i in range(40)]
    # Outside the window: before it, exactly at its (exclusive) end, after it.
    for i, ts in enumerate([utc(2025, 12, 31, 23, 59, 59), FEB, utc(2026, 2, 1, 2)]):
        out += [
            make(f"edge-{i}-{name}", ACME, name, ts, first) for name in ("api_call", "gpu", "login", "seats")
        ]
    resent = [e for e in out[:300] if e.event_name in ("api_call", "gpu", "seats", "login")][:16]
    later = utc(2026, 1, 31)
    for k, e in enumerate(resent):
        newer = later + timedelta(seconds=k)
        if k % 4 == 0:  # a new value
            out.append(replace(e, properties=props(e.event_name), ingested_at=newer))
        elif k % 4 == 1:  # moved out of the window
            out.append(replace(e, timestamp=utc(2026, 2, 3), ingested_at=newer))
        elif k % 4 == 2:  # a new timestamp and value (a MAX that only the newer version holds)
            value = {"gpus": 1000 + k} if e.event_name == "gpu" else props(e.event_name)
            out.append(replace(e, properties=value, timestamp=at(), ingested_at=newer))
        else:  # an older version arriving late: ignored by both sides
            out.append(
                replace(e, properties=props(e.event_name), ingested_at=e.ingested_at - timedelta(days=1))
            )
    rng.shuffle(out)
    return out


def _settings(b: Billing, tmp_path: Path) -> Settings:
    """The test's embedded deployment: its catalog, warehouse and outbox (``FLEXPRICE_*`` overridden)."""
    return Settings(
        home=tmp_path / "home", database_url=b.database_url, warehouse_url=b.warehouse_url, event_bus="outbox"
    )


def _ingest(b: Billing, tmp_path: Path, events: list[Event]) -> None:
    """``flexprice sink --once`` in-process: outbox → DuckDB, the read model fed by the sink's listeners."""
    settings = _settings(b, tmp_path)
    bus = OutboxBus(settings.home / "outbox.db")
    for i in range(0, len(events), 50):
        bus.publish(events[i : i + 50])
    bus.close()
    warehouse = make_warehouse(settings.resolved_warehouse_url)
    warehouse.ensure_schema()
    source = make_source(settings)
    listeners = embedded_listeners(settings)
    assert len(listeners) == 1
    try:
        totals = Sink(source, warehouse, batch_size=64, listeners=listeners).run(once=True)
    finally:
        source.close()
        warehouse.close()
    assert (totals.polled, totals.dead) == (len(events), 0)


def _bill(b: Billing, tmp_path: Path, scope: Scope) -> dg.ExecuteInProcessResult:
    """The deployed ``billing_job`` (what the period-end sensor launches) on the partition, clock frozen."""
    job = pipeline_definitions(_settings(b, tmp_path)).resolve_job_def("billing_job")
    return job.execute_in_process(
        partition_key=billing_partition_key(scope.tenant_id, PERIOD),
        run_config={"resources": {"clock": {"config": {"frozen_at": NOW.isoformat()}}}},
        instance=b.instance,
    )


def _evaluation(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    found = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK]
    assert len(found) == 1, result.get_asset_check_evaluations()
    assert found[0].asset_key == dg.AssetKey("fct_period_usage")
    return found[0]


def _fct_period_usage(b: Billing, scope: Scope) -> dict[tuple[str, str, datetime, datetime], Decimal | None]:
    warehouse = make_warehouse(b.warehouse_url)
    try:
        rows = warehouse.query(
            "select external_customer_id, meter_id, usage_start, window_end, quantity from fct_period_usage "
            "where tenant_id = $tenant and period_key = $period",
            {"tenant": scope.tenant_id, "period": PERIOD.key},
        )
    finally:
        warehouse.close()
    return {
        (customer, meter, start, end): None if q is None else Decimal(str(q))
        for customer, meter, start, end, q in rows
    }


def test_check_passes_on_a_real_partition_then_names_the_drifted_windows(
    billing: Billing, tmp_path: Path
) -> None:
    scope = billing.tenant("consistency")
    meter_ids = _catalog(billing, scope)
    events = _events(scope, seed=20260201)
    _ingest(billing, tmp_path, events)
    with billing.session() as session:
        meters = load_meters(session, scope)
        tracked = {
            (r.external_customer_id, r.meter_id, r.window_start, r.window_end)
            for r in closed_billing_windows(
                session, scope, meters, ending_from=PERIOD.start, ending_before=PERIOD.end
            )
        }
    # The read model tracks windows billing does not bill: the trial window, the entitled-only meter's.
    assert (TRIAL, meter_ids["calls"], TRIAL_START, FEB) in tracked
    assert (ACME, meter_ids["storage"], JAN, FEB) in tracked

    result = _bill(billing, tmp_path, scope)
    assert result.success
    evaluation = _evaluation(result)
    assert evaluation.passed, evaluation.metadata
    assert evaluation.metadata["differences"].value == 0
    assert evaluation.metadata["first_differences"].value == []

    # Not vacuous: dbt billed exactly the expected intervals, each equal to the reference aggregation.
    fct = _fct_period_usage(billing, scope)
    mappings = [
        {
            "event_id": e.event_id,
            "event_name": e.event_name,
            "external_customer_id": e.external_customer_id,
            "timestamp": e.timestamp,
            "properties": e.properties,
            "ingested_at": e.ingested_at,
        }
        for e in events
    ]
    expected = {}
    for customer, name, start, end in BILLED:
        reference = aggregate(
            meters[meter_ids[name]],
            [m for m in mappings if m["external_customer_id"] == customer],
            start,
            end,
        )
        assert reference is not None and reference > 0, name
        expected[(customer, meter_ids[name], start, end)] = reference
    assert fct == expected

    # Drift: acme's API-calls window row missed one event; one per-event row of the tokens add-on is lost
    # (its [Jan 10, Feb 1) interval is not a tracked window: it is read from the per-event rows).
    calls, tokens = meter_ids["calls"], meter_ids["tokens"]
    with db.write_session(db.session_factory(db.make_engine(billing.database_url))) as session:
        changed = (
            session.connection()
            .execute(
                update(windows)
                .where(
                    windows.c.tenant_id == scope.tenant_id,
                    windows.c.external_customer_id == ACME,
                    windows.c.meter_id == calls,
                    windows.c.window_start == JAN,
                    windows.c.window_end == FEB,
                )
                .values(event_count=windows.c.event_count - 1)
            )
            .rowcount
        )
        assert changed == 1
        lost = session.execute(
            select(meter_events.c.event_id, meter_events.c.value)
            .where(
                meter_events.c.tenant_id == scope.tenant_id,
                meter_events.c.meter_id == tokens,
                meter_events.c.timestamp >= ADDON_START,
                meter_events.c.timestamp < FEB,
            )
            .order_by(meter_events.c.event_id)
            .limit(1)
        ).one()
        lost_id, lost_value = str(lost.event_id), Decimal(lost.value)
        session.execute(
            delete(meter_events).where(
                meter_events.c.tenant_id == scope.tenant_id,
                meter_events.c.meter_id == tokens,
                meter_events.c.event_id == lost_id,
            )
        )

    evaluation = _evaluation(_bill(billing, tmp_path, scope))
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["differences"].value == 2
    rows = cast(list[dict[str, str]], evaluation.metadata["first_differences"].value)
    found = {
        (r["external_customer_id"], r["meter_id"], r["window_start"], r["window_end"]): (
            Decimal(r["read_model"]),
            Decimal(r["warehouse"]),
        )
        for r in rows
    }
    env = scope.environment_id
    billed_calls, billed_tokens = (
        expected[(ACME, calls, JAN, FEB)],
        expected[(ACME, tokens, ADDON_START, FEB)],
    )
    assert found == {
        (ACME, f"{env}/{calls}", JAN.isoformat(), FEB.isoformat()): (billed_calls - 1, billed_calls),
        (ACME, f"{env}/{tokens}", ADDON_START.isoformat(), FEB.isoformat()): (
            billed_tokens - lost_value,
            billed_tokens,
        ),
    }
