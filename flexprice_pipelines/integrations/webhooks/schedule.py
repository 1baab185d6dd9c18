"""The schedule that drains webhook deliveries every minute, one run per tenant with something due.

Retries are due minutes to hours after the partition run that queued them, so a schedule (not the
billing partition run) sends them. A tick launches nothing when no delivery is due, keeps one
``run_key`` per (tenant, tick) so a re-evaluated tick never launches twice, and reads "now" from the
tick's scheduled time, never the wall clock.
"""

# No `from __future__ import annotations`: Dagster reads the resource annotations at runtime.

from collections.abc import Collection
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.catalog.models.webhooks import WebhookDelivery, WebhookEndpoint
from flexprice_pipelines.defs.partitions import TENANTS, billing_partition_key
from flexprice_pipelines.defs.resources import CatalogResource

EVERY_MINUTE = "* * * * *"


def tenants_with_due_deliveries(session: Session, now: datetime) -> list[str]:
    """Tenants with a pending delivery due at ``now`` to an enabled endpoint (what ``deliver_pending`` sends)."""
    statement = (
        select(WebhookDelivery.tenant_id)
        .join(
            WebhookEndpoint,
            (WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            & (WebhookEndpoint.tenant_id == WebhookDelivery.tenant_id)
            & (WebhookEndpoint.environment_id == WebhookDelivery.environment_id),
        )
        .where(
            WebhookDelivery.delivery_status == "pending",
            WebhookDelivery.status != "deleted",
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.endpoint_status == "enabled",
            WebhookEndpoint.status != "deleted",
        )
        .distinct()
        .order_by(WebhookDelivery.tenant_id)
    )
    return list(session.scalars(statement))


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
