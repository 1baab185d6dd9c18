"""The integration assets, checks, schedule and resources as one ``Definitions`` to merge into the pipeline's.

    defs = dg.Definitions.merge(build_definitions(settings), integration_definitions(settings))

Downstream of the pipeline's ``invoices`` (docs/architecture.md, data flow): ``invoice_pdfs`` renders the
finalized invoices, then ``stripe_invoice_sync``, ``hubspot_sync`` and ``webhook_deliveries`` run
per (tenant, period) partition; a schedule drains due webhook deliveries every minute. Only this
module's own resources are defined here (``object_store``, ``stripe_api``, ``hubspot``): ``catalog``
and ``clock`` come from the pipeline, because ``Definitions.merge`` refuses two different objects
under one key. Stripe and HubSpot are off unless configured; their assets then materialize with
``status: not configured`` and touch nothing.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from flexprice_pipelines.defs.integrations.hubspot import HubSpotResource, build_hubspot_sync_asset
from flexprice_pipelines.defs.integrations.pdf import ObjectStoreResource, build_invoice_pdfs_asset
from flexprice_pipelines.defs.integrations.stripe import StripeResource, build_stripe_invoice_sync
from flexprice_pipelines.defs.integrations.webhooks import (
    build_webhook_deliveries_asset,
    build_webhook_deliveries_schedule,
)
from flexprice_pipelines.settings import Settings

INVOICES = "invoices"
INVOICE_PDFS = "invoice_pdfs"


def integration_resources(settings: Settings) -> dict[str, Any]:
    """The integrations' own resources, chosen from ``settings`` (Stripe and HubSpot off unless configured)."""
    return {
        "object_store": ObjectStoreResource.from_settings(settings),
        "stripe_api": StripeResource(api_base=settings.stripe_api_base, enabled=settings.stripe_enabled),
        "hubspot": HubSpotResource(access_token=settings.hubspot_access_token, host=settings.hubspot_host),
    }


def integration_definitions(settings: Settings | None = None) -> dg.Definitions:
    """Assets (with their checks), the webhook schedule and resources of the integrations."""
    chosen = settings or Settings()
    pdfs = build_invoice_pdfs_asset(deps=(INVOICES,))
    downstream = (INVOICE_PDFS,)  # sync what was rendered: the order of docs/architecture.md's data flow
    webhooks = build_webhook_deliveries_asset(deps=downstream, allow_loopback=chosen.webhooks_allow_loopback)
    return dg.Definitions(
        assets=[
            pdfs,
            build_stripe_invoice_sync(deps=downstream),
            build_hubspot_sync_asset(deps=downstream),
            webhooks,
        ],
        schedules=[build_webhook_deliveries_schedule(webhooks)],
        resources=integration_resources(chosen),
    )
