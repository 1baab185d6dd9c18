"""Billing assets per (tenant, period) partition: windows → usage → rated lines → invoices.

Each body reads its partition keys, loads through a resource, calls one pure function and writes
through a resource (or the IO manager for intermediate values).
"""

from collections.abc import Iterator, Sequence
from dataclasses import replace

import dagster as dg

from flexprice_pipelines.billing.errors import BillingError
from flexprice_pipelines.billing.meters import Event, deduplicate
from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.billing.rating.assemble import assemble_invoices
from flexprice_pipelines.billing.rating.rate import (
    LateUsageDrift,
    RatedLine,
    UsageRow,
    audit_late_usage,
    rate_partition,
)
from flexprice_pipelines.billing.rating.usage import compute_period_usage
from flexprice_pipelines.billing.rating.windows import plan_partition
from flexprice_pipelines.catalog.tenancy import tenant_scopes
from flexprice_pipelines.defs.billing.checks import (
    UncountableValue,
    count_window_events,
    invoice_check_results,
    late_horizon_check_result,
    uncountable_window_values,
    usage_check_result,
)
from flexprice_pipelines.defs.partitions import BILLING_PARTITIONS, partition_keys
from flexprice_pipelines.defs.resources import (
    WAREHOUSE_POOL,
    CatalogResource,
    ClockResource,
    WarehouseResource,
)
from flexprice_pipelines.defs.usage_dbt import (
    dbt_window_id,
    read_period_usage,
    usage_models,
    write_dbt_inputs,
)
from flexprice_pipelines.ledger.grants import apply_due_grants
from flexprice_pipelines.ledger.invoices import SettleSummary, billed_usage, wallet_credit
from flexprice_pipelines.ledger.settle import settle_environment
from flexprice_pipelines.ledger.terms import EnvironmentPlan, load_environment_terms

GROUP = "billing"
USAGE_CHECK = "raw_events_counted_into_usage"
LATE_HORIZON_CHECK = "late_usage_within_horizon"
INVOICE_CHECKS = (
    "line_amounts_sum_to_subtotal",
    "no_negative_totals",
    "one_cycle_invoice_per_ended_period",
    "invoice_numbers_gapless",
)


def _bad_data(exc: BillingError) -> dg.Failure:
    # Bad catalog data will not fix itself on a retry; the field tells the billing team what to repair.
    return dg.Failure(f"{exc} (field: {exc.field})", allow_retries=False)


@dg.asset(
    partitions_def=BILLING_PARTITIONS, group_name=GROUP, kinds={"python", "sqlite"}, pool=WAREHOUSE_POOL
)
def billing_windows(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    clock: ClockResource,
    warehouse: WarehouseResource,
) -> dg.Output[list[EnvironmentPlan]]:
    """Every subscription line-item window of the tenant ending in the period month, from the catalog."""
    tenant, month = partition_keys(context)
    now = clock.now()
    try:
        with catalog.read() as session:
            envs = [load_environment_terms(session, scope) for scope in tenant_scopes(session, tenant)]
        plans = [
            EnvironmentPlan(
                terms=e, plan=plan_partition(list(e.subscriptions), month, now, e.grace, e.max_past)
            )
            for e in envs
        ]
    except BillingError as exc:
        raise _bad_data(exc) from exc
    if warehouse.usage_engine == "dbt":
        for p in plans:
            scope = p.terms.scope
            write_dbt_inputs(
                warehouse, scope.tenant_id, scope.environment_id, month.key, p.plan.windows, p.terms.meters
            )
    return dg.Output(
        plans,
        metadata={
            "environments": len(plans),
            "subscriptions": sum(len(p.terms.subscriptions) for p in plans),
            "invoices": sum(len(p.plan.invoices) for p in plans),
            "usage_windows": sum(len(p.plan.windows) for p in plans),
            "now": now.isoformat(),
        },
    )


