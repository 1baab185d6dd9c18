"""``/v1/invoices``: read and void invoices (the pipeline creates them), and their PDFs.

``GET /v1/invoices/{id}/pdf`` answers ``application/pdf`` for any invoice of the caller's scope
(404 otherwise): the stored PDF of a finalized invoice, else one rendered on the fly and not stored.
Drafts are rendered, not refused, as Flexprice does — a preview marked DRAFT, without a number
(``invoice-<id>-draft.pdf``); voided and skipped invoices are marked likewise. Typst cannot render
in a process forked after a render; uvicorn starts its workers with ``spawn``, so each worker is fresh.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request, Response

from api.crud import PageDep, filters
from api.deps import CatalogDep, NowDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Currency, Id, ListResponse, Pagination, SuccessResponse, Text, neutral_query
from api.schemas.invoices import InvoiceLinePublic, InvoicePublic, VoidRequest
from api.search import NotYet, Number, SearchField, SearchSpec, Shortcut, add_search_route
from flexprice_pipelines.catalog import CatalogSession, Conflict
from flexprice_pipelines.catalog.models import Invoice, InvoiceLineItem
from flexprice_pipelines.integrations.object_store import ObjectStore
from flexprice_pipelines.integrations.pdf import PDF_CONTENT_TYPE, invoice_pdf
from flexprice_pipelines.ledger.invoices import VOIDABLE
from flexprice_pipelines.ledger.invoices import void_invoice as ledger_void

router = domain_router("/v1/invoices", "invoices")
IdPath = Annotated[Id, Path(description="Invoice id (inv_…).")]
InvoiceStatus = Literal["DRAFT", "FINALIZED", "VOIDED", "SKIPPED"]
PaymentStatus = Literal["PENDING", "SUCCEEDED", "FAILED", "OVERPAID", "REFUNDED"]
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def get_object_store(request: Request) -> ObjectStore:
    """The app's PDF store (built by the lifespan, ``api/clients.py``; tests may set ``app.state.object_store``)."""
    store: ObjectStore = request.app.state.object_store
    return store


ObjectStoreDep = Annotated[ObjectStore, Depends(get_object_store)]


def pdf_filename(invoice: Invoice) -> str:
    """``invoice-<number>.pdf``; non-finalized invoices name their status (drafts have no number)."""
    name = f"invoice-{invoice.invoice_number or invoice.id}"
    if invoice.invoice_status != "FINALIZED":
        name += f"-{invoice.invoice_status.lower()}"
    return _UNSAFE_FILENAME.sub("_", name) + ".pdf"


def _public(catalog: CatalogSession, invoices: list[Invoice]) -> list[InvoicePublic]:
    lines: dict[str, list[InvoiceLinePublic]] = {inv.id: [] for inv in invoices}
    if invoices:
        for row in catalog.repo(InvoiceLineItem).each(invoice_id=list(lines)):
            lines[row.invoice_id].append(InvoiceLinePublic.model_validate(row))
    return [
        InvoicePublic.model_validate(inv).model_copy(update={"line_items": lines[inv.id]}) for inv in invoices
    ]


@router.get("", response_model=ListResponse[InvoicePublic])
def list_invoices(
    catalog: CatalogDep,
    page: PageDep,
    customer_id: Annotated[Id | None, Query()] = None,
    subscription_id: Annotated[Id | None, Query()] = None,
    invoice_status: Annotated[InvoiceStatus | None, Query()] = None,
    payment_status: Annotated[PaymentStatus | None, Query()] = None,
    currency: Annotated[Currency | None, Query()] = None,
) -> ListResponse[InvoicePublic]:
    """Invoices with their lines, newest first."""
    chosen = filters(
        customer_id=customer_id,
        subscription_id=subscription_id,
        invoice_status=invoice_status,
        payment_status=payment_status,
        currency=currency,
    )
    rows = catalog.repo(Invoice).list(limit=page.limit, offset=page.offset, newest_first=True, **chosen)
    return ListResponse[InvoicePublic](
        items=_public(catalog, rows.items),
        pagination=Pagination(total=rows.total, limit=rows.limit, offset=rows.offset),
    )


