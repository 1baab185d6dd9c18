"""The usage read model's consistency check on dbt's ``fct_period_usage``, per (tenant, period) partition.

``build_consistency_check`` wraps ``usage.consistency.compare_usage`` in an asset check; this module
also supplies the two sides of one partition, keyed (customer, environment/meter, counted interval):
the partition's billed usage windows — the CYCLE windows ``plan_partition`` gives ``billing_windows`` (every environment of the
tenant) — evaluated on the read model, and the ``fct_period_usage`` rows of the same slice.

The windows come from the billing plan, not from the read model's tracked windows: the read model also
flags as billing windows a trial window (never billed) and the billing windows of an entitlement's
meter that no line item bills, and it tracks the subscription's whole window where a line item that
starts (or ends) inside it is billed over part of it — each would be a false difference. A planned
interval the read model does not track as a row is folded from its per-event rows
(``queries.window_usage``), exactly as an entitlement check reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import dagster as dg

from flexprice_pipelines.billing.meters import AggregationType
from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.billing.periods import BillingWindow
from flexprice_pipelines.billing.rating.windows import WindowRole, plan_partition
from flexprice_pipelines.catalog.tenancy import tenant_scopes
from flexprice_pipelines.defs.resources import CatalogResource, ClockResource, WarehouseResource
from flexprice_pipelines.ledger.terms import load_environment_terms
from flexprice_pipelines.usage.consistency import compare_usage
from flexprice_pipelines.usage.queries import WindowUsage, window_usage
from flexprice_pipelines.warehouse.reads import as_utc


def build_consistency_check(
    asset: Any,
    *,
    load_read_model: Callable[[Any], Sequence[WindowUsage]],
    load_warehouse: Callable[[Any], Sequence[WindowUsage]],
    closed_at: Callable[[Any], datetime],
    name: str = "usage_read_model_matches_fct_period_usage",
    tolerance: Decimal = Decimal(0),
    required_resource_keys: set[str] | None = None,
) -> Any:
    """A Dagster asset check on ``asset`` that fails listing the differing (customer, meter, window) rows.

    The loaders receive the check's context (partition keys, resources) and return each side's rows
    for the slice being checked. The pipeline's read-model side (``load_read_model`` below) reads the
    windows the partition bills with ``queries.window_usage``; ``queries.closed_billing_windows`` also
    lists tracked windows nothing bills (trial windows, entitled-only meters), so it is no key set.
    """

    @dg.asset_check(
        asset=asset,
        name=name,
        description="Real-time usage read model equals fct_period_usage on every closed billing window.",
        required_resource_keys=required_resource_keys or set(),
        blocking=False,
    )
    def _check(context):  # type: ignore[no-untyped-def]  # dagster refuses a string annotation here
        differences = compare_usage(
            load_read_model(context),
            load_warehouse(context),
            closed_at=closed_at(context),
            tolerance=tolerance,
        )
        return dg.AssetCheckResult(
            passed=not differences,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "differences": len(differences),
                "first_differences": dg.MetadataValue.json([d.as_row() for d in differences[:50]]),
            },
        )

    return _check


FCT_PERIOD_USAGE = "fct_period_usage"
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


def no_usage_as_none(aggregation: str, quantity: Decimal | None) -> Decimal | None:
    """A zero count means no events: the read model tracks no window then, dbt has a 0 row; both are "no usage"."""
    return None if aggregation in _COUNTS and quantity == 0 else quantity


def load_read_model(context: Any) -> list[WindowUsage]:
    """The read model's usage over every window the partition bills (every environment of the tenant)."""
    tenant, month = _partition(context)
    catalog: CatalogResource = context.resources.catalog
    clock: ClockResource = context.resources.clock
    now = clock.now()
    out: dict[tuple[str, str, datetime, datetime], WindowUsage] = {}
    with catalog.read() as session:
        for scope in tenant_scopes(session, tenant):
            terms = load_environment_terms(session, scope)
            plan = plan_partition(list(terms.subscriptions), month, now, terms.grace, terms.max_past)
            for w in plan.windows:
                meter = terms.meters.get(w.meter_id)
                # Only CYCLE windows reach dbt (``write_dbt_inputs``); late re-checks read earlier slices.
                if w.role is not WindowRole.CYCLE or meter is None:
                    continue
                key = (
                    w.external_customer_id,
                    f"{scope.environment_id}/{w.meter_id}",
                    w.window_start,
                    w.window_end,
                )
                if key in out:
                    continue  # several line items bill one meter over one window: the same usage, one row
                window = BillingWindow(w.window_start, w.window_end)
                quantity = window_usage(session, scope, w.external_customer_id, w.meter_id, meter, window)
                out[key] = WindowUsage(*key, no_usage_as_none(meter.aggregation.type.value, quantity))
    return list(out.values())


def load_fct_period_usage(context: Any) -> list[WindowUsage]:
    """``fct_period_usage`` rows of the partition, keyed like the read model by the interval counted."""
    tenant, month = _partition(context)
    warehouse: WarehouseResource = context.resources.warehouse
    # Keyed by the interval counted, [usage_start, window_end): a line item starting or ending inside a
    # subscription window is billed over that part only, and the read model is read over the same part.
    with warehouse.open() as store:
        rows = store.period_usage_intervals(tenant, month.key)
    out: dict[tuple[str, str, datetime, datetime], WindowUsage] = {}
    for env, customer, meter_id, _start, end, usage_start, aggregation, quantity in rows:
        value = None if quantity is None else Decimal(str(quantity))
        key = (customer, f"{env}/{meter_id}", as_utc(usage_start), as_utc(end))
        # Several line items may bill one meter over one window: the same usage, one row.
        out[key] = WindowUsage(*key, no_usage_as_none(str(aggregation), value))
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
