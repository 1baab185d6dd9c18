"""Partitions of the billing pipeline: tenant (dynamic) × period (the UTC month a billing period ends in).

Read keys with ``partition_keys(context)``; the key string is never split by hand.
"""

from __future__ import annotations

import dagster as dg

from flexprice_pipelines.billing.months import YearMonth

TENANTS = dg.DynamicPartitionsDefinition(name="tenants")
PERIODS = dg.MonthlyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
BILLING_PARTITIONS = dg.MultiPartitionsDefinition({"tenant": TENANTS, "period": PERIODS})


def partition_keys(context: dg.AssetExecutionContext) -> tuple[str, YearMonth]:
    """(tenant id, billing month) of the running partition."""
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        raise dg.Failure("billing assets run per (tenant, period) partition", allow_retries=False)
    dims = key.keys_by_dimension
    return dims["tenant"], YearMonth.parse(dims["period"])


def billing_partition_key(tenant_id: str, month: YearMonth) -> dg.MultiPartitionKey:
    """The partition key of (tenant, month) — the period dimension keyed by the month's first day."""
    return dg.MultiPartitionKey({"tenant": tenant_id, "period": f"{month.key}-01"})
