"""Invoice PDFs: a vendored Typst template, the document model it prints and the partition writer."""

from __future__ import annotations

from flexprice_pipelines.integrations.pdf.document import (
    Adjustment,
    DocumentLine,
    InvoiceDocument,
    Party,
    TierRow,
    template_data,
)
from flexprice_pipelines.integrations.pdf.from_catalog import build_invoice_document, load_invoice_document
from flexprice_pipelines.integrations.pdf.publish import (
    PDF_CONTENT_TYPE,
    PdfWriteSummary,
    invoice_pdf,
    invoice_pdf_key,
    write_invoice_pdfs,
)
from flexprice_pipelines.integrations.pdf.render import PdfRenderError, render_invoice_pdf

__all__ = [
    "PDF_CONTENT_TYPE",
    "Adjustment",
    "DocumentLine",
    "InvoiceDocument",
    "Party",
    "PdfRenderError",
    "PdfWriteSummary",
    "TierRow",
    "build_invoice_document",
    "invoice_pdf",
    "invoice_pdf_key",
    "load_invoice_document",
    "render_invoice_pdf",
    "template_data",
    "write_invoice_pdfs",
]
