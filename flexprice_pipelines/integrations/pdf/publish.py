"""Render the finalized invoices of one (tenant, period) partition and store them: the ``invoice_pdfs`` body.

Idempotent: the object key depends only on the invoice (``invoice_pdf_key``), a finalized invoice
never changes, and rendering is deterministic, so a re-run finds its PDFs and skips them (or, with
``overwrite``, rewrites identical bytes). A void-and-replace produces a new invoice id, hence a new key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from flexprice_pipelines.catalog.models import Invoice
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.integrations.object_store import ObjectNotFound, ObjectStore
from flexprice_pipelines.integrations.pdf.document import Party
from flexprice_pipelines.integrations.pdf.from_catalog import load_invoice_document
from flexprice_pipelines.integrations.pdf.render import render_invoice_pdf

PDF_CONTENT_TYPE = "application/pdf"


@dataclass(frozen=True, slots=True, kw_only=True)
class PdfWriteSummary:
    """What one partition run did; the asset reports it as materialization metadata."""

    period: str
    invoices: int
    rendered: int
    skipped_existing: int
    bytes_written: int
    uris: tuple[str, ...]


def invoice_pdf_key(scope: Scope, invoice_id: str) -> str:
    """The object key of an invoice's PDF; the API derives it from the invoice alone."""
    return f"invoices/{scope.tenant_id}/{scope.environment_id}/{invoice_id}.pdf"


def month_window(period: str) -> tuple[datetime, datetime]:
    """``[first instant, first instant of next month)`` in UTC for ``'2024-03'`` or ``'2024-03-01'``."""
    parts = period.split("-")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "01"):
        raise ValueError(f"period must be YYYY-MM or YYYY-MM-01, not {period!r}")
    year, month = int(parts[0]), int(parts[1])
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def finalized_invoice_ids(session: Session, scope: Scope, period: str) -> list[str]:
    """Ids of the scope's FINALIZED invoices whose billing period ends in ``period`` (the partition rule)."""
    start, end = month_window(period)
    repo = Repository(session, scope, Invoice)
    statement = (
        repo.select()
        .where(
            Invoice.invoice_status == "FINALIZED",
            Invoice.period_end >= start,
            Invoice.period_end < end,
        )
        .order_by(Invoice.id)
    )
    return [invoice.id for invoice in session.scalars(statement)]


def write_invoice_pdfs(
    session: Session,
    scope: Scope,
    period: str,
    store: ObjectStore,
    *,
    invoice_ids: Iterable[str] | None = None,
    overwrite: bool = False,
    issuer: Party | None = None,
) -> PdfWriteSummary:
    """Render and store one PDF per finalized invoice of the partition; set ``invoice_pdf_url``.

    ``invoice_ids`` restricts the run to invoices the upstream asset produced (drafts, skipped and
    voided invoices are ignored either way). The caller owns the transaction and commits.
    """
    repo = Repository(session, scope, Invoice)
    ids = (
        sorted(set(invoice_ids)) if invoice_ids is not None else finalized_invoice_ids(session, scope, period)
    )
    rendered = skipped = written = 0
    uris: list[str] = []
    for invoice_id in ids:
        invoice = repo.get(invoice_id)
        if invoice.invoice_status != "FINALIZED":
            continue
        key = invoice_pdf_key(scope, invoice.id)
        if not overwrite and store.exists(key):
            uri = store.url_for(key)
            skipped += 1
        else:
            pdf = render_invoice_pdf(load_invoice_document(session, scope, invoice.id, issuer=issuer))
            uri = store.put(key, pdf, PDF_CONTENT_TYPE)
            rendered += 1
            written += len(pdf)
        if invoice.invoice_pdf_url != uri:
            repo.update(invoice, invoice_pdf_url=uri)
        uris.append(uri)
    return PdfWriteSummary(
        period=period,
        invoices=len(uris),
        rendered=rendered,
        skipped_existing=skipped,
        bytes_written=written,
        uris=tuple(uris),
    )


def invoice_pdf(session: Session, scope: Scope, invoice_id: str, store: ObjectStore) -> bytes:
    """The PDF for ``GET /v1/invoices/{id}/pdf``: the stored one, else rendered on the fly.

    Raises the catalog's ``NotFound`` for an invoice outside ``scope``. Nothing is written: a GET
    has no side effects, and rendering is deterministic, so an on-the-fly PDF (a draft, or a
    finalized invoice whose partition has not run yet) equals what the pipeline will store.
    """
    invoice = Repository(session, scope, Invoice).get(invoice_id)
    if invoice.invoice_status == "FINALIZED":
        try:
            return store.get(invoice_pdf_key(scope, invoice.id))
        except ObjectNotFound:
            pass
    return render_invoice_pdf(load_invoice_document(session, scope, invoice.id))
