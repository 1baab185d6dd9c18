"""The ``webhook_deliveries`` asset: sends the tenant's due webhook deliveries after its invoices.

Per-delivery retries follow the backoff schedule stored on each delivery (``backoff.py``), so a
slow endpoint never fails the run; Dagster's retry policy covers the run itself (database errors).
Deliveries that used up every attempt are listed in the metadata and fail the
``webhook_deliveries_none_failed`` check.
"""

from collections.abc import Sequence

import dagster as dg

from flexprice_pipelines.defs.partitions import BILLING_PARTITIONS, partition_keys
from flexprice_pipelines.defs.resources import CatalogResource, ClockResource
from flexprice_pipelines.integrations.destinations import DestinationPolicy
from flexprice_pipelines.integrations.webhooks.delivery import (
    DeliverySummary,
    deliver_pending,
    delivery_client,
)

WEBHOOK_RETRY = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
CHECK = "webhook_deliveries_none_failed"


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
