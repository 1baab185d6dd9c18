"""The ``webhook_deliveries`` asset, which sends the tenant's due webhook deliveries after its invoices,
and the schedule that drains them every minute.

Per-delivery retries follow the backoff schedule stored on each delivery (``backoff.py``), so a
slow endpoint never fails the run; Dagster's retry policy covers the run itself (database errors).
Deliveries that used up every attempt are listed in the metadata and fail the
``webhook_deliveries_none_failed`` check.

Retries are due minutes to hours after the partition run that queued them, so a schedule (not the
billing partition run) sends them, one run per tenant with something due. A tick launches nothing
when no delivery is due, keeps one ``run_key`` per (tenant, tick) so a re-evaluated tick never
launches twice, and reads "now" from the tick's scheduled time, never the wall clock.
"""

# No `from __future__ import annotations`: Dagster reads the resource annotations at runtime.

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

import dagster as dg

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.defs.partitions import (
    BILLING_PARTITIONS,
    TENANTS,
    billing_partition_key,
    partition_keys,
)
from flexprice_pipelines.defs.resources import CatalogResource, ClockResource
from flexprice_pipelines.integrations.destinations import DestinationPolicy
from flexprice_pipelines.integrations.webhooks.delivery import (
    DeliverySummary,
    deliver_pending,
    delivery_client,
    tenants_with_due_deliveries,
)

WEBHOOK_RETRY = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
CHECK = "webhook_deliveries_none_failed"
EVERY_MINUTE = "* * * * *"


def delivery_metadata(summary: DeliverySummary) -> dict[str, object]:
    """Run metadata: attempts, outcomes and the deliveries given up on."""
    return {
        "attempted": summary.attempted,
        "delivered": summary.delivered,
        "retrying": summary.retrying,
        "failed": len(summary.failed),
        "failed_deliveries": [
            {"delivery_id": f.delivery_id, "endpoint_id": f.endpoint_id, "event_type": f.event_type,
             "status_code": f.status_code, "error": f.error}
            for f in summary.failed
        ],
    }  # fmt: skip


def build_webhook_deliveries_asset(
    *,
    name: str = "webhook_deliveries",
    deps: Sequence[str | dg.AssetKey] = ("invoices",),
    partitions_def: dg.PartitionsDefinition = BILLING_PARTITIONS,
    retry_policy: dg.RetryPolicy = WEBHOOK_RETRY,
    timeout: float = 10.0,
    allow_loopback: bool = False,
) -> dg.AssetsDefinition:
    """The ``webhook_deliveries`` asset, needing ``catalog`` and ``clock`` resources.

    ``allow_loopback`` (``FLEXPRICE_WEBHOOKS_ALLOW_LOOPBACK``, development only) lets deliveries
    reach 127.0.0.1 / ::1; every other non-public destination is refused regardless."""
    destinations = DestinationPolicy(allow_loopback=allow_loopback)

    @dg.asset(
        name=name,
        deps=list(deps),
        partitions_def=partitions_def,
        group_name="integrations",
        kinds={"python"},
        retry_policy=retry_policy,
        check_specs=[dg.AssetCheckSpec(CHECK, asset=name, description="No delivery gave up.")],
    )
    def _asset(
        context: dg.AssetExecutionContext, catalog: CatalogResource, clock: ClockResource
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """System events of the tenant delivered to its webhook endpoints (signed, retried, logged)."""
        tenant, _ = partition_keys(context)
        with delivery_client() as http, catalog.write() as session:
            summary = deliver_pending(
                session, http, clock.now(), tenant_id=tenant, timeout=timeout, destinations=destinations
            )
        metadata = delivery_metadata(summary)
        return dg.MaterializeResult(
            metadata=metadata,  # type: ignore[arg-type]
            check_results=[
                dg.AssetCheckResult(
                    check_name=CHECK,
                    passed=not summary.failed,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"failed": len(summary.failed)},
                )
            ],
        )

    return _asset


def drain_requests(
    tenants: Collection[str], registered: Collection[str], tick: datetime
) -> list[dg.RunRequest]:
    """One run per due tenant that is a known partition, in the tick's month, keyed by tenant and tick."""
    tick = tick.astimezone(UTC)
    month = YearMonth(tick.year, tick.month)
    return [
        dg.RunRequest(
            run_key=f"webhook_deliveries:{tenant}:{tick.isoformat(timespec='minutes')}",
            partition_key=billing_partition_key(tenant, month),
        )
        for tenant in tenants
        if tenant in registered
    ]


def build_webhook_deliveries_schedule(
    target: dg.AssetsDefinition,
    *,
    name: str = "webhook_deliveries_every_minute",
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING,
) -> dg.ScheduleDefinition:
    """Every minute, materialize ``target`` (the ``webhook_deliveries`` asset) for tenants with due deliveries."""

    @dg.schedule(
        name=name,
        cron_schedule=EVERY_MINUTE,
        target=target,
        default_status=default_status,
        description="Send due webhook deliveries (first attempts and retries) every minute.",
    )
    def _schedule(
        context: dg.ScheduleEvaluationContext, catalog: CatalogResource
    ) -> dg.SkipReason | list[dg.RunRequest]:
        tick = context.scheduled_execution_time
        if tick is None:  # evaluated outside a tick (e.g. a test without a time): nothing is due
            return dg.SkipReason("no scheduled execution time")
        with catalog.read() as session:
            due = tenants_with_due_deliveries(session, tick)
        registered = set(context.instance.get_dynamic_partitions(TENANTS.name or "tenants"))
        requests = drain_requests(due, registered, tick)
        return requests or dg.SkipReason("no webhook delivery is due")

    return _schedule
