"""Jobs of the billing pipeline and the credit-grants schedule (the sensors live in ``sensors/``)."""

from __future__ import annotations

import dagster as dg

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.defs.billing.assets import credit_grant_applications
from flexprice_pipelines.defs.partitions import TENANTS, billing_partition_key
from flexprice_pipelines.defs.resources import ClockResource

billing_job = dg.define_asset_job(
    "billing_job",
    selection=dg.AssetSelection.groups("billing"),
    description="Bill one (tenant, period) partition: windows → usage → rated lines → invoices.",
)

credit_grants_job = dg.define_asset_job(
    "credit_grants_job",
    selection=dg.AssetSelection.assets(credit_grant_applications),
    description="Apply due credit grants to prepaid wallets (before invoices are finalized).",
)


@dg.schedule(
    cron_schedule="5 * * * *", job=credit_grants_job, default_status=dg.DefaultScheduleStatus.STOPPED
)
def credit_grants_schedule(
    context: dg.ScheduleEvaluationContext, clock: ClockResource
) -> list[dg.RunRequest]:
    """Hourly, ahead of billing: apply the credit grants that came due (current and previous month)."""
    now = clock.now()
    month = YearMonth(now.year, now.month)
    return [
        dg.RunRequest(
            run_key=f"grants:{tenant}:{m.key}:{now:%Y%m%d%H}",
            partition_key=billing_partition_key(tenant, m),
        )
        for tenant in sorted(context.instance.get_dynamic_partitions(TENANTS.name or "tenants"))
        for m in (month.previous, month)
    ]
