"""Finalized invoices → HubSpot: the customer's company (and contact, if it has an email) and one
deal per invoice, created once and updated on every later run.

Which HubSpot object stands for which of ours is kept in ``entity_integration_mappings``
(``customer`` → ``hubspot_company`` / ``hubspot_contact``, ``invoice`` → ``hubspot_deal``; HubSpot ids
are only unique per object type, hence one provider type each). A mapping is written right after its
object is created, so a failure later in the same invoice never leads to a duplicate on the re-run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import hubspot.crm.companies as companies_api
import hubspot.crm.contacts as contacts_api
import hubspot.crm.deals as deals_api
from sqlalchemy.orm import Session
from urllib3.exceptions import HTTPError as TransportError

from flexprice_pipelines.catalog import CatalogError, Repository, Scope
from flexprice_pipelines.catalog.models import Customer, EntityIntegrationMapping, Invoice
from flexprice_pipelines.integrations.hubspot.properties import (
    company_properties,
    contact_properties,
    deal_properties,
)


@dataclass(frozen=True)
class _Kind:
    name: str  # the CRM object type in the API path
    provider_type: str  # entity_integration_mappings.provider_type
    models: ModuleType


COMPANY = _Kind("companies", "hubspot_company", companies_api)
CONTACT = _Kind("contacts", "hubspot_contact", contacts_api)
DEAL = _Kind("deals", "hubspot_deal", deals_api)
# HubSpot-defined association type ids (v4): contact→company primary, deal→company primary, deal→contact.
_CONTACT_TO_COMPANY = 1
_DEAL_TO_COMPANY = 5
_DEAL_TO_CONTACT = 3
_API_ERRORS = (companies_api.ApiException, contacts_api.ApiException, deals_api.ApiException)


class HubSpotSyncError(Exception):
    """HubSpot answered something the sync cannot use."""


@dataclass(frozen=True)
class SyncFailure:
    """One invoice that could not be synced; ``retryable`` for 429, 5xx and transport errors."""

    invoice_id: str
    customer_id: str
    object_type: str
    status: int | None
    message: str
    retryable: bool


@dataclass
class SyncSummary:
    """What a sync did, by HubSpot object type; failures are collected, never raised."""

    synced: int = 0
    skipped: int = 0
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    failures: list[SyncFailure] = field(default_factory=list)

    @property
    def retryable(self) -> bool:
        """Whether a later attempt could fix some failure."""
        return any(f.retryable for f in self.failures)


def _failure(invoice: Invoice, kind: _Kind, exc: Exception) -> SyncFailure:
    if isinstance(exc, _API_ERRORS):
        status = exc.status
        return SyncFailure(
            invoice.id,
            invoice.customer_id,
            kind.name,
            status,
            f"HubSpot {status}: {exc.reason}",
            status == 429 or (status or 0) >= 500,
        )
    if isinstance(exc, TransportError):
        return SyncFailure(invoice.id, invoice.customer_id, kind.name, None, f"transport: {exc}", True)
    return SyncFailure(invoice.id, invoice.customer_id, kind.name, None, str(exc), False)


class _Syncer:
    def __init__(self, session: Session, scope: Scope, client: Any) -> None:
        self.customers = Repository(session, scope, Customer)
        self.mappings = Repository(session, scope, EntityIntegrationMapping)
        self.client = client
        self.summary = SyncSummary()
        self.kind = COMPANY
        # Customers already upserted in this run: their later invoices only need a deal.
        self.done: dict[str, tuple[str, str | None]] = {}

    def _api(self, kind: _Kind) -> Any:
        self.kind = kind
        return getattr(self.client.crm, kind.name).basic_api

    def _create(self, kind: _Kind, properties: dict[str, str], links: list[tuple[str, int]]) -> str:
        models = kind.models
        associations = [
            models.PublicAssociationsForObject(
                to=models.PublicObjectId(id=to_id),
                types=[
                    models.AssociationSpec(
                        association_category="HUBSPOT_DEFINED", association_type_id=type_id
                    )
                ],
            )
            for to_id, type_id in links
        ]
        body = models.SimplePublicObjectInputForCreate(properties=properties, associations=associations)
        created = self._api(kind).create(simple_public_object_input_for_create=body)
        if created is None or not getattr(created, "id", None):
            raise HubSpotSyncError(f"HubSpot did not return the created {kind.name} object")
        self.summary.created[kind.name] += 1
        return str(created.id)

    def upsert(
        self,
        kind: _Kind,
        entity_type: str,
        entity_id: str,
        properties: dict[str, str],
        links: list[tuple[str, int]],
    ) -> str:
        """PATCH the mapped object, or create it (also when HubSpot lost it) and record the mapping."""
        mapping = self.mappings.find_one(
            entity_type=entity_type, entity_id=entity_id, provider_type=kind.provider_type
        )
        if mapping is not None:
            body = kind.models.SimplePublicObjectInput(properties=properties)
            try:
                self._api(kind).update(mapping.provider_entity_id, simple_public_object_input=body)
            except kind.models.ApiException as exc:
                if exc.status != 404:
                    raise
            else:
                self.summary.updated[kind.name] += 1
                return mapping.provider_entity_id
        object_id = self._create(kind, properties, links)
        if mapping is not None:  # deleted in HubSpot: point the mapping at the new object
            self.mappings.update(mapping, provider_entity_id=object_id)
        else:
            self.mappings.create(
                entity_type=entity_type,
                entity_id=entity_id,
                provider_type=kind.provider_type,
                provider_entity_id=object_id,
                metadata={"object_type": kind.name},
            )
        return object_id

    def sync_customer(self, customer: Customer) -> tuple[str, str | None]:
        if customer.id in self.done:
            return self.done[customer.id]
        company = self.upsert(COMPANY, "customer", customer.id, company_properties(customer), [])
        contact = None
        if customer.email:
            links = [(company, _CONTACT_TO_COMPANY)]
            contact = self.upsert(CONTACT, "customer", customer.id, contact_properties(customer), links)
        self.done[customer.id] = (company, contact)
        return company, contact

    def sync_invoice(self, invoice: Invoice) -> None:
        self.kind = COMPANY
        customer = self.customers.get(invoice.customer_id)
        properties = deal_properties(invoice, customer)
        company, contact = self.sync_customer(customer)
        links = [(company, _DEAL_TO_COMPANY)] + ([(contact, _DEAL_TO_CONTACT)] if contact else [])
        self.upsert(DEAL, "invoice", invoice.id, properties, links)


def sync_invoices_to_hubspot(
    session: Session, scope: Scope, invoices: Iterable[Invoice], client: Any
) -> SyncSummary:
    """Create or update the company, contact and deal of every finalized invoice in ``invoices``.

    ``client`` is a ``hubspot.HubSpot``. Drafts and voided invoices are skipped. One invoice's
    failure (HubSpot error, unreachable API, bad data) is recorded in ``failures`` and the others
    go on. Mappings are written through ``session``; the caller commits — also when some failed,
    so that objects already created are found again next time.
    """
    syncer = _Syncer(session, scope, client)
    for invoice in invoices:
        if (invoice.tenant_id, invoice.environment_id) != (scope.tenant_id, scope.environment_id):
            raise ValueError(f"invoice {invoice.id} is not in scope {scope}")
        if invoice.invoice_status != "FINALIZED":
            syncer.summary.skipped += 1
            continue
        try:
            syncer.sync_invoice(invoice)
        except (*_API_ERRORS, TransportError, HubSpotSyncError, CatalogError, ValueError) as exc:
            syncer.summary.failures.append(_failure(invoice, syncer.kind, exc))
        else:
            syncer.summary.synced += 1
    return syncer.summary