@dg.asset(
    partitions_def=BILLING_PARTITIONS,
    group_name=GROUP,
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=["fct_period_usage", "fct_period_usage_buckets"],
    check_specs=[dg.AssetCheckSpec(USAGE_CHECK, asset="period_usage", blocking=True)],
)
def period_usage(
    context: dg.AssetExecutionContext, billing_windows: list[EnvironmentPlan], warehouse: WarehouseResource
) -> Iterator[dg.Output[dict[str, UsageRow]] | dg.AssetCheckResult]:
    """Usage per billing window × meter: fct_period_usage rows (dbt), or the reference aggregation in Python."""
    tenant, month = partition_keys(context)
    usage: dict[str, UsageRow] = {}
    checks: list[tuple[str, int, int]] = []
    uncountable: list[UncountableValue] = []
    for env in billing_windows:
        windows = env.plan.windows
        if not windows:
            continue
        scope = env.terms.scope
        customers = sorted({w.external_customer_id for w in windows})
        span = (min(w.window_start for w in windows), max(w.window_end for w in windows))
        with warehouse.open() as store:
            events = store.events_for_customers(scope.tenant_id, scope.environment_id, customers, *span)
        try:
            rows = _usage_rows(warehouse, tenant, month, env, events)
        except BillingError as exc:  # a quantity outside DECIMAL(38, 18): loud, as the SQL engines fail
            raise _bad_data(exc) from exc
        usage.update(rows)
        # The reconciliation recounts, from the latest raw event versions, what the usage query counted,
        # and names every value the engines left out because it is outside DECIMAL(38, 18).
        latest = deduplicate(events)
        checks.extend(count_window_events(windows, env.terms.meters, rows, latest))
        uncountable.extend(uncountable_window_values(windows, env.terms.meters, latest))
    yield dg.Output(
        usage,
        metadata={
            "engine": warehouse.usage_engine,
            "windows": len(usage),
            "events_counted": sum(r.event_count for r in usage.values()),
        },
    )
    yield usage_check_result(USAGE_CHECK, checks, uncountable)


def _usage_rows(
    warehouse: WarehouseResource,
    tenant: str,
    month: YearMonth,
    env: EnvironmentPlan,
    events: Sequence[Event],
) -> dict[str, UsageRow]:
    windows = env.plan.windows
    if warehouse.usage_engine != "dbt":
        return {row.window_id: row for row in compute_period_usage(windows, env.terms.meters, events)}
    months = sorted(
        {YearMonth.parse(w.window_end.strftime("%Y-%m")) for w in windows} | {month}, key=lambda m: m.key
    )
    by_dbt_id = read_period_usage(warehouse, tenant, months, env.terms.meters)
    return {
        w.window_id: replace(row, window_id=w.window_id)
        for w in windows
        if (row := by_dbt_id.get(dbt_window_id(w))) is not None
    }


@dg.asset(
    partitions_def=BILLING_PARTITIONS,
    group_name=GROUP,
    kinds={"python"},
    check_specs=[dg.AssetCheckSpec(LATE_HORIZON_CHECK, asset="rated_line_items", blocking=False)],
)
def rated_line_items(
    billing_windows: list[EnvironmentPlan], period_usage: dict[str, UsageRow], catalog: CatalogResource
) -> Iterator[dg.Output[dict[str, list[RatedLine]]] | dg.AssetCheckResult]:
    """Priced invoice lines of every charge in the partition (usage, fixed, late usage), unrounded."""
    rated: dict[str, list[RatedLine]] = {}
    drifts: list[LateUsageDrift] = []
    try:
        with catalog.read() as session:
            for env in billing_windows:
                ledger = billed_usage(session, env.terms.scope, env.plan)
                subs = env.subscriptions
                rated[env.terms.scope.environment_id] = rate_partition(
                    env.plan, subs, period_usage, ledger.billed, ledger.settled
                )
                drifts.extend(audit_late_usage(env.plan, subs, period_usage, ledger.billed))
    except BillingError as exc:
        raise _bad_data(exc) from exc
    lines = [line for env_lines in rated.values() for line in env_lines]
    yield dg.Output(
        rated,
        metadata={
            "lines": len(lines),
            "late_usage_lines": sum(1 for line in lines if line.kind.value == "late_usage"),
            "amount_unrounded": str(sum((line.amount for line in lines), start=0)),
        },
    )
    yield late_horizon_check_result(LATE_HORIZON_CHECK, drifts)


