"""``sync_invoices_to_stripe``: our finalized invoices → finalized Stripe invoices, exactly once.

Per invoice: the customer (created once, mapped), a draft invoice, one item per line and tax line,
finalization. Every Stripe call carries an idempotency key derived from our ids (``keys``), and
every created object is recorded in ``entity_integration_mappings`` and committed right away, so a
re-run skips what is recorded and replays what was created but not recorded (a crash between the
Stripe response and the commit). One invoice's failure is recorded in the summary, never raised,
so the other invoices of the partition still sync.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import stripe
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.errors import BillingError, InvalidInvoice
from flexprice_pipelines.catalog.errors import CatalogError, Conflict
from flexprice_pipelines.catalog.models import Customer, EntityIntegrationMapping, Invoice, InvoiceLineItem
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.integrations.stripe import keys
from flexprice_pipelines.integrations.stripe.connections import PROVIDER
from flexprice_pipelines.integrations.stripe.payloads import (
    StripeItem,
    customer_params,
    invoice_params,
    item_params,
    stripe_items,
)

# Stripe invoice states after finalization; "draft" means finalization is still to do.
_FINAL_STATES = frozenset({"open", "paid", "uncollectible", "void"})


class SyncOutcome(StrEnum):
    SYNCED = "synced"
    ALREADY_SYNCED = "already_synced"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class InvoiceSyncResult:
    """What happened to one invoice; ``retryable`` failures may succeed on a later attempt."""

    invoice_id: str
    customer_id: str
    outcome: SyncOutcome
    stripe_invoice_id: str | None = None
    stripe_customer_id: str | None = None
    stripe_total: int | None = None
    error: str | None = None
    retryable: bool = False


@dataclass(slots=True)
class SyncSummary:
    """Per-invoice results of one sync, in input order."""

    results: list[InvoiceSyncResult] = field(default_factory=list)

    def count(self, outcome: SyncOutcome) -> int:
        """How many invoices ended with ``outcome``."""
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def failures(self) -> list[InvoiceSyncResult]:
        """The invoices that did not sync."""
        return [r for r in self.results if r.outcome is SyncOutcome.FAILED]

    def metadata(self) -> dict[str, Any]:
        """Counts and failures, for a Dagster materialization."""
        return {
            "invoices": len(self.results),
            **{outcome.value: self.count(outcome) for outcome in SyncOutcome},
            "failed_invoice_ids": [r.invoice_id for r in self.failures],
            "errors": {r.invoice_id: r.error for r in self.failures},
        }


def retryable(exc: Exception) -> bool:
    """Whether a Stripe error may pass on a retry (network, rate limit, 409 in progress, 5xx)."""
    # IdempotencyError (a key reused with other parameters) is a 400 and stays one on retry.
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = getattr(exc, "http_status", None) or 0
    return isinstance(exc, stripe.StripeError) and (status >= 500 or status == 409)


def sync_invoices_to_stripe(
    session: Session,
    scope: Scope,
    invoices: Iterable[Invoice],
    client: stripe.StripeClient,
    now: datetime,
) -> SyncSummary:
    """Sync ``invoices`` of ``scope`` to Stripe; commits after every Stripe object it records.

    Only FINALIZED invoices are sent (others are SKIPPED). Failures are collected per invoice.
    """
    sync = _ScopeSync(session, scope, client, now)
    return SyncSummary(results=[sync.invoice(invoice) for invoice in invoices])


class _ScopeSync:
    def __init__(self, session: Session, scope: Scope, client: stripe.StripeClient, now: datetime) -> None:
        self.session = session
        self.scope = scope
        self.client = client
        self.now = now
        self.mappings = Repository(session, scope, EntityIntegrationMapping)
        self.customers: dict[str, str] = {}
        # A customer Stripe refused fails its other invoices without calling Stripe again.
        self.customer_errors: dict[str, Exception] = {}

    def invoice(self, invoice: Invoice) -> InvoiceSyncResult:
        if invoice.invoice_status != "FINALIZED":
            return self._result(invoice, SyncOutcome.SKIPPED, error=f"invoice is {invoice.invoice_status}")
        try:
            if invoice.customer_id in self.customer_errors:
                raise self.customer_errors[invoice.customer_id]
            return self._sync(invoice)
        except stripe.StripeError as exc:
            self.session.rollback()
            return self._result(invoice, SyncOutcome.FAILED, error=_describe(exc), retryable=retryable(exc))
        except (BillingError, CatalogError) as exc:
            self.session.rollback()
            return self._result(invoice, SyncOutcome.FAILED, error=str(exc))

    def _result(self, invoice: Invoice, outcome: SyncOutcome, **values: Any) -> InvoiceSyncResult:
        return InvoiceSyncResult(
            invoice_id=invoice.id,
            customer_id=invoice.customer_id,
            outcome=outcome,
            stripe_customer_id=self.customers.get(invoice.customer_id),
            **values,
        )

    def _sync(self, invoice: Invoice) -> InvoiceSyncResult:
        items = stripe_items(invoice, self._lines(invoice.id))
        expected = sum(item.amount for item in items)
        customer = self._customer(invoice.customer_id)
        mapping = self._mapping("invoice", invoice.id)
        if mapping is not None and mapping.metadata_.get("stripe_status") in _FINAL_STATES:
            return self._result(
                invoice,
                SyncOutcome.ALREADY_SYNCED,
                stripe_invoice_id=mapping.provider_entity_id,
                stripe_total=mapping.metadata_.get("stripe_total"),
            )
        if mapping is None:
            self._end_read()
            created = self.client.v1.invoices.create(
                params=invoice_params(self.scope, invoice, customer),  # type: ignore[arg-type]
                options={"idempotency_key": keys.invoice_key(self.scope, invoice.id)},
            )
            mapping = self._record("invoice", invoice.id, created.id, {"stripe_status": "draft"})
        stripe_invoice = mapping.provider_entity_id
        self._add_items(invoice, items, customer, stripe_invoice)
        finalized = self._finalize(invoice, stripe_invoice)
        if finalized.total != expected:
            raise InvalidInvoice(
                f"Stripe invoice {stripe_invoice} totals {finalized.total}, expected {expected}",
                field="total",
            )
        mapping.metadata_ = {
            **mapping.metadata_,
            "stripe_status": finalized.status,
            "stripe_total": finalized.total,
            "synced_at": self.now.isoformat(),
        }
        self.session.commit()
        return self._result(
            invoice, SyncOutcome.SYNCED, stripe_invoice_id=stripe_invoice, stripe_total=finalized.total
        )

    def _add_items(
        self, invoice: Invoice, items: list[StripeItem], customer: str, stripe_invoice: str
    ) -> None:
        recorded = {
            m.entity_id
            for m in self.session.scalars(
                self.mappings.select().where(
                    EntityIntegrationMapping.provider_type == PROVIDER,
                    EntityIntegrationMapping.entity_type.in_({i.entity_type for i in items}),
                    EntityIntegrationMapping.entity_id.in_([i.item_id for i in items]),
                )
            )
        }
        for item in items:
            if item.item_id in recorded:
                continue
            self._end_read()
            created = self.client.v1.invoice_items.create(
                params=item_params(item, invoice, customer, stripe_invoice),  # type: ignore[arg-type]
                options={"idempotency_key": keys.item_key(self.scope, invoice.id, item.item_id)},
            )
            self._record(item.entity_type, item.item_id, created.id, {"stripe_invoice_id": stripe_invoice})

    def _finalize(self, invoice: Invoice, stripe_invoice: str) -> Any:
        self._end_read()
        try:
            return self.client.v1.invoices.finalize_invoice(
                stripe_invoice,
                params={"auto_advance": True},
                options={"idempotency_key": keys.finalize_key(self.scope, invoice.id)},
            )
        except stripe.InvalidRequestError:
            # Finalized earlier (e.g. the response was lost and the key has expired): read it back.
            current = self.client.v1.invoices.retrieve(stripe_invoice)
            if current.status == "draft":
                raise
            return current

    def _customer(self, customer_id: str) -> str:
        if customer_id in self.customers:
            return self.customers[customer_id]
        mapping = self._mapping("customer", customer_id)
        if mapping is None:
            customer = Repository(self.session, self.scope, Customer).get(customer_id)
            self._end_read()
            try:
                created = self.client.v1.customers.create(
                    params=customer_params(self.scope, customer),  # type: ignore[arg-type]
                    options={"idempotency_key": keys.customer_key(self.scope, customer_id)},
                )
            except stripe.StripeError as exc:
                self.customer_errors[customer_id] = exc
                raise
            mapping = self._record("customer", customer_id, created.id, {})
        self.customers[customer_id] = mapping.provider_entity_id
        return mapping.provider_entity_id

    def _lines(self, invoice_id: str) -> list[InvoiceLineItem]:
        repo = Repository(self.session, self.scope, InvoiceLineItem)
        statement = repo.select().where(InvoiceLineItem.invoice_id == invoice_id)
        return list(self.session.scalars(statement))

    def _mapping(self, entity_type: str, entity_id: str) -> EntityIntegrationMapping | None:
        return self.mappings.find_one(entity_type=entity_type, entity_id=entity_id, provider_type=PROVIDER)

    def _record(
        self, entity_type: str, entity_id: str, provider_id: str, metadata: dict[str, Any]
    ) -> EntityIntegrationMapping:
        try:
            row = self.mappings.create(
                entity_type=entity_type,
                entity_id=entity_id,
                provider_type=PROVIDER,
                provider_entity_id=provider_id,
                metadata=metadata,
            )
        except Conflict:
            # A concurrent run recorded it first; the idempotency key gave both runs the same object.
            existing = self._mapping(entity_type, entity_id)
            if existing is None or existing.provider_entity_id != provider_id:
                raise
            row = existing
        self.session.commit()
        return row

    def _end_read(self) -> None:
        # End the read transaction before a slow HTTP call, so the write that follows starts fresh
        # (SQLite cannot upgrade a stale read snapshot to a write).
        self.session.commit()


def _describe(exc: stripe.StripeError) -> str:
    status = getattr(exc, "http_status", None)
    code = getattr(exc, "code", None)
    message = getattr(exc, "user_message", None) or str(exc)
    return f"{type(exc).__name__}({status}{', ' + code if code else ''}): {message}"
