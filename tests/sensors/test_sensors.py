"""Sensors over a real catalog and warehouse in tmp, evaluated with ``build_sensor_context(cursor=…)``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import dagster as dg

from flexprice_pipelines.defs.resources import CatalogResource, ClockResource, WarehouseResource
from sensors import late_events_sensor, new_tenants_sensor, period_end_sensor
from tests.pipeline.conftest import Billing, daily_usage_plan, monthly_usage_plan, utc, worked_example_events


def _resources(billing: Billing, now: datetime | None = None) -> dict[str, Any]:
    return {
        "catalog": CatalogResource(database_url=billing.database_url),
        "warehouse": WarehouseResource(url=billing.warehouse_url),
        "clock": ClockResource(frozen_at=(now or utc(2026, 1, 1)).isoformat()),
    }


def _tick(sensor: Any, billing: Billing, cursor: str | None, now: datetime | None = None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=billing.instance, resources=_resources(billing, now), cursor=cursor
    )
    return sensor(context)  # type: ignore[no-any-return]


def _keys(result: dg.SensorResult) -> list[tuple[str, str | None]]:
    return [(r.run_key or "", r.partition_key) for r in result.run_requests or []]


def test_new_tenants_become_partitions_once(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    billing.instance.delete_dynamic_partition("tenants", scope.tenant_id)
    first = _tick(new_tenants_sensor, billing, None)
    [request] = first.dynamic_partitions_requests or []
    assert list(request.partition_keys or []) == [scope.tenant_id]
    assert json.loads(first.cursor or "") == {"tenants": [scope.tenant_id]}
    # Already requested: not requested again even before the instance has applied the request.
    assert _tick(new_tenants_sensor, billing, first.cursor).dynamic_partitions_requests == []


def test_period_end_requests_each_ended_period_once_after_grace(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope)  # monthly from 2026-01-01, fixed fee in advance, grace 2 h
    tenant = scope.tenant_id
    first = _tick(period_end_sensor, billing, None, utc(2026, 2, 1, 1))
    # The start (ADVANCE fee) is due; the January period ended but is still in grace.
    assert _keys(first) == [(f"bill:{tenant}:2026-01:2026-01-01T00:00:00+00:00", f"2026-01-01|{tenant}")]
    assert _keys(_tick(period_end_sensor, billing, first.cursor, utc(2026, 2, 1, 1, 30))) == []

    due = _tick(period_end_sensor, billing, first.cursor, utc(2026, 2, 1, 2))
    assert _keys(due) == [(f"bill:{tenant}:2026-02:2026-02-01T00:00:00+00:00", f"2026-02-01|{tenant}")]
    assert _keys(_tick(period_end_sensor, billing, due.cursor, utc(2026, 2, 20))) == []
    # Evaluating the same tick again yields the same run keys (Dagster drops the duplicates).
    assert _keys(_tick(period_end_sensor, billing, first.cursor, utc(2026, 2, 1, 2))) == _keys(due)


def test_period_end_requests_a_month_again_for_each_further_window(billing: Billing) -> None:
    scope = billing.tenant("daily-co")
    daily_usage_plan(billing, scope, start=utc(2026, 3, 1))
    tenant = scope.tenant_id
    cursor = None
    keys: list[tuple[str, str | None]] = []
    for day in (2, 3, 3, 5):
        result = _tick(period_end_sensor, billing, cursor, utc(2026, 3, day, 2))
        keys += _keys(result)
        cursor = result.cursor
    partition = f"2026-03-01|{tenant}"
    # Day 5's tick covers the windows ending on the 4th and the 5th with one request, keyed by the newest.
    assert keys == [
        (f"bill:{tenant}:2026-03:2026-03-02T00:00:00+00:00", partition),
        (f"bill:{tenant}:2026-03:2026-03-03T00:00:00+00:00", partition),
        (f"bill:{tenant}:2026-03:2026-03-05T00:00:00+00:00", partition),
    ]
    marks = json.loads(cursor or "")["requested"]
    assert marks == {f"{tenant}/{scope.environment_id}": "2026-03-05T00:00:00+00:00"}


def test_late_events_for_a_draft_rerun_its_partition(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)
    assert billing.bill(scope, "2026-02", utc(2026, 2, 1, 1)).success  # in grace: a draft
    first = _tick(late_events_sensor, billing, None)
    assert json.loads(first.cursor or "") == {"ingested_at": utc(2026, 1, 1).isoformat()}
    assert [p for _, p in _keys(first)] == [f"2026-02-01|{scope.tenant_id}"]
    assert _keys(_tick(late_events_sensor, billing, first.cursor)) == []

    billing.events(
        scope, [("acme", "api_call", utc(2026, 1, 31, 22), {})], ingested_at=utc(2026, 2, 1, 1, 30)
    )
    late = _tick(late_events_sensor, billing, first.cursor)
    stamp = utc(2026, 2, 1, 1, 30).isoformat()
    assert _keys(late) == [(f"late:{scope.tenant_id}:2026-02:{stamp}", f"2026-02-01|{scope.tenant_id}")]
    assert json.loads(late.cursor or "") == {"ingested_at": stamp}


def test_finalized_invoices_are_not_rerun(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)
    assert billing.bill(scope, "2026-02", utc(2026, 2, 1, 3)).success
    result = _tick(late_events_sensor, billing, None)
    assert _keys(result) == []
    assert json.loads(result.cursor or "") == {"ingested_at": utc(2026, 1, 1).isoformat()}


def test_late_events_of_a_finalized_window_rerun_the_draft_that_carries_them(billing: Billing) -> None:
    scope = billing.tenant("daily-co")
    daily_usage_plan(billing, scope, start=utc(2026, 1, 1))
    billing.events(scope, [("daily", "api_call", utc(2026, 1, 1, 12), {})], ingested_at=utc(2026, 1, 1, 13))
    # Jan 1 – Jan 30 finalized; the window ending Jan 31 is a draft in grace.
    assert billing.bill(scope, "2026-01", utc(2026, 1, 31, 1)).success
    cursor = _tick(late_events_sensor, billing, None).cursor

    billing.events(scope, [("daily", "api_call", utc(2026, 1, 20, 12), {})], ingested_at=utc(2026, 1, 31, 1))
    late = _tick(late_events_sensor, billing, cursor)
    assert [p for _, p in _keys(late)] == [f"2026-01-01|{scope.tenant_id}"]

    # An event after every invoice of the customer affects no draft: the period-end sensor bills it later.
    billing.events(scope, [("daily", "api_call", utc(2026, 2, 3), {})], ingested_at=utc(2026, 2, 3, 1))
    assert _keys(_tick(late_events_sensor, billing, late.cursor)) == []