@dg.asset(partitions_def=BILLING_PARTITIONS, group_name=GROUP, kinds={"python", "sqlite"})
def credit_grant_applications(
    context: dg.AssetExecutionContext, catalog: CatalogResource, clock: ClockResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Credit-grant top-ups due up to the end of the period month (or now), landed in the prepaid wallets."""
    tenant, month = partition_keys(context)
    until = min(clock.now(), month.end)
    applied = missing = 0
    with catalog.read() as session:
        envs = [load_environment_terms(session, scope) for scope in tenant_scopes(session, tenant)]
    for env in envs:
        with catalog.write() as session:
            seen, lacking = apply_due_grants(session, env, until)
        applied, missing = applied + seen, missing + lacking
    return dg.MaterializeResult(metadata={"applications": applied, "without_wallet": missing})


class InvoicesConfig(dg.Config):
    """Run config of ``invoices``: ``reissue: true`` (with a ``reason``) voids and replaces changed finalized invoices."""

    reissue: bool = False
    reason: str | None = None


@dg.asset(
    partitions_def=BILLING_PARTITIONS,
    group_name=GROUP,
    kinds={"python", "sqlite"},
    deps=[credit_grant_applications],
    check_specs=[dg.AssetCheckSpec(name, asset="invoices", blocking=True) for name in INVOICE_CHECKS],
)
def invoices(
    context: dg.AssetExecutionContext,
    config: InvoicesConfig,
    billing_windows: list[EnvironmentPlan],
    rated_line_items: dict[str, list[RatedLine]],
    catalog: CatalogResource,
    clock: ClockResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Invoices of the partition: drafts recomputed until grace passes, then finalized with a number."""
    if config.reissue and not (config.reason or "").strip():
        raise dg.Failure("a reissue needs a reason (run config invoices.reason)", allow_retries=False)
    now = clock.now()
    totals: dict[str, SettleSummary] = {}
    try:
        for env in billing_windows:
            with catalog.write() as session:
                credit = wallet_credit(session, env.terms.scope, now)
                lines = rated_line_items.get(env.terms.scope.environment_id, [])
                drafts = assemble_invoices(env.plan, env.subscriptions, lines, credit)
                summary = settle_environment(
                    session, env.terms, drafts, now=now, reissue=config.reissue, reason=config.reason
                )
            totals[env.terms.scope.environment_id] = summary
    except BillingError as exc:
        raise _bad_data(exc) from exc
    with catalog.read() as session:
        checks = invoice_check_results(session, billing_windows, INVOICE_CHECKS)
    context.log.info("invoices settled: %s", totals)
    return dg.MaterializeResult(
        metadata={
            "drafts": sum(s.drafts for s in totals.values()),
            "finalized": sum(s.finalized for s in totals.values()),
            "skipped": sum(s.skipped for s in totals.values()),
            "reissued": sum(s.reissued for s in totals.values()),
            "unchanged_final": sum(s.unchanged_final for s in totals.values()),
            "finalized_total": str(sum((s.total for s in totals.values()), start=0)),
        },
        check_results=checks,
    )


BILLING_ASSETS = [billing_windows, period_usage, rated_line_items, credit_grant_applications, invoices]
"""The billing assets without the dbt models (enough with ``usage_engine="python"``)."""

ALL_BILLING_ASSETS = [*BILLING_ASSETS, usage_models]
