"""The consistency check: pure comparison, the read model's closed billing windows, the Dagster check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.billing.meters import aggregate
from flexprice_pipelines.catalog import Scope, db
from flexprice_pipelines.defs.usage_consistency import build_consistency_check
from flexprice_pipelines.usage.catalog_view import load_meters
from flexprice_pipelines.usage.consistency import UsageDifference, compare_usage
from flexprice_pipelines.usage.queries import WindowUsage, closed_billing_windows
from flexprice_pipelines.usage.updater import UsageUpdater
from tests.usage.seed import as_mapping, create_customer, create_meters, create_plan, event, subscribe, uid

JAN, FEB, MAR = (datetime(2025, m, 1, tzinfo=UTC) for m in (1, 2, 3))


def row(customer: str, usage: str | None, start: datetime = JAN, end: datetime = FEB) -> WindowUsage:
    return WindowUsage(customer, "meter_1", start, end, None if usage is None else Decimal(usage))


def test_equal_sides_pass_and_open_windows_are_ignored() -> None:
    ours = [row("a", "3"), row("b", None), row("a", "9", FEB, MAR)]
    theirs = [row("a", "3.0"), row("b", None), row("a", "1", FEB, MAR)]
    assert compare_usage(ours, theirs, closed_at=FEB) == []


def test_differences_name_customer_meter_and_window() -> None:
    ours = [row("a", "3"), row("b", "1")]
    theirs = [row("a", "4"), row("c", "2")]
    assert compare_usage(ours, theirs, closed_at=FEB) == [
        UsageDifference("a", "meter_1", JAN, FEB, Decimal(3), Decimal(4)),
        UsageDifference("b", "meter_1", JAN, FEB, Decimal(1), None),
        UsageDifference("c", "meter_1", JAN, FEB, None, Decimal(2)),
    ]
    assert (
        compare_usage([row("a", "1.0000001")], [row("a", "1")], closed_at=FEB, tolerance=Decimal("1e-6"))
        == []
    )


def test_read_model_windows_match_the_reference_and_the_check_reports_drift(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    with factory() as session:
        catalog = create_meters(
            session, scope, {"gb": {"event_name": "store", "aggregation": {"type": "MAX", "field": "gb"}}}
        )
        meter = catalog.meters["gb"]
        customer = create_customer(session, scope)
        plan = create_plan(session, scope, [], meter_ids=(meter.id,))
        subscribe(session, scope, customer, plan, JAN, billed_meter_ids=(meter.id,))
    events = [
        event(
            scope, customer.external_id, uid("s"), JAN + timedelta(days=d), MAR, {"gb": d % 7}, name="store"
        )
        for d in range(0, 45, 3)
    ]
    with db.write_session(factory) as session:
        UsageUpdater(config_ttl=0).apply(session, events)
    with factory() as session:
        meters = load_meters(session, scope)
        ours = list(
            closed_billing_windows(
                session, scope, meters, ending_from=JAN, ending_before=MAR + timedelta(days=1)
            )
        )
    assert {(r.window_start, r.window_end) for r in ours} == {(JAN, FEB), (FEB, MAR)}
    definition = meters[meter.id]
    warehouse = [
        WindowUsage(
            r.external_customer_id,
            r.meter_id,
            r.window_start,
            r.window_end,
            aggregate(definition, [as_mapping(e) for e in events], r.window_start, r.window_end),
        )
        for r in ours
    ]
    assert compare_usage(ours, warehouse, closed_at=MAR) == []

    late = warehouse[1]
    drifted = [
        warehouse[0],
        WindowUsage(
            late.external_customer_id, late.meter_id, late.window_start, late.window_end, Decimal(99)
        ),
    ]
    check = build_consistency_check(
        "fct_period_usage",
        load_read_model=lambda _: ours,
        load_warehouse=lambda _: drifted,
        closed_at=lambda _: MAR,
    )
    (evaluation,) = _run_check(check)
    assert evaluation.passed is False
    assert evaluation.metadata["differences"].value == 1
    (difference,) = evaluation.metadata["first_differences"].value
    assert difference["warehouse"] == "99" and difference["window_start"] == FEB.isoformat()


def _run_check(check: dg.AssetChecksDefinition) -> list[dg.AssetCheckEvaluation]:
    @dg.asset(name="fct_period_usage")
    def fct_period_usage() -> None:
        """Stands for the dbt model the check is attached to."""

    result = dg.materialize([fct_period_usage, check], raise_on_error=True)
    return result.get_asset_check_evaluations()
