"""HubSpot CRM sync of finalized invoices: companies, contacts and deals, mapped so re-runs update."""

from __future__ import annotations

from flexprice_pipelines.integrations.hubspot.sync import (
    HubSpotSyncError,
    SyncFailure,
    SyncSummary,
    sync_invoices_to_hubspot,
)

__all__ = ["HubSpotSyncError", "SyncFailure", "SyncSummary", "sync_invoices_to_hubspot"]
