"""``hubspot_sync`` under ``materialize()``: retries with the policy, then reports failures."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import dagster as dg
from fastapi import FastAPI

from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.models import Customer, EntityIntegrationMapping, Invoice
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.defs.integrations.hubspot import CHECK, HubSpotResource, build_hubspot_sync_asset
from flexprice_pipelines.defs.resources import CatalogResource
from tests.support.hubspot_stub import HubSpotStub


def _seed(app: FastAPI) -> tuple[Scope, dict[str, str]]:
    invoices = {}
    with app.state.database.session() as session:
        tenant, env, _ = create_tenant(session, "crm-asset")
        scope = Scope(tenant.id, env.id)
        for n, name in enumerate(["Broken Co", "Fine Co", "Late Co"]):
            customer = Repository(session, scope, Customer).create(external_id=name, name=name)
            # Late Co's period ends in April: another partition.
            period_end = datetime(2025, 4 if name == "Late Co" else 3, 1, tzinfo=UTC)
            invoices[name] = (
                Repository(session, scope, Invoice)
                .create(
                    customer_id=customer.id,
                    invoice_status="FINALIZED",
                    billing_reason="SUBSCRIPTION_CYCLE",
                    currency="eur",
                    total=Decimal("19.90"),
                    period_end=period_end,
                    finalized_at=period_end,
                    invoice_number=f"INV-202503-{n:05d}",
                )
                .id
            )
        session.commit()
    return scope, invoices


def test_hubspot_sync_retries_then_reports_the_failed_invoice(
    app: FastAPI, database_url: str, stub: HubSpotStub
) -> None:
    scope, invoices = _seed(app)
    stub.fail_when(lambda r: r.properties.get("name") == "Broken Co", 503)
    asset = build_hubspot_sync_asset(deps=[], retry_policy=dg.RetryPolicy(max_retries=1, delay=0))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("tenants", [scope.tenant_id])

    result = dg.materialize(
        [asset],
        instance=instance,
        partition_key=dg.MultiPartitionKey({"tenant": scope.tenant_id, "period": "2025-03-01"}),
        resources={
            "catalog": CatalogResource(database_url=database_url),
            "hubspot": HubSpotResource(access_token=stub.access_token, host=stub.url),
        },
        raise_on_error=False,
    )

    assert result.success
    assert stub.requests[("POST", "companies")] == 3  # Broken Co twice (one retry), Fine Co once
    [materialization] = result.asset_materializations_for_node("hubspot_sync")
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert (metadata["synced"], metadata["failed"]) == (1, 1)
    assert metadata["failed_invoice_ids"] == [invoices["Broken Co"]]
    # The retry updated what the first attempt created: no duplicates.
    assert (metadata["created_deals"], metadata["updated_deals"], metadata["updated_companies"]) == (0, 1, 1)
    assert stub.count("deals") == 1 and stub.count("companies") == 1
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == CHECK and not check.passed
    with app.state.database.session() as session:
        mapped = Repository(session, scope, EntityIntegrationMapping).list(provider_type="hubspot_deal").items
    assert [m.entity_id for m in mapped] == [invoices["Fine Co"]]
