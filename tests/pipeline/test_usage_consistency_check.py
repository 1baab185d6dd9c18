"""The usage read-model check executed on a real (tenant, period) partition.

Events go through the production path of the embedded deployment: published on the outbox bus, drained by
the ``Sink`` into the DuckDB warehouse with ``embedded_listeners`` feeding the read model in the SQLite
catalog. The partition is then materialized with the real dbt models and the asset check
``usage_read_model_matches_fct_period_usage`` on ``fct_period_usage``; afterwards one window row of the
read model is altered through SQL (what a lost update looks like) and the check, run again, must name it.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
from sqlalchemy import update

from flexprice_pipelines.billing.meters import aggregate
from flexprice_pipelines.catalog import Scope, db
from flexprice_pipelines.catalog.models import (
    Customer,
    Entitlement,
    Feature,
    Meter,
    Plan,
    Price,
    Subscription,
    SubscriptionLineItem,
)
from flexprice_pipelines.defs import pipeline_definitions
from flexprice_pipelines.defs.partitions import billing_partition_key
from flexprice_pipelines.events.outbox import OutboxBus
from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.events.sink import Sink, make_source
from flexprice_pipelines.rating.windows import YearMonth
from flexprice_pipelines.settings import Settings
from flexprice_pipelines.usage.catalog_view import load_meters
from flexprice_pipelines.usage.listener import embedded_listeners
from flexprice_pipelines.usage.queries import closed_billing_windows
from flexprice_pipelines.usage.tables import windows
from flexprice_pipelines.warehouse import make_warehouse
from tests.pipeline.conftest import Billing, utc

CHECK = "usage_read_model_matches_fct_period_usage"
START, END = utc(2026, 1, 1), utc(2026, 2, 1)  # the billing window checked (closed in the February partition)
NOW = utc(2026, 2, 1, 3)
PERIOD = YearMonth(2026, 2)
CUSTOMER = "acme"
METERS: dict[str, dict[str, Any]] = {
    "calls": {"event_name": "api_call", "aggregation": {"type": "COUNT"}},
    "tokens": {"event_name": "api_call", "aggregation": {"type": "SUM", "field": "tokens"}},
    "peak_gpus": {"event_name": "gpu", "aggregation": {"type": "MAX", "field": "gpus"}},
    "users": {"event_name": "login", "aggregation": {"type": "COUNT_UNIQUE", "field": "user"}},
    "seats": {"event_name": "seats", "aggregation": {"type": "LATEST", "field": "seats"}},
}


def _catalog(b: Billing, scope: Scope) -> dict[str, str]:
    """Five meters billed in arrears by a monthly calendar subscription, an entitlement on API calls."""
    customer = b.create(scope, Customer, external_id=CUSTOMER, name="Acme")
    plan = b.create(scope, Plan, name="Usage")
    sub = b.create(
        scope,
        Subscription,
        customer_id=customer.id,
        plan_id=plan.id,
        currency="usd",
        billing_anchor=START,
        start_date=START,
        current_period_start=START,
        current_period_end=END,
        billing_period="MONTHLY",
    )
    meter_ids = {}
    for name, spec in METERS.items():
        meter = b.create(scope, Meter, name=name, **spec)
        meter_ids[name] = meter.id
        price = b.create(
            scope,
            Price,
            type="USAGE",
            billing_model="FLAT_FEE",
            amount=Decimal("0.01"),
            currency="usd",
            billing_period="MONTHLY",
            invoice_cadence="ARREAR",
            meter_id=meter.id,
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
            meter_id=meter.id,
            display_name=name,
            currency="usd",
            billing_period="MONTHLY",
            invoice_cadence="ARREAR",
        )
    feature = b.create(scope, Feature, name="API calls", type="metered", meter_id=meter_ids["calls"])
    b.create(
        scope,
        Entitlement,
        entity_type="PLAN",
        entity_id=plan.id,
        feature_id=feature.id,
        feature_type="metered",
        usage_limit=10_000,
    )
    return meter_ids


def _events(scope: Scope, seed: int) -> list[Event]:
    """Seeded January usage (plus December / February noise and the exclusive window end), in random
    delivery order, with re-sent ids: a later ``ingested_at`` carrying a new value or a new timestamp."""
    rng = random.Random(seed)
    ingested = utc(2026, 1, 15)

    def at() -> Any:
        return START + timedelta(microseconds=rng.randrange(int((END - START).total_seconds() * 1e6)))

    def props(name: str) -> dict[str, Any]:
        if name == "api_call":
            return {"tokens": str(Decimal(rng.randrange(1, 10**6)) / 1000)}
        if name == "gpu":
            return {"gpus": rng.randrange(0, 64)}
        if name == "login":
            return {"user": f"u{rng.randrange(12)}"}
        return {"seats": str(Decimal(rng.randrange(1, 500)) / 10)}

    names = ["api_call"] * 6 + ["gpu", "login", "login", "seats"]
    out: list[Event] = []
    for i in range(300):
        name = rng.choice(names)
        out.append(
            Event(
                tenant_id=scope.tenant_id,
                environment_id=scope.environment_id,
                event_id=f"evt-{i}",
                event_name=name,
                external_customer_id=CUSTOMER,
                customer_id=None,
                timestamp=at(),
                source="test",
                properties=props(name),
                ingested_at=ingested + timedelta(seconds=i),
            )
        )
    # Outside the window: before it, after it, and exactly at its (exclusive) end.
    for i, ts in enumerate([utc(2025, 12, 31, 23, 59, 59), utc(2026, 2, 1), utc(2026, 2, 1, 2)]):
        for name in ("api_call", "gpu", "login", "seats"):
            out.append(
                replace(
                    out[0], event_id=f"edge-{i}-{name}", event_name=name, timestamp=ts, properties=props(name)
                )
            )
    # Re-sent ids: a new value, a move out of the window, a move into it; and a stale older version.
    resent = [e for e in out[:300] if e.event_name in ("api_call", "gpu", "seats")][:12]
    later = utc(2026, 1, 31)
    for k, e in enumerate(resent):
        if k % 4 == 0:
            out.append(replace(e, properties=props(e.event_name), ingested_at=later + timedelta(seconds=k)))
        elif k % 4 == 1:
            out.append(replace(e, timestamp=utc(2026, 2, 3), ingested_at=later + timedelta(seconds=k)))
        elif k % 4 == 2:
            out.append(
                replace(
                    e,
                    properties={"gpus": 1000 + k} if e.event_name == "gpu" else props(e.event_name),
                    timestamp=at(),
                    ingested_at=later + timedelta(seconds=k),
                )
            )
        else:
            out.append(
                replace(e, properties=props(e.event_name), ingested_at=e.ingested_at - timedelta(days=1))
            )
    rng.shuffle(out)
    return out


def _ingest(b: Billing, tmp_path: Path, events: list[Event]) -> None:
    """``flexprice sink --once`` in-process: outbox → DuckDB, with the read model as the sink's listener."""
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


