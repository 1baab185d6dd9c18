"""The ``invoice_pdfs`` asset (a factory the integration definitions wire in) and its object-store resource.

A thin adapter over ``write_invoice_pdfs``: per (tenant, period) partition it renders every FINALIZED
invoice whose period ends in the month, in every live environment of the tenant, and stores it under
``invoice_pdf_key``. Its only writes are the objects and ``invoices.invoice_pdf_url``; it emits no
system events (those belong to the ledger writes that change an invoice).
"""

# No `from __future__ import annotations`: Dagster reads the resource and context annotations at runtime.

from collections.abc import Sequence
from typing import Self

import dagster as dg

from flexprice_pipelines.catalog.tenancy import tenant_scopes
from flexprice_pipelines.defs.partitions import BILLING_PARTITIONS, partition_keys
from flexprice_pipelines.defs.resources import CatalogResource
from flexprice_pipelines.integrations.object_store import ObjectStore, open_object_store
from flexprice_pipelines.integrations.pdf.publish import PdfWriteSummary, write_invoice_pdfs
from flexprice_pipelines.settings import Settings


class ObjectStoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where invoice PDFs go: ``file:///dir`` (embedded default) or ``s3://bucket/prefix``."""

    url: str
    s3_endpoint_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """``FLEXPRICE_OBJECT_STORE`` (default ``<home>/pdfs``) and ``FLEXPRICE_S3_ENDPOINT_URL``."""
        return cls(url=settings.resolved_object_store, s3_endpoint_url=settings.s3_endpoint_url)

    def store(self) -> ObjectStore:
        """The store the URL names (an S3 client is built per call; runs are short-lived)."""
        return open_object_store(self.url, s3_endpoint_url=self.s3_endpoint_url)


def write_partition_pdfs(
    catalog: CatalogResource, store: ObjectStore, tenant_id: str, period: str
) -> list[PdfWriteSummary]:
    """One committed transaction per environment, so one environment's failure keeps the others' PDFs."""
    with catalog.read() as session:
        scopes = tenant_scopes(session, tenant_id)
    summaries = []
    for scope in scopes:
        with catalog.write() as session:
            summaries.append(write_invoice_pdfs(session, scope, period, store))
    return summaries


def build_invoice_pdfs_asset(
    *,
    name: str = "invoice_pdfs",
    deps: Sequence[str | dg.AssetKey] = ("invoices",),
    partitions_def: dg.PartitionsDefinition = BILLING_PARTITIONS,
) -> dg.AssetsDefinition:
    """The ``invoice_pdfs`` asset, needing ``catalog`` and ``object_store`` resources."""

    @dg.asset(
        name=name,
        deps=[dg.AssetKey(d) if isinstance(d, str) else d for d in deps],
        partitions_def=partitions_def,
        group_name="integrations",
        kinds={"python", "pdf"},
    )
    def _asset(
        context: dg.AssetExecutionContext, catalog: CatalogResource, object_store: ObjectStoreResource
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """One Typst-rendered PDF per finalized invoice of the partition, in the object store."""
        tenant_id, month = partition_keys(context)
        summaries = write_partition_pdfs(catalog, object_store.store(), tenant_id, month.key)
        return dg.MaterializeResult(
            metadata={
                "pdfs": sum(s.invoices for s in summaries),
                "rendered": sum(s.rendered for s in summaries),
                "skipped_existing": sum(s.skipped_existing for s in summaries),
                "bytes": sum(s.bytes_written for s in summaries),
                "environments": len(summaries),
            }
        )

    return _asset