SEARCH = SearchSpec(
    "invoices",
    Invoice,
    {
        "id": SearchField("string"),
        "status": SearchField("string"),
        "created_at": SearchField("date"),
        "updated_at": SearchField("date"),
        "customer_id": SearchField("string"),
        "subscription_id": SearchField("string"),
        "invoice_type": SearchField("string"),
        "invoice_status": SearchField("string"),
        "payment_status": SearchField("string"),
        "billing_reason": SearchField("string"),
        "currency": SearchField("string"),
        "invoice_number": SearchField("string"),
        "billing_period": SearchField("string"),
        "period_start": SearchField("date"),
        "period_end": SearchField("date"),
        "due_date": SearchField("date"),
        "paid_at": SearchField("date"),
        "finalized_at": SearchField("date"),
        "voided_at": SearchField("date"),
        "version": SearchField("number"),
    },
    shortcuts={
        "invoice_ids": Shortcut("id", "in"),
        "customer_id": Shortcut("customer_id"),
        "subscription_id": Shortcut("subscription_id"),
        "invoice_status": Shortcut("invoice_status", "in"),
        "payment_status": Shortcut("payment_status", "in"),
        "invoice_type": Shortcut("invoice_type"),
        "billing_reason": Shortcut("billing_reason"),
        "currency": Shortcut("currency"),
        "period_start_gte": Shortcut("period_start", "gte", kind="date"),
        "period_start_lte": Shortcut("period_start", "lte", kind="date"),
        "period_end_gte": Shortcut("period_end", "gte", kind="date"),
        "period_end_lte": Shortcut("period_end", "lte", kind="date"),
    },
    customer_column="customer_id",
    expandable=frozenset({"line_items"}),
    newest_first=True,
    flags={"skip_line_items": None},
    time_range=("period_start", "period_end"),
    not_yet={
        "amount_due_gt": NotYet(Number, why="Money is not filterable yet."),
        "amount_remaining_gt": NotYet(Number, why="Money is not filterable yet."),
        "subscription_customer_id": NotYet(
            list[Text], ([],), why="Invoices are billed to the subscription's customer."
        ),
    },
)


def _search_items(catalog: CatalogSession, rows: list[Any], body: Any, now: datetime) -> list[InvoicePublic]:
    if getattr(body, "skip_line_items", None):
        return [InvoicePublic.model_validate(row).model_copy(update={"line_items": []}) for row in rows]
    return _public(catalog, rows)


add_search_route(router, SEARCH, InvoicePublic, _search_items)


@router.get("/{id}", response_model=InvoicePublic)
def get_invoice(
    id: IdPath,
    catalog: CatalogDep,
    expand: Annotated[
        Text | None, neutral_query("", description="Related fields to attach (tax_applied.tax_rate).")
    ] = None,
    expand_by_source: Annotated[
        bool | None, neutral_query(False, description="A per-source breakdown of usage lines.")
    ] = None,
    group_by: Annotated[
        list[Text] | None, neutral_query([], description="A usage breakdown grouped by these fields.")
    ] = None,
) -> InvoicePublic:
    """One invoice with its lines."""
    return _public(catalog, [catalog.repo(Invoice).get(id)])[0]


@router.post("/{id}/void", response_model=SuccessResponse)
def void_invoice(
    id: IdPath, catalog: WriteCatalogDep, now: NowDep, body: VoidRequest | None = None
) -> SuccessResponse:
    """Void a draft or finalized invoice: its wallet debits are refunded and ``invoice.voided`` is emitted,
    the same ledger write as a reissue's void (409 when already voided or skipped, or when paid).

    The body is optional (Flexprice's SDK sends none); the answer is Flexprice's ``{"message": …}``,
    read the invoice back with ``GET /v1/invoices/{id}``."""
    invoice = catalog.repo(Invoice).get(id)
    if invoice.invoice_status not in VOIDABLE:
        raise Conflict("invoice_status", f"a {invoice.invoice_status} invoice cannot be voided")
    # Only the API refuses paid invoices; a reissue replaces whatever it finds changed.
    if invoice.payment_status in ("SUCCEEDED", "OVERPAID"):
        raise Conflict("payment_status", "a paid invoice cannot be voided; refund it first")
    ledger_void(catalog.session, catalog.scope, invoice, now=now, reason=body.reason if body else None)
    catalog.commit()
    return SuccessResponse(message="invoice voided successfully")


@router.get(
    "/{id}/pdf",
    response_class=Response,
    responses={200: {"content": {PDF_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}}}},
)
def get_invoice_pdf(
    id: IdPath,
    catalog: CatalogDep,
    store: ObjectStoreDep,
    url: Annotated[
        bool | None, neutral_query(False, description="A presigned URL instead of the PDF.")
    ] = None,
    force_generate: Annotated[
        bool | None, neutral_query(False, description="Render again even when a copy is stored.")
    ] = None,
) -> Response:
    """The invoice as a PDF: the stored copy once the pipeline rendered it, else rendered now."""
    invoice = catalog.repo(Invoice).get(id)
    pdf = invoice_pdf(catalog.session, catalog.scope, invoice.id, store)
    return Response(
        pdf,
        media_type=PDF_CONTENT_TYPE,
        headers={"content-disposition": f'inline; filename="{pdf_filename(invoice)}"'},
    )
