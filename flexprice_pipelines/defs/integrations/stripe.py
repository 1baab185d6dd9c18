"""The ``stripe_invoice_sync`` asset (a factory the pipeline wires in) and its Stripe resource.

The asset is a thin adapter over ``sync_invoices_to_stripe``: per (tenant, period) partition it
sends every FINALIZED invoice whose period ends in the month, for each environment that has a Stripe
secret key. Transient Stripe errors fail the step *after* every other invoice was tried, so the
``RetryPolicy`` re-runs it with backoff (synced invoices are then no-ops); on the last attempt the
step succeeds and the ``all_invoices_synced`` check fails, naming the invoices — one customer's
failure never blocks the partition.
"""

# No `from __future__ import annotations`: Dagster reads the resource and context annotations at runtime.

from collections.abc import Sequence
from datetime import datetime

import dagster as dg
import stripe

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.catalog.models import Invoice
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.tenancy import tenant_scopes
from flexprice_pipelines.defs.partitions import BILLING_PARTITIONS, partition_keys
from flexprice_pipelines.defs.resources import CatalogResource, ClockResource
from flexprice_pipelines.integrations.stripe.connections import get_connection
from flexprice_pipelines.integrations.stripe.sync import SyncOutcome, SyncSummary, sync_invoices_to_stripe

CHECK = "all_invoices_synced"


class StripeResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where Stripe is (``api_base`` for a local stub); each environment's key is in its connection."""

    api_base: str | None = None
    # False: Stripe is not configured for this deployment and the asset skips (docs/architecture.md).
    enabled: bool = True
    # The SDK's own retries stay off: Dagster's RetryPolicy retries the step, and the idempotency
    # keys make a retried call safe either way.
    max_network_retries: int = 0

    def client(self, secret_key: str) -> stripe.StripeClient:
        """A client for one Stripe account."""
        bases: dict[str, str] = {"api": self.api_base} if self.api_base else {}
        return stripe.StripeClient(
            secret_key,
            base_addresses=bases,  # type: ignore[arg-type]
            max_network_retries=self.max_network_retries,
        )


def sync_partition(
    catalog: CatalogResource, stripe_resource: StripeResource, tenant_id: str, month: YearMonth, now: datetime
) -> SyncSummary:
    """Sync the partition's finalized invoices of every Stripe-connected environment of the tenant."""
    summary = SyncSummary()
    with catalog.sessions()() as session:
        for scope in tenant_scopes(session, tenant_id):
            connection = get_connection(session, scope)
            if connection is None or not connection.secret_key:
                continue  # Stripe is off unless configured
            statement = (
                Repository(session, scope, Invoice)
                .select()
                .where(
                    Invoice.invoice_status == "FINALIZED",
                    Invoice.period_end >= month.start,
                    Invoice.period_end < month.end,
                )
                .order_by(Invoice.id)
            )
            invoices = list(session.scalars(statement))
            client = stripe_resource.client(connection.secret_key)
            summary.results.extend(sync_invoices_to_stripe(session, scope, invoices, client, now).results)
    return summary


def build_stripe_invoice_sync(
    *,
    deps: Sequence[str] = ("invoices",),
    partitions_def: dg.PartitionsDefinition = BILLING_PARTITIONS,
    max_retries: int = 3,
    retry_delay_seconds: float = 30,
) -> dg.AssetsDefinition:
    """The ``stripe_invoice_sync`` asset, downstream of ``deps``, with a RetryPolicy and its check."""
    policy = dg.RetryPolicy(
        max_retries=max_retries,
        delay=retry_delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )

    @dg.asset(
        name="stripe_invoice_sync",
        partitions_def=partitions_def,
        deps=[dg.AssetKey(d) for d in deps],
        group_name="integrations",
        kinds={"stripe"},
        retry_policy=policy,
        check_specs=[dg.AssetCheckSpec(CHECK, asset="stripe_invoice_sync")],
    )
    def stripe_invoice_sync(
        context: dg.AssetExecutionContext,
        catalog: CatalogResource,
        stripe_api: StripeResource,
        clock: ClockResource,
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """Finalized invoices of the partition in Stripe: customer, one item per line, finalized, once."""
        if not stripe_api.enabled:
            return dg.MaterializeResult(
                metadata={"status": "not configured"},
                check_results=[
                    dg.AssetCheckResult(check_name=CHECK, passed=True, metadata={"status": "not configured"})
                ],
            )
        tenant_id, month = partition_keys(context)
        summary = sync_partition(catalog, stripe_api, tenant_id, month, clock.now())
        transient = [r.invoice_id for r in summary.failures if r.retryable]
        if transient and context.retry_number < max_retries:
            raise dg.Failure(
                f"{len(transient)} invoice(s) hit transient Stripe errors; retrying",
                metadata=summary.metadata(),
            )
        failed = summary.failures
        return dg.MaterializeResult(
            metadata=summary.metadata(),
            check_results=[
                dg.AssetCheckResult(
                    check_name=CHECK,
                    passed=not failed,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={
                        "failed": len(failed),
                        "synced": summary.count(SyncOutcome.SYNCED)
                        + summary.count(SyncOutcome.ALREADY_SYNCED),
                        "failed_invoice_ids": [r.invoice_id for r in failed],
                    },
                )
            ],
        )

    return stripe_invoice_sync
