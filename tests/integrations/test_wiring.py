"""The integrations wired together: merged Definitions, ``invoice_pdfs`` materialized into the object
store, Stripe/HubSpot off unless configured (and run against the local stubs when they are), the
webhook-drain schedule, ``GET /v1/invoices/{id}/pdf`` and Stripe payment events as system events.

Invoices are written straight into a migrated SQLite catalog with the catalog repository and the
ledger's invoice numbering, as the pipeline's ``invoices`` asset leaves them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import stripe
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.deps import now
from api.routers.invoices import pdf_filename
from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.catalog import Repository, Scope, db
from flexprice_pipelines.catalog.models import Customer, Invoice, InvoiceLineItem
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.defs.integrations.definitions import integration_definitions, integration_resources
from flexprice_pipelines.defs.integrations.webhooks import drain_requests
from flexprice_pipelines.defs.partitions import BILLING_PARTITIONS, billing_partition_key
from flexprice_pipelines.defs.resources import CatalogResource, ClockResource
from flexprice_pipelines.integrations.object_store import LocalObjectStore, S3ObjectStore
from flexprice_pipelines.integrations.pdf import invoice_pdf_key
from flexprice_pipelines.integrations.stripe.connections import save_connection
from flexprice_pipelines.integrations.webhooks import (
    INVOICE_PAYMENT_STATUS_CHANGED,
    SystemEvent,
    WebhookDelivery,
    WebhookEndpoint,
    emit_system_event,
    generate_secret,
)
from flexprice_pipelines.ledger.operations import next_invoice_number
from flexprice_pipelines.settings import Settings
from tests.support.hubspot_stub import running_stub
from tests.support.stripe_stub import StripeStub

NOW = datetime(2024, 4, 2, 9, 30, tzinfo=UTC)
MAR, APR, MAY = (datetime(2024, m, 1, tzinfo=UTC) for m in (3, 4, 5))
APRIL = YearMonth(2024, 4)  # the partition of periods ending on 1 April
WEBHOOK_SECRET = "whsec_wiring"
INTEGRATION_ASSETS = {"invoice_pdfs", "stripe_invoice_sync", "hubspot_sync", "webhook_deliveries"}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("home")
    url = f"sqlite:///{home / 'catalog.db'}"
    db.migrate(url)
    return Settings(home=home, database_url=url)


@pytest.fixture(scope="module")
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = db.make_engine(settings.resolved_database_url)
    yield db.session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    app.dependency_overrides[now] = lambda: NOW
    with TestClient(app) as client:
        yield client


@dataclass
class Billed:
    """A tenant as the invoices asset leaves it: two finalized April invoices, a draft, one from May."""

    scope: Scope
    key: str
    finalized: list[Invoice]
    draft: Invoice
    other_month: Invoice


def add_invoice(
    session: Session, scope: Scope, customer: Customer, amount: str, *, status: str, period_end: datetime
) -> Invoice:
    finalized = status == "FINALIZED"
    total = Decimal(amount)
    period_start = period_end - timedelta(days=31)
    invoice = Repository(session, scope, Invoice).create(
        customer_id=customer.id,
        invoice_status=status,
        billing_reason="SUBSCRIPTION_CYCLE",
        currency="usd",
        subtotal=total,
        total=total,
        amount_due=total,
        amount_remaining=total,
        invoice_number=next_invoice_number(session, scope, "INV", f"{period_end:%Y%m}")
        if finalized
        else None,
        period_start=period_start,
        period_end=period_end,
        finalized_at=NOW if finalized else None,
    )
    Repository(session, scope, InvoiceLineItem).create(
        invoice_id=invoice.id,
        customer_id=customer.id,
        price_type="FIXED",
        display_name="Platform fee",
        amount=total,
        quantity=Decimal(1),
        currency="usd",
        period_start=period_start,
        period_end=period_end,
    )
    return invoice


def bill_tenant(sessions: sessionmaker[Session], name: str, *, stripe_key: str | None = None) -> Billed:
    with sessions() as session:
        tenant, env, key = create_tenant(session, name, now=NOW)
        scope = Scope(tenant.id, env.id)
        if stripe_key is not None:
            save_connection(session, scope, now=NOW, secret_key=stripe_key, webhook_secret=WEBHOOK_SECRET)
        customers = Repository(session, scope, Customer)
        acme = customers.create(external_id="acme", name="Acme GmbH", email="ap@acme.test")
        globex = customers.create(external_id="globex", name="Globex", email="billing@globex.test")
        billed = Billed(
            scope=scope,
            key=key,
            finalized=[
                add_invoice(session, scope, acme, "99.00", status="FINALIZED", period_end=APR),
                add_invoice(session, scope, globex, "1250.50", status="FINALIZED", period_end=APR),
            ],
            draft=add_invoice(session, scope, acme, "12.00", status="DRAFT", period_end=APR),
            other_month=add_invoice(session, scope, acme, "99.00", status="FINALIZED", period_end=MAY),
        )
        session.commit()
    return billed


def materialize(
    assets: list[dg.AssetsDefinition], settings: Settings, tenant_id: str, resources: dict[str, Any]
) -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("tenants", [tenant_id])
    return dg.materialize(
        assets,
        partition_key=billing_partition_key(tenant_id, APRIL),
        instance=instance,
        resources={
            "catalog": CatalogResource(database_url=settings.resolved_database_url),
            "clock": ClockResource(frozen_at=NOW.isoformat()),
            **resources,
        },
    )


def assets_of(defs: dg.Definitions) -> dict[str, dg.AssetsDefinition]:
    found = {}
    for asset in defs.assets or []:
        assert isinstance(asset, dg.AssetsDefinition)
        found[asset.key.to_user_string()] = asset
    return found


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    [materialization] = result.asset_materializations_for_node(asset)
    return {key: value.value for key, value in materialization.metadata.items()}


# -- Definitions ----------------------------------------------------------------------------------


def pipeline_definitions(settings: Settings) -> dg.Definitions:
    """The pipeline's Definitions when its package imports; else just the resources it would share."""
    try:
        from flexprice_pipelines.defs import pipeline_definitions as build_pipeline
    except ImportError:
        return dg.Definitions(
            resources={
                "catalog": CatalogResource(database_url=settings.resolved_database_url),
                "clock": ClockResource(),
            }
        )
    return build_pipeline(settings)


