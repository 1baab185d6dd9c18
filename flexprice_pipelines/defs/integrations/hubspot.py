"""The ``hubspot_sync`` asset: a thin adapter over ``sync_invoices_to_hubspot`` per (tenant, period).

HubSpot errors worth retrying (429, 5xx, unreachable) fail the attempt so Dagster's retry policy
tries again with exponential backoff; the last attempt materializes anyway, listing what failed in
its metadata, and the ``hubspot_sync_complete`` check fails. Re-running is always safe: mappings make
a second pass update the same HubSpot objects.
"""

from collections.abc import Sequence

import dagster as dg
from hubspot import HubSpot
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.models import Invoice
from flexprice_pipelines.catalog.tenancy import tenant_scopes
from flexprice_pipelines.defs.partitions import BILLING_PARTITIONS, partition_keys
from flexprice_pipelines.defs.resources import CatalogResource
from flexprice_pipelines.integrations.hubspot.sync import SyncFailure, SyncSummary, sync_invoices_to_hubspot

HUBSPOT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
CHECK = "hubspot_sync_complete"


class HubSpotResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """A HubSpot private-app token and the API host (a local stub in tests and benchmarks).

    Without a token HubSpot is not configured and the asset skips (docs/architecture.md: off unless configured).
    """

    access_token: str | None = None
    host: str = "https://api.hubapi.com"

    @property
    def configured(self) -> bool:
        """Whether a token was given."""
        return bool(self.access_token)

    def client(self) -> HubSpot:
        """A ``hubspot.HubSpot`` client for this token and host."""
        return HubSpot(access_token=self.access_token, host=self.host)


def finalized_invoices(session: Session, scope: Scope, month: YearMonth) -> list[Invoice]:
    """Finalized invoices of ``scope`` whose period ends in ``month`` (the partition's invoices)."""
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
    return list(session.scalars(statement).all())


def sync_partition(
    catalog: CatalogResource, client: HubSpot, tenant_id: str, month: YearMonth
) -> SyncSummary:
    """Sync every environment of the tenant; each environment's mappings commit even when some failed."""
    total = SyncSummary()
    with catalog.read() as session:
        scopes = tenant_scopes(session, tenant_id)
    for scope in scopes:
        with catalog.write() as session:
            summary = sync_invoices_to_hubspot(
                session, scope, finalized_invoices(session, scope, month), client
            )
        total.synced += summary.synced
        total.skipped += summary.skipped
        total.created.update(summary.created)
        total.updated.update(summary.updated)
        total.failures.extend(summary.failures)
    return total


def _failure_table(failures: Sequence[SyncFailure]) -> dg.MetadataValue:
    rows = "\n".join(
        f"| {f.invoice_id} | {f.customer_id} | {f.object_type} | {f.message} |" for f in failures
    )
    return dg.MetadataValue.md(f"| invoice | customer | object | error |\n|---|---|---|---|\n{rows}")


def sync_metadata(summary: SyncSummary) -> dict[str, object]:
    """Run metadata: counts per object type and the failed invoices."""
    metadata: dict[str, object] = {
        "synced": summary.synced,
        "skipped_not_finalized": summary.skipped,
        "failed": len(summary.failures),
        "failed_invoice_ids": [f.invoice_id for f in summary.failures],
    }
    for kind in ("companies", "contacts", "deals"):
        metadata[f"created_{kind}"] = summary.created[kind]
        metadata[f"updated_{kind}"] = summary.updated[kind]
    if summary.failures:
        metadata["failures"] = _failure_table(summary.failures)
    return metadata


def build_hubspot_sync_asset(
    *,
    name: str = "hubspot_sync",
    deps: Sequence[str | dg.AssetKey] = ("invoices",),
    partitions_def: dg.PartitionsDefinition = BILLING_PARTITIONS,
    retry_policy: dg.RetryPolicy = HUBSPOT_RETRY,
) -> dg.AssetsDefinition:
    """The ``hubspot_sync`` asset, needing ``catalog`` and ``hubspot`` resources."""

    @dg.asset(
        name=name,
        deps=list(deps),
        partitions_def=partitions_def,
        group_name="integrations",
        kinds={"python", "hubspot"},
        retry_policy=retry_policy,
        check_specs=[dg.AssetCheckSpec(CHECK, asset=name, description="Every finalized invoice synced.")],
    )
    def _asset(
        context: dg.AssetExecutionContext, catalog: CatalogResource, hubspot: HubSpotResource
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """Finalized invoices of the partition as HubSpot deals, with their company and contact."""
        if not hubspot.configured:
            return dg.MaterializeResult(
                metadata={"status": "not configured"},
                check_results=[
                    dg.AssetCheckResult(check_name=CHECK, passed=True, metadata={"status": "not configured"})
                ],
            )
        tenant, month = partition_keys(context)
        summary = sync_partition(catalog, hubspot.client(), tenant, month)
        metadata = sync_metadata(summary)
        if summary.retryable and context.retry_number < retry_policy.max_retries:
            raise dg.Failure("HubSpot sync had retryable failures", metadata=metadata, allow_retries=True)  # type: ignore[arg-type]
        return dg.MaterializeResult(
            metadata=metadata,  # type: ignore[arg-type]
            check_results=[
                dg.AssetCheckResult(
                    check_name=CHECK,
                    passed=not summary.failures,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"failed_invoice_ids": metadata["failed_invoice_ids"]},  # type: ignore[dict-item]
                )
            ],
        )

    return _asset
