"""The usage read model's consistency check on dbt's ``fct_period_usage``, per (tenant, period) partition.

``usage.consistency.build_consistency_check`` compares rows; this module supplies the two sides of
one partition: the read model's closed billing windows ending in the month (every environment of the
tenant) and the ``fct_period_usage`` rows of the same slice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import dagster as dg

from flexprice_pipelines.billing.meters import AggregationType
from flexprice_pipelines.defs.billing.catalog_terms import tenant_scopes
from flexprice_pipelines.defs.resources import CatalogResource, ClockResource, WarehouseResource
from flexprice_pipelines.rating.windows import YearMonth
from flexprice_pipelines.usage.catalog_view import load_meters
from flexprice_pipelines.usage.consistency import build_consistency_check
from flexprice_pipelines.usage.queries import WindowUsage, closed_billing_windows

FCT_PERIOD_USAGE = "fct_period_usage"
# The check keys (customer, meter, window); a line item's own start narrows its usage window in dbt only.
_FCT_SQL = {
    "duckdb": (
        "select environment_id, external_customer_id, meter_id, window_start, window_end, usage_start, "
        "aggregation_type, quantity from fct_period_usage where tenant_id = $tenant and period_key = $period"
    ),
    "clickhouse": (
        "select environment_id, external_customer_id, meter_id, window_start, window_end, usage_start, "
        "aggregation_type, quantity from {db}.fct_period_usage "
        "where tenant_id = {tenant:String} and period_key = {period:String}"
    ),
}
_COUNTS = {AggregationType.COUNT.value, AggregationType.COUNT_UNIQUE.value}


def _partition(context: Any) -> tuple[str, YearMonth]:
    key = context.op_execution_context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        raise dg.Failure(
            "the usage consistency check runs per (tenant, period) partition", allow_retries=False
        )
    dims = key.keys_by_dimension
    return dims["tenant"], YearMonth.parse(dims["period"])


def _closed_at(context: Any) -> datetime:
    _, month = _partition(context)
    clock: ClockResource = context.resources.clock
    return min(month.end, clock.now())


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def no_usage_as_none(aggregation: str, quantity: Decimal | None) -> Decimal | None:
    """A zero count means no events: the read model tracks no window then, dbt has a 0 row; both are "no usage"."""
    return None if aggregation in _COUNTS and quantity == 0 else quantity


def load_read_model(context: Any) -> list[WindowUsage]:
    """The read model's billing windows of the tenant ending in the partition month, keyed per environment."""
    tenant, month = _partition(context)
    catalog: CatalogResource = context.resources.catalog
    out: list[WindowUsage] = []
    with catalog.read() as session:
        for scope in tenant_scopes(session, tenant):
            meters = load_meters(session, scope)
            for r in closed_billing_windows(
                session, scope, meters, ending_from=month.start, ending_before=month.end
            ):
                aggregation = meters[r.meter_id].aggregation.type.value
                out.append(
                    WindowUsage(
                        r.external_customer_id,
                        f"{scope.environment_id}/{r.meter_id}",
                        r.window_start,
                        r.window_end,
                        no_usage_as_none(aggregation, r.usage),
                    )
                )
    return out


def load_fct_period_usage(context: Any) -> list[WindowUsage]:
    """``fct_period_usage`` rows of the partition covering whole billing windows, keyed like the read model."""
    tenant, month = _partition(context)
    warehouse: WarehouseResource = context.resources.warehouse
    store = warehouse.store()
    try:
        sql = _FCT_SQL["duckdb" if store.dialect == "duckdb" else "clickhouse"]
        rows = store.query(sql, {"tenant": tenant, "period": month.key})
    finally:
        store.close()
    out: dict[tuple[str, str, datetime, datetime], WindowUsage] = {}
    for env, customer, meter_id, start, end, usage_start, aggregation, quantity in rows:
        if _aware(usage_start) != _aware(start):
            continue  # a line item starting mid-window: the read model tracks the whole window only
        value = None if quantity is None else Decimal(str(quantity))
        row = WindowUsage(customer, f"{env}/{meter_id}", _aware(start), _aware(end), value)
        # Several line items may bill one meter over one window: the same usage, one row.
        out[(row.external_customer_id, row.meter_id, row.window_start, row.window_end)] = WindowUsage(
            row.external_customer_id,
            row.meter_id,
            row.window_start,
            row.window_end,
            no_usage_as_none(str(aggregation), row.usage),
        )
    return list(out.values())


usage_read_model_check = build_consistency_check(
    FCT_PERIOD_USAGE,
    load_read_model=load_read_model,
    load_warehouse=load_fct_period_usage,
    closed_at=_closed_at,
    # SQL engines may round the last digit of AVG / WEIGHTED_SUM quotients (usage.consistency).
    tolerance=Decimal("1e-20"),
    required_resource_keys={"catalog", "warehouse", "clock"},
)
"""Non-blocking check on ``fct_period_usage``: the real-time read model agrees on every closed window."""
