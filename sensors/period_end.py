"""Billing periods that ended (+ the tenant's grace) → a run of the (tenant, month) partition holding them.

Cursor ``{"requested": {"<tenant>/<environment>": "<newest issue point requested, ISO>"}}``. A tick
requests every issue point (period end, or the start of a subscription billed in advance) after that
mark whose grace has passed by now. The run key ``bill:<tenant>:<YYYY-MM>:<issue point ISO>`` names the
newest such point of the month, so a month is requested again when a further window of it ends (daily
and weekly subscriptions) but never twice for the same one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.billing.rating.windows import subscription_issue_points
from flexprice_pipelines.catalog.tenancy import tenant_scopes
from flexprice_pipelines.defs.jobs import billing_job
from flexprice_pipelines.defs.partitions import TENANTS, billing_partition_key
from flexprice_pipelines.defs.resources import CatalogResource, ClockResource
from flexprice_pipelines.ledger.terms import load_environment_terms
from sensors.cursor import dump_cursor, load_cursor

# On its first tick for an environment the sensor looks back this far (older periods are backfills).
FIRST_LOOKBACK = timedelta(days=35)


def due_issue_points(
    catalog: CatalogResource, tenant_id: str, now: datetime, marks: dict[str, str]
) -> tuple[dict[YearMonth, datetime], dict[str, str]]:
    """(newest due issue point per month, updated marks) of one tenant's environments as of ``now``."""
    newest: dict[YearMonth, datetime] = {}
    updated = dict(marks)
    with catalog.read() as session:
        envs = [load_environment_terms(session, scope) for scope in tenant_scopes(session, tenant_id)]
    for env in envs:
        key = f"{tenant_id}/{env.scope.environment_id}"
        mark = datetime.fromisoformat(marks[key]) if key in marks else now - FIRST_LOOKBACK
        due = sorted(
            {
                point
                for sub in env.subscriptions
                for point in subscription_issue_points(sub, now)
                if mark < point and point + env.grace <= now
            }
        )
        for point in due:
            month = YearMonth(point.year, point.month)
            newest[month] = max(newest.get(month, point), point)
        if due:
            updated[key] = due[-1].isoformat()
    return newest, updated


@dg.sensor(job=billing_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING)
def period_end_sensor(
    context: dg.SensorEvaluationContext, catalog: CatalogResource, clock: ClockResource
) -> dg.SensorResult:
    """Requests each (tenant, month) partition once per billing period of it that ended and passed grace."""
    now = clock.now()
    state = load_cursor(context.cursor)
    marks: dict[str, str] = dict(state.get("requested", {}))
    requests: dict[str, dg.RunRequest] = {}
    for tenant in sorted(context.instance.get_dynamic_partitions(TENANTS.name or "tenants")):
        newest, marks = due_issue_points(catalog, tenant, now, marks)
        for month, point in sorted(newest.items(), key=lambda item: item[0].key):
            run_key = f"bill:{tenant}:{month.key}:{point.isoformat()}"
            requests[run_key] = dg.RunRequest(
                run_key=run_key,
                partition_key=billing_partition_key(tenant, month),
                tags={"flexprice/trigger": "period_end"},
            )
    return dg.SensorResult(run_requests=list(requests.values()), cursor=dump_cursor({"requested": marks}))