def _settings(b: Billing, tmp_path: Path) -> Settings:
    """The embedded deployment of the test: its catalog, warehouse and outbox (``FLEXPRICE_*`` overridden)."""
    return Settings(
        home=tmp_path / "home", database_url=b.database_url, warehouse_url=b.warehouse_url, event_bus="outbox"
    )


def _bill(b: Billing, tmp_path: Path, scope: Scope) -> dg.ExecuteInProcessResult:
    """Run the deployed ``billing_job`` (what the period-end sensor launches) on the partition, clock frozen."""
    job = pipeline_definitions(_settings(b, tmp_path)).resolve_job_def("billing_job")
    return job.execute_in_process(
        partition_key=billing_partition_key(scope.tenant_id, PERIOD),
        run_config={"resources": {"clock": {"config": {"frozen_at": NOW.isoformat()}}}},
        instance=b.instance,
    )


def _evaluation(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    found = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK]
    assert len(found) == 1, result.get_asset_check_evaluations()
    return found[0]


def test_check_passes_on_a_real_partition_then_names_a_drifted_window(
    billing: Billing, tmp_path: Path
) -> None:
    scope = billing.tenant("consistency")
    meter_ids = _catalog(billing, scope)
    events = _events(scope, seed=20260201)
    _ingest(billing, tmp_path, events)

    # Not vacuous: the read model holds one closed billing window per meter, each equal to the reference.
    with billing.session() as session:
        meters = load_meters(session, scope)
        ours = {
            r.meter_id: r
            for r in closed_billing_windows(
                session, scope, meters, ending_from=PERIOD.start, ending_before=PERIOD.end
            )
        }
    assert set(ours) == set(meter_ids.values())
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
    for name, meter_id in meter_ids.items():
        row = ours[meter_id]
        assert (row.external_customer_id, row.window_start, row.window_end) == (CUSTOMER, START, END)
        assert row.usage == aggregate(meters[meter_id], mappings, START, END), name
        assert row.usage is not None and row.usage > 0, name

    result = _bill(billing, tmp_path, scope)
    assert result.success
    evaluation = _evaluation(result)
    assert evaluation.passed, evaluation.metadata
    assert evaluation.metadata["differences"].value == 0
    assert evaluation.metadata["first_differences"].value == []

    # A lost update: the API-calls window row missed one event.
    calls = meter_ids["calls"]
    with db.write_session(db.session_factory(db.make_engine(billing.database_url))) as session:
        changed = session.execute(
            update(windows)
            .where(
                windows.c.tenant_id == scope.tenant_id,
                windows.c.meter_id == calls,
                windows.c.window_start == START,
                windows.c.window_end == END,
            )
            .values(event_count=windows.c.event_count - 1)
        ).rowcount
    assert changed == 1

    evaluation = _evaluation(_bill(billing, tmp_path, scope))
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["differences"].value == 1
    billed = ours[calls].usage
    assert billed is not None
    assert evaluation.metadata["first_differences"].value == [
        {
            "external_customer_id": CUSTOMER,
            "meter_id": f"{scope.environment_id}/{calls}",
            "window_start": START.isoformat(),
            "window_end": END.isoformat(),
            "read_model": str(billed - 1),
            "warehouse": str(billed),
        }
    ]
