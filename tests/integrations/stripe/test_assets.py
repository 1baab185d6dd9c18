"""The ``stripe_invoice_sync`` asset: materialized per partition with real resources and the stub."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.defs.integrations.stripe import CHECK, StripeResource, build_stripe_invoice_sync
from flexprice_pipelines.defs.partitions import billing_partition_key
from flexprice_pipelines.defs.resources import CatalogResource, ClockResource
from tests.integrations.stripe.conftest import Line, add_customer, add_invoice, new_scope
from tests.support.stripe_stub import Fault, StripeStub


def _materialize(
    database_url: str, stub: StripeStub, tenant_id: str, retries: int = 2
) -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("tenants", [tenant_id])
    asset = build_stripe_invoice_sync(max_retries=retries, retry_delay_seconds=0.01)
    return dg.materialize(
        [asset],
        partition_key=billing_partition_key(tenant_id, YearMonth(2025, 3)),
        instance=instance,
        resources={
            "catalog": CatalogResource(database_url=database_url),
            "stripe_api": StripeResource(api_base=stub.url),
            "clock": ClockResource(frozen_at=datetime(2025, 3, 10, tzinfo=UTC).isoformat()),
        },
        raise_on_error=False,
    )


def _check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == CHECK
    return evaluation


@pytest.fixture
def tenant(sessions: sessionmaker[Session]) -> tuple[str, list[str]]:
    with sessions() as s:
        scope = new_scope(s, "asset-tenant")
        good, bad = add_customer(s, scope, "good"), add_customer(s, scope, "bad")
        ids = [
            add_invoice(s, scope, good, [Line("10.00")]).id,
            add_invoice(s, scope, bad, [Line("20.00")]).id,
        ]
    return scope.tenant_id, ids


def test_the_partition_syncs_and_the_check_passes(
    database_url: str, stub: StripeStub, tenant: tuple[str, list[str]]
) -> None:
    tenant_id, _ = tenant
    result = _materialize(database_url, stub, tenant_id)
    assert result.success
    [mat] = result.asset_materializations_for_node("stripe_invoice_sync")
    assert (mat.metadata["synced"].value, mat.metadata["failed"].value) == (2, 0)
    assert _check(result).passed
    assert (stub.count("customers"), stub.count("invoices")) == (2, 2)


def test_a_failing_customer_is_visible_in_metadata_and_the_check(
    database_url: str, stub: StripeStub, tenant: tuple[str, list[str]]
) -> None:
    tenant_id, (good_invoice, bad_invoice) = tenant
    stub.inject(
        Fault(
            path="/v1/customers",
            status=400,
            times=100,
            error_type="invalid_request_error",
            when=lambda p: p.get("metadata", {}).get("flexprice_external_id") == "bad",
        )
    )
    result = _materialize(database_url, stub, tenant_id)
    assert result.success  # the good invoice is not held back
    [mat] = result.asset_materializations_for_node("stripe_invoice_sync")
    assert mat.metadata["failed_invoice_ids"].value == [bad_invoice]
    evaluation = _check(result)
    assert not evaluation.passed
    assert evaluation.metadata["failed_invoice_ids"].value == [bad_invoice]
    [synced] = stub.objects("invoices")
    assert synced["metadata"]["flexprice_invoice_id"] == good_invoice


def test_transient_errors_are_retried_by_the_retry_policy(
    database_url: str, stub: StripeStub, tenant: tuple[str, list[str]]
) -> None:
    tenant_id, _ = tenant
    stub.inject(Fault(path="/v1/invoices/[^/]+/finalize", status=503, times=1))
    result = _materialize(database_url, stub, tenant_id)
    assert result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 1
    assert _check(result).passed
    assert (stub.count("customers"), stub.count("invoices"), stub.count("invoice_items")) == (2, 2, 2)
