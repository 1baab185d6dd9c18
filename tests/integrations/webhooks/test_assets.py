"""``webhook_deliveries`` under ``materialize()``: sends the partition tenant's deliveries only."""

from __future__ import annotations

import dagster as dg
from fastapi import FastAPI

from flexprice_pipelines.catalog import Repository
from flexprice_pipelines.defs.integrations.webhooks import CHECK, build_webhook_deliveries_asset
from flexprice_pipelines.defs.resources import CatalogResource, ClockResource
from flexprice_pipelines.integrations.webhooks import INVOICE_VOIDED, WebhookDelivery, emit_system_event
from tests.integrations.webhooks.receiver import Receiver
from tests.integrations.webhooks.test_delivery import NOW, add_endpoint, new_scope, session_of


def test_webhook_deliveries_asset_delivers_and_checks(
    app: FastAPI, database_url: str, receiver: Receiver, other_receiver: Receiver
) -> None:
    mine, theirs = new_scope(app, "a"), new_scope(app, "b")
    add_endpoint(app, mine, receiver.url, [INVOICE_VOIDED])
    add_endpoint(app, theirs, other_receiver.url, [INVOICE_VOIDED])
    with session_of(app) as session:
        emit_system_event(session, mine, INVOICE_VOIDED, {"invoice_id": "inv_a"}, NOW)
        emit_system_event(session, theirs, INVOICE_VOIDED, {"invoice_id": "inv_b"}, NOW)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("tenants", [mine.tenant_id])

    result = dg.materialize(
        [build_webhook_deliveries_asset(deps=[], allow_loopback=True)],
        instance=instance,
        partition_key=dg.MultiPartitionKey({"tenant": mine.tenant_id, "period": "2025-03-01"}),
        resources={
            "catalog": CatalogResource(database_url=database_url),
            "clock": ClockResource(frozen_at=NOW.isoformat()),
        },
    )

    [materialization] = result.asset_materializations_for_node("webhook_deliveries")
    assert {k: materialization.metadata[k].value for k in ("attempted", "delivered", "failed")} == {
        "attempted": 1,
        "delivered": 1,
        "failed": 0,
    }
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == CHECK and check.passed
    assert len(receiver.requests) == 1 and other_receiver.requests == []
    with session_of(app) as session:
        [delivery] = Repository(session, theirs, WebhookDelivery).list().items
    assert delivery.delivery_status == "pending"  # the other tenant's partition sends it
