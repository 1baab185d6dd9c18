"""Render an ``InvoiceDocument`` to PDF bytes with the vendored Typst template.

Deterministic by construction: the template sets no document date, the JSON is serialised with
sorted keys, only the fonts embedded in the typst package are used (system fonts differ between
machines and would change the bytes), and nothing reads the clock.
"""

from __future__ import annotations

import json
import os
import threading
from importlib.resources import files
from pathlib import Path

import typst

from flexprice_pipelines.integrations.pdf.document import InvoiceDocument, template_data

TEMPLATE = "invoice.typ"
_local = threading.local()
# The pid that first ran Typst. Typst's worker threads do not survive fork(): a forked child that
# compiles waits forever on them, so it gets an error instead (use spawn, or fork before rendering).
_typst_pid: int | None = None


class PdfRenderError(RuntimeError):
    """The template failed to compile for a document (a bug in the template or unexpected data)."""


def template_path() -> Path:
    """Path of the vendored ``invoice.typ`` shipped inside the package."""
    return Path(str(files("flexprice_pipelines.integrations.pdf") / TEMPLATE))


def _compiler() -> typst.Compiler:
    global _typst_pid
    if _typst_pid is None:
        _typst_pid = os.getpid()
    elif _typst_pid != os.getpid():
        raise PdfRenderError(
            "Typst was used before this process was forked and would deadlock here; "
            "start workers with the 'spawn' method (Dagster's default) or fork before rendering"
        )
    # Building a compiler loads the fonts (~tens of ms); one per thread keeps renders at a few ms.
    compiler: typst.Compiler | None = getattr(_local, "compiler", None)
    if compiler is None:
        path = template_path()
        compiler = typst.Compiler(str(path), root=str(path.parent), ignore_system_fonts=True)
        _local.compiler = compiler
    return compiler


def document_json(document: InvoiceDocument) -> str:
    """The exact JSON string handed to the template (stable key order, so stable bytes)."""
    return json.dumps(template_data(document), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def render_invoice_pdf(document: InvoiceDocument) -> bytes:
    """Render ``document`` to a PDF; the same document always gives byte-identical output."""
    try:
        pdf = _compiler().compile(format="pdf", sys_inputs={"data": document_json(document)})
    except typst.TypstError as exc:
        raise PdfRenderError(f"invoice {document.invoice_id}: {exc}") from exc
    if not isinstance(pdf, bytes):  # the binding returns a list of pages only for png/svg
        raise PdfRenderError(f"invoice {document.invoice_id}: typst returned {type(pdf).__name__}")
    return pdf
