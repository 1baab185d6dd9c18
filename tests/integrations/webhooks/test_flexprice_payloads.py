"""Every event we emit, produced by the code paths that emit it (ledger finalization, the Stripe
payment handler, the API's void and cancel), delivered to a receiver: its body validates against the
schema Flexprice's spec documents for that event (``/webhook-events/<name>``), uses only field
names that schema defines, and its Standard Webhooks signature verifies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema
import pytest

from flexprice_pipelines.integrations.stripe.webhooks import apply_event
from flexprice_pipelines.integrations.webhooks import EVENT_TYPES, deliver_pending
from tests.api import factories
from tests.api.conftest import Tenant
from tests.api.test_wallets_invoices import _finalize_through_the_ledger
from tests.integrations.webhooks.conftest import LOOPBACK
from tests.integrations.webhooks.receiver import Receiver
from tests.integrations.webhooks.verifier import verification_error
from tests.support.flexprice_spec import flexprice_spec

PATH = "/v1/webhooks/endpoints"
FINALIZED_AT = datetime(2025, 4, 11, tzinfo=UTC)
DELIVERED_AT = datetime(2025, 4, 12, tzinfo=UTC)


def event_schema(spec: dict[str, Any], event_type: str) -> dict[str, Any]:
    """The payload schema of ``/webhook-events/<event_type>`` (a ``$ref`` into the components)."""
    operation = spec["paths"][f"/webhook-events/{event_type}"]["post"]
    schema: dict[str, Any] = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return schema


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = spec["components"]["schemas"][name]
    return schema


def unknown_fields(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "$") -> list[str]:
    """Paths of the fields in ``value`` that ``schema`` does not define (the spec allows extra
    properties, so the validator alone would not notice a field name that is not Flexprice's)."""
    schema = resolve(spec, schema)
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                found.append(f"{where}.{key}")
            else:
                found += unknown_fields(spec, schema["properties"][key], item, f"{where}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += unknown_fields(spec, schema["items"], item, f"{where}[{i}]")
    return found


FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    # RFC 3339 needs a zone offset; fromisoformat alone would accept a naive time.
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def validation_errors(spec: dict[str, Any], event_type: str, body: Any) -> list[str]:
    schema = {**event_schema(spec, event_type), "components": spec["components"]}
    validator = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


def stripe_paid(invoice_id: str, amount_minor: int) -> dict[str, Any]:
    paid_at = int(FINALIZED_AT.timestamp()) + 3600
    return {
        "id": "evt_paid",
        "type": "invoice.paid",
        "data": {
            "object": {
                "id": "in_1",
                "currency": "usd",
                "amount_paid": amount_minor,
                "status_transitions": {"paid_at": paid_at},
                "metadata": {"flexprice_invoice_id": invoice_id},
            }
        },
    }


@pytest.fixture
def delivered(
    tenant: Tenant, receiver: Receiver, http: httpx.Client, loopback_endpoints: None
) -> tuple[str, list[tuple[dict[str, str], bytes]]]:
    """Each emitted event type produced once, the way production produces it, then delivered."""
    endpoint = tenant.created(PATH, {"url": receiver.url, "enabled_events": list(EVENT_TYPES)})
    sub = factories.subscription(tenant)
    invoice = _finalize_through_the_ledger(tenant, FINALIZED_AT)  # invoice.update.finalized
    with tenant.app.state.database.session() as session:
        minor = int(invoice.amount_due * 100)
        assert apply_event(session, tenant.scope, stripe_paid(invoice.id, minor), FINALIZED_AT).invoice_id
        session.commit()  # invoice.update.payment
    assert tenant.post(f"/v1/invoices/{invoice.id}/void", {"reason": "x"}).status_code == 409  # paid: kept
    second = factories.invoice(tenant)  # written as FINALIZED by the catalog: no event of its own
    assert tenant.post(f"/v1/invoices/{second['id']}/void", {"reason": "wrong"}).status_code == 200
    cancel = tenant.post(f"/v1/subscriptions/{sub['id']}/cancel", {"cancellation_type": "immediate"})
    assert cancel.status_code == 200, cancel.text
    with tenant.app.state.database.session() as session:
        summary = deliver_pending(
            session, http, DELIVERED_AT, tenant_id=tenant.scope.tenant_id, destinations=LOOPBACK
        )
        session.commit()
    assert summary.failed == [] and summary.delivered == len(receiver.requests)
    return endpoint["secret"], [(dict(r.headers), r.body) for r in receiver.requests]


def test_every_emitted_event_is_a_flexprice_event_with_a_documented_payload() -> None:
    spec = flexprice_spec()
    names = set(spec["components"]["schemas"]["types.WebhookEventName"]["enum"])
    assert set(EVENT_TYPES) <= names
    for event_type in EVENT_TYPES:
        assert resolve(spec, event_schema(spec, event_type))["properties"]["event_type"]


def test_each_delivered_payload_validates_against_its_flexprice_schema_and_is_signed(
    delivered: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    spec = flexprice_spec()
    secret, requests = delivered
    bodies = [json.loads(body) for _, body in requests]
    assert sorted(b["event_type"] for b in bodies) == sorted(EVENT_TYPES)  # each one, once
    for (headers, raw), body in zip(requests, bodies, strict=True):
        event_type = body["event_type"]
        assert verification_error(secret, headers, raw, int(DELIVERED_AT.timestamp())) is None, event_type
        assert validation_errors(spec, event_type, body) == [], event_type
        assert unknown_fields(spec, event_schema(spec, event_type), body) == [], event_type
        entity = "subscription" if event_type.startswith("subscription.") else "invoice"
        assert set(body) == {"event_type", entity}

    by_type = {b["event_type"]: b for b in bodies}
    finalized = by_type["invoice.update.finalized"]["invoice"]
    assert finalized["invoice_status"] == "FINALIZED" and finalized["payment_status"] == "PENDING"
    assert finalized["line_items"] and all(
        li["invoice_id"] == finalized["id"] for li in finalized["line_items"]
    )
    assert finalized["customer"]["id"] == finalized["customer_id"]
    paid = by_type["invoice.update.payment"]["invoice"]
    assert (paid["id"], paid["payment_status"], paid["amount_remaining"]) == (
        finalized["id"],
        "SUCCEEDED",
        "0.00",
    )
    voided = by_type["invoice.update.voided"]["invoice"]
    assert voided["invoice_status"] == "VOIDED" and voided["metadata"]["void_reason"] == "wrong"
    cancelled = by_type["subscription.cancelled"]["subscription"]
    assert (
        cancelled["subscription_status"] == "cancelled"
        and cancelled["customer"]["id"] == cancelled["customer_id"]
    )


def test_the_checks_catch_a_payload_that_is_not_flexprices() -> None:
    """The validation above can fail: a wrong type, a wrong enum value and an unknown field are found."""
    spec = flexprice_spec()
    bad = {"event_type": "invoice.update.finalized", "invoice": {"total": 30, "invoice_status": "final"}}
    errors = validation_errors(spec, "invoice.update.finalized", bad)
    assert any(e.startswith("invoice/total") for e in errors)
    assert any(e.startswith("invoice/invoice_status") for e in errors)
    assert validation_errors(
        spec, "invoice.update.finalized", {"invoice": {"paid_at": "2025-04-11T00:00:00"}}
    )
    extra = {"event_type": "subscription.cancelled", "subscription": {"id": "s", "subscription_id": "s"}}
    schema = event_schema(spec, "subscription.cancelled")
    assert unknown_fields(spec, schema, extra) == ["$.subscription.subscription_id"]