def test_integration_definitions_merge_into_the_pipeline_and_load(settings: Settings) -> None:
    merged = dg.Definitions.merge(pipeline_definitions(settings), integration_definitions(settings))
    dg.Definitions.validate_loadable(merged)
    graph = merged.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys >= INTEGRATION_ASSETS
    pdfs = graph.get(dg.AssetKey("invoice_pdfs"))
    assert pdfs.parent_keys == {dg.AssetKey("invoices")}
    assert pdfs.partitions_def == BILLING_PARTITIONS
    if "invoices" in keys:  # the pipeline's invoices asset is partitioned the same way
        assert graph.get(dg.AssetKey("invoices")).partitions_def == pdfs.partitions_def
    for name in INTEGRATION_ASSETS - {"invoice_pdfs"}:
        assert graph.get(dg.AssetKey(name)).parent_keys == {dg.AssetKey("invoice_pdfs")}
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert {
        ("stripe_invoice_sync", "all_invoices_synced"),
        ("hubspot_sync", "hubspot_sync_complete"),
        ("webhook_deliveries", "webhook_deliveries_none_failed"),
    } <= checks
    schedule = merged.resolve_schedule_def("webhook_deliveries_every_minute")
    assert schedule.cron_schedule == "* * * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_resources_are_chosen_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    default = integration_resources(Settings(home=tmp_path))
    store = default["object_store"].store()
    assert isinstance(store, LocalObjectStore) and store.root == (tmp_path / "pdfs").resolve()
    assert not default["stripe_api"].enabled and not default["hubspot"].configured

    monkeypatch.setenv("FLEXPRICE_OBJECT_STORE", "s3://invoices-bucket/pdfs")
    monkeypatch.setenv("FLEXPRICE_S3_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("FLEXPRICE_STRIPE_ENABLED", "true")
    monkeypatch.setenv("FLEXPRICE_STRIPE_API_BASE", "http://127.0.0.1:2")
    monkeypatch.setenv("FLEXPRICE_HUBSPOT_ACCESS_TOKEN", "pat-token")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    configured = integration_resources(Settings())
    s3 = configured["object_store"].store()
    assert isinstance(s3, S3ObjectStore)
    assert s3.url_for("invoices/a.pdf") == "s3://invoices-bucket/pdfs/invoices/a.pdf"
    assert s3.client.meta.endpoint_url == "http://127.0.0.1:1"
    assert configured["stripe_api"].enabled and configured["stripe_api"].api_base == "http://127.0.0.1:2"
    assert configured["hubspot"].configured and configured["hubspot"].access_token == "pat-token"


# -- invoice_pdfs -----------------------------------------------------------------------------------


def test_invoice_pdfs_renders_the_partitions_finalized_invoices_into_the_store(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    billed = bill_tenant(sessions, "pdf-tenant")
    defs = integration_definitions(settings)
    resources = integration_resources(settings)
    result = materialize([assets_of(defs)["invoice_pdfs"]], settings, billed.scope.tenant_id, resources)
    assert result.success
    reported = metadata(result, "invoice_pdfs")
    assert (reported["pdfs"], reported["rendered"], reported["skipped_existing"]) == (2, 2, 0)
    assert reported["environments"] == 1
    store = resources["object_store"].store()
    first: dict[str, bytes] = {}
    with sessions() as session:
        for invoice in billed.finalized:
            key = invoice_pdf_key(billed.scope, invoice.id)
            pdf = store.get(key)
            assert pdf.startswith(b"%PDF")
            first[invoice.id] = pdf
            stored = Repository(session, billed.scope, Invoice).get(invoice.id)
            assert stored.invoice_pdf_url == store.url_for(key)
        for invoice in (billed.draft, billed.other_month):
            assert not store.exists(invoice_pdf_key(billed.scope, invoice.id))
            assert Repository(session, billed.scope, Invoice).get(invoice.id).invoice_pdf_url is None
    assert reported["bytes"] == sum(len(pdf) for pdf in first.values())

    again = materialize([assets_of(defs)["invoice_pdfs"]], settings, billed.scope.tenant_id, resources)
    assert (
        metadata(again, "invoice_pdfs")["rendered"],
        metadata(again, "invoice_pdfs")["skipped_existing"],
    ) == (
        0,
        2,
    )
    assert {i: store.get(invoice_pdf_key(billed.scope, i)) for i in first} == first


# -- Stripe and HubSpot: off unless configured ------------------------------------------------------


@pytest.fixture(scope="module")
def stripe_stub() -> Iterator[StripeStub]:
    with StripeStub() as server:
        yield server


def test_stripe_and_hubspot_skip_when_not_configured(
    settings: Settings, sessions: sessionmaker[Session], stripe_stub: StripeStub
) -> None:
    stripe_stub.reset()
    # Even with a saved Stripe connection: the deployment has not turned Stripe on.
    billed = bill_tenant(sessions, "unconfigured", stripe_key="sk_test_stub")
    found = assets_of(integration_definitions(settings))
    result = materialize(
        [found["stripe_invoice_sync"], found["hubspot_sync"]],
        settings,
        billed.scope.tenant_id,
        integration_resources(settings),
    )
    assert result.success
    for asset in ("stripe_invoice_sync", "hubspot_sync"):
        assert metadata(result, asset) == {"status": "not configured"}
    assert all(check.passed for check in result.get_asset_check_evaluations())
    assert stripe_stub.count("customers") == stripe_stub.count("invoices") == 0


def test_stripe_and_hubspot_sync_against_the_local_stubs_when_configured(
    settings: Settings, sessions: sessionmaker[Session], stripe_stub: StripeStub
) -> None:
    stripe_stub.reset()
    billed = bill_tenant(sessions, "configured", stripe_key="sk_test_stub")
    with running_stub() as hubspot:
        configured = settings.model_copy(
            update={
                "stripe_enabled": True,
                "stripe_api_base": stripe_stub.url,
                "hubspot_access_token": hubspot.access_token,
                "hubspot_host": hubspot.url,
            }
        )
        found = assets_of(integration_definitions(configured))
        result = materialize(
            [found["stripe_invoice_sync"], found["hubspot_sync"]],
            configured,
            billed.scope.tenant_id,
            integration_resources(configured),
        )
        assert result.success
        assert (hubspot.count("companies"), hubspot.count("contacts"), hubspot.count("deals")) == (2, 2, 2)
    assert metadata(result, "stripe_invoice_sync")["synced"] == 2
    assert metadata(result, "hubspot_sync")["synced"] == 2
    assert (stripe_stub.count("customers"), stripe_stub.count("invoices")) == (2, 2)
    assert all(check.passed for check in result.get_asset_check_evaluations())


# -- the webhook-drain schedule ---------------------------------------------------------------------


def add_endpoint(session: Session, scope: Scope) -> WebhookEndpoint:
    return Repository(session, scope, WebhookEndpoint).create(
        url="http://127.0.0.1:9/hook",
        secret=generate_secret(),
        enabled_events=[INVOICE_PAYMENT_STATUS_CHANGED],
    )


def test_the_schedule_requests_one_keyed_run_per_tenant_with_due_deliveries(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    due, later, unregistered = (bill_tenant(sessions, name) for name in ("due", "later", "unregistered"))
    with sessions() as session:
        for billed, at in ((due, NOW), (later, NOW + timedelta(minutes=5)), (unregistered, NOW)):
            add_endpoint(session, billed.scope)
            invoice = Repository(session, billed.scope, Invoice).get(billed.finalized[0].id)
            emit_system_event(
                session, billed.scope, INVOICE_PAYMENT_STATUS_CHANGED, {"invoice_id": invoice.id}, at
            )
        session.commit()
    merged = dg.Definitions.merge(pipeline_definitions(settings), integration_definitions(settings))
    schedule = merged.resolve_schedule_def("webhook_deliveries_every_minute")
    catalog = CatalogResource(database_url=settings.resolved_database_url)

    def tick(instance: dg.DagsterInstance, at: datetime) -> list[dg.RunRequest]:
        # Both context managers: each sets Dagster's process-wide state storage and must reset it.
        with dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=at,
            resources={"catalog": catalog},
            repository_def=merged.get_repository_def(),
        ) as context:
            return list(schedule.evaluate_tick(context).run_requests or [])

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [due.scope.tenant_id, later.scope.tenant_id])
        requests = tick(instance, NOW)
        later_tenants = {r.partition_key for r in tick(instance, NOW + timedelta(minutes=5))}
        too_early = tick(instance, NOW - timedelta(minutes=1))
    assert [(r.partition_key, r.run_key) for r in requests] == [
        (
            billing_partition_key(due.scope.tenant_id, APRIL),
            f"webhook_deliveries:{due.scope.tenant_id}:2024-04-02T09:30+00:00",
        )
    ]
    assert later_tenants == {
        billing_partition_key(due.scope.tenant_id, APRIL),
        billing_partition_key(later.scope.tenant_id, APRIL),
    }
    assert too_early == []  # nothing due yet: the tick is skipped


@hypothesis_settings(max_examples=100, deadline=None)
@given(
    tenants=st.lists(st.text(alphabet="abcdef0123456789_", min_size=1, max_size=12), unique=True, max_size=8),
    minute=st.integers(min_value=0, max_value=60 * 24 * 365),
)
def test_drain_run_keys_are_unique_per_tenant_and_tick(tenants: list[str], minute: int) -> None:
    tick = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    requests = drain_requests(tenants, set(tenants[::2]), tick)
    assert [r.partition_key.keys_by_dimension["tenant"] for r in requests] == tenants[::2]  # type: ignore[union-attr]
    keys = [r.run_key for r in requests]
    assert len(set(keys)) == len(keys)
    next_tick = drain_requests(tenants, set(tenants[::2]), tick + timedelta(minutes=1))
    assert not set(keys) & {r.run_key for r in next_tick}
    month = f"{tick:%Y-%m}-01"
    assert all(r.partition_key.keys_by_dimension["period"] == month for r in requests)  # type: ignore[union-attr]


# -- GET /v1/invoices/{id}/pdf ------------------------------------------------------------------------


def test_pdf_route_serves_the_stored_pdf_with_the_invoice_number(
    settings: Settings, sessions: sessionmaker[Session], api: TestClient
) -> None:
    billed = bill_tenant(sessions, "pdf-route")
    invoice = billed.finalized[0]
    headers = {"x-api-key": billed.key}
    rendered_on_the_fly = api.get(f"/v1/invoices/{invoice.id}/pdf", headers=headers)
    assert rendered_on_the_fly.status_code == 200, rendered_on_the_fly.text
    store = integration_resources(settings)["object_store"].store()
    assert not store.exists(invoice_pdf_key(billed.scope, invoice.id))  # a GET writes nothing

    resources = integration_resources(settings)
    pdfs = assets_of(integration_definitions(settings))["invoice_pdfs"]
    assert materialize([pdfs], settings, billed.scope.tenant_id, resources).success
    response = api.get(f"/v1/invoices/{invoice.id}/pdf", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert (
        response.headers["content-disposition"] == f'inline; filename="invoice-{invoice.invoice_number}.pdf"'
    )
    assert response.content == store.get(invoice_pdf_key(billed.scope, invoice.id))
    assert (
        response.content == rendered_on_the_fly.content
    )  # deterministic: the preview equals the stored copy


def test_pdf_route_renders_drafts_marked_draft_and_hides_other_tenants(
    settings: Settings, sessions: sessionmaker[Session], api: TestClient
) -> None:
    billed, other = bill_tenant(sessions, "draft-owner"), bill_tenant(sessions, "someone-else")
    draft = api.get(f"/v1/invoices/{billed.draft.id}/pdf", headers={"x-api-key": billed.key})
    assert draft.status_code == 200
    assert draft.content.startswith(b"%PDF")
    assert draft.headers["content-disposition"] == f'inline; filename="invoice-{billed.draft.id}-draft.pdf"'
    store = integration_resources(settings)["object_store"].store()
    assert not store.exists(invoice_pdf_key(billed.scope, billed.draft.id))

    for invoice_id in (billed.draft.id, billed.finalized[0].id):
        stolen = api.get(f"/v1/invoices/{invoice_id}/pdf", headers={"x-api-key": other.key})
        assert stolen.status_code == 404
        assert stolen.json()["code"] == "not_found"
    assert api.get("/v1/invoices/inv_unknown/pdf", headers={"x-api-key": billed.key}).status_code == 404
    assert api.get(f"/v1/invoices/{billed.draft.id}/pdf").status_code == 401


@hypothesis_settings(max_examples=100, deadline=None)
@given(number=st.text(min_size=1, max_size=40), status=st.sampled_from(["FINALIZED", "VOIDED", "DRAFT"]))
def test_pdf_filenames_are_header_safe(number: str, status: str) -> None:
    invoice = Invoice(id="inv_1", invoice_number=number, invoice_status=status)
    name = pdf_filename(invoice)
    assert name.startswith("invoice-") and name.endswith(".pdf")
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    if status != "FINALIZED":
        assert name.endswith(f"-{status.lower()}.pdf")


def test_uvicorn_workers_are_spawned_not_forked() -> None:
    # Typst hangs in a child forked after a render; uvicorn's --workers and --reload children are
    # spawned, so each worker starts without Typst state.
    from uvicorn import _subprocess

    assert _subprocess.spawn.get_start_method() == "spawn"


# -- Stripe payment events → invoice.payment_status_changed ---------------------------------------


def post_stripe_event(api: TestClient, scope: Scope, event_id: str, event_type: str, invoice: Invoice) -> Any:
    obj = {
        "id": f"in_{invoice.id}",
        "object": "invoice",
        "currency": "usd",
        "amount_paid": int(invoice.total * 100),
        "status_transitions": {"paid_at": int(NOW.timestamp())},
        "metadata": {"flexprice_invoice_id": invoice.id},
    }
    payload = json.dumps({"id": event_id, "type": event_type, "data": {"object": obj}})
    signature = stripe.WebhookSignature.generate_signature_header(
        payload, WEBHOOK_SECRET, timestamp=int(NOW.timestamp())
    )
    response = api.post(
        f"/v1/webhooks/stripe/{scope.tenant_id}/{scope.environment_id}",
        content=payload.encode(),
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
    )
    assert response.status_code == 200, response.text
    return response.json()


def status_events(session: Session, scope: Scope) -> list[dict[str, Any]]:
    rows = session.scalars(
        Repository(session, scope, SystemEvent)
        .select()
        .where(SystemEvent.event_type == INVOICE_PAYMENT_STATUS_CHANGED)
        .order_by(SystemEvent.occurred_at, SystemEvent.id)
    )
    return [row.payload for row in rows]


def test_a_stripe_payment_status_change_emits_one_system_event_per_stripe_event(
    sessions: sessionmaker[Session], api: TestClient
) -> None:
    billed = bill_tenant(sessions, "payments", stripe_key="sk_test_stub")
    paid_invoice, failing_invoice = billed.finalized
    with sessions() as session:
        endpoint = add_endpoint(session, billed.scope)
        session.commit()

    assert (
        post_stripe_event(api, billed.scope, "evt_paid", "invoice.paid", paid_invoice)["outcome"] == "applied"
    )
    assert (
        post_stripe_event(api, billed.scope, "evt_paid", "invoice.paid", paid_invoice)["outcome"]
        == "duplicate"
    )
    # Another event that changes nothing (already paid) and a late failure (never over SUCCEEDED): silent.
    assert (
        post_stripe_event(api, billed.scope, "evt_paid_again", "invoice.paid", paid_invoice)["outcome"]
        == "applied"
    )
    assert (
        post_stripe_event(api, billed.scope, "evt_late_fail", "invoice.payment_failed", paid_invoice)[
            "outcome"
        ]
        == "ignored"
    )
    # PENDING → FAILED → SUCCEEDED: two changes, two events.
    post_stripe_event(api, billed.scope, "evt_fail", "invoice.payment_failed", failing_invoice)
    post_stripe_event(api, billed.scope, "evt_recovered", "invoice.paid", failing_invoice)

    with sessions() as session:
        events = status_events(session, billed.scope)
        # Flexprice's payload carries the new status only (no previous one).
        assert {e["event_type"] for e in events} == {"invoice.update.payment"}
        transitions = [(e["invoice"]["id"], e["invoice"]["payment_status"]) for e in events]
        assert sorted(transitions) == sorted(
            [
                (paid_invoice.id, "SUCCEEDED"),
                (failing_invoice.id, "FAILED"),
                (failing_invoice.id, "SUCCEEDED"),
            ]
        )
        paid_event = next(e["invoice"] for e in events if e["invoice"]["id"] == paid_invoice.id)
        assert (paid_event["amount_paid"], paid_event["amount_remaining"]) == ("99.00", "0.00")
        deliveries = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        ).all()
        assert len(deliveries) == 3
        assert {d.delivery_status for d in deliveries} == {"pending"}
