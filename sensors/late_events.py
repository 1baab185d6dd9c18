"""Events ingested since the last tick → re-runs of the partitions whose unsettled invoices they affect.

An event can change a draft (or a SKIPPED invoice still in grace) whose period ends after the event's
timestamp: its own window, or — when that window's invoice is already finalized — the late-usage line
the next draft carries. Finalized invoices are never re-run; when no draft carries the window yet, the
period-end sensor bills it with the next period.

Cursor ``{"ingested_at": "<newest ingested_at seen, ISO>"}``; run key
``late:<tenant>:<YYYY-MM>:<that ingested_at>``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import or_

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.catalog.models import Customer, Invoice
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.defs.jobs import billing_job
from flexprice_pipelines.defs.partitions import billing_partition_key
from flexprice_pipelines.defs.resources import CatalogResource, WarehouseResource
from flexprice_pipelines.warehouse.reads import IngestedCustomer
from sensors.cursor import dump_cursor, load_cursor

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def affected_partitions(catalog: CatalogResource, ingested: list[IngestedCustomer]) -> set[tuple[str, str]]:
    """(tenant, YYYY-MM) of every unsettled invoice ending after the earliest new event of its customer."""
    by_scope: dict[Scope, dict[str, datetime]] = defaultdict(dict)
    for row in ingested:
        earliest = by_scope[Scope(row.tenant_id, row.environment_id)]
        earliest[row.external_customer_id] = min(
            earliest.get(row.external_customer_id, row.earliest_timestamp), row.earliest_timestamp
        )
    found: set[tuple[str, str]] = set()
    with catalog.read() as session:
        for scope, customers in sorted(
            by_scope.items(), key=lambda kv: (kv[0].tenant_id, kv[0].environment_id)
        ):
            ids = {
                c.id: customers[c.external_id]
                for c in session.scalars(
                    Repository(session, scope, Customer)
                    .select()
                    .where(Customer.external_id.in_(sorted(customers)))
                )
            }
            if not ids:
                continue
            unsettled = (
                Repository(session, scope, Invoice)
                .select()
                .where(
                    Invoice.customer_id.in_(sorted(ids)),
                    Invoice.finalized_at.is_(None),
                    or_(Invoice.invoice_status == "DRAFT", Invoice.invoice_status == "SKIPPED"),
                )
            )
            found.update(
                (scope.tenant_id, f"{inv.period_end:%Y-%m}")
                for inv in session.scalars(unsettled)
                if inv.period_end is not None and inv.period_end > ids[inv.customer_id]
            )
    return found


@dg.sensor(job=billing_job, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.RUNNING)
def late_events_sensor(
    context: dg.SensorEvaluationContext, catalog: CatalogResource, warehouse: WarehouseResource
) -> dg.SensorResult:
    """Re-runs partitions whose drafts may change because events were ingested since the last tick."""
    state = load_cursor(context.cursor)
    since = datetime.fromisoformat(state["ingested_at"]) if "ingested_at" in state else _EPOCH
    with warehouse.open() as store:
        ingested = store.customers_ingested_since(since)
    if not ingested:
        return dg.SensorResult(run_requests=[], cursor=dump_cursor(state))
    newest = max(row.newest_ingested_at for row in ingested).isoformat()
    requests = [
        dg.RunRequest(
            run_key=f"late:{tenant}:{month}:{newest}",
            partition_key=billing_partition_key(tenant, YearMonth.parse(month)),
            tags={"flexprice/trigger": "late_events"},
        )
        for tenant, month in sorted(affected_partitions(catalog, ingested))
    ]
    return dg.SensorResult(run_requests=requests, cursor=dump_cursor({"ingested_at": newest}))
