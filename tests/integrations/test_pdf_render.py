"""Rendering invoice documents with the vendored Typst template, read back with ``pdftotext``."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from flexprice_pipelines.integrations.pdf import (
    Adjustment,
    DocumentLine,
    InvoiceDocument,
    Party,
    PdfRenderError,
    TierRow,
    render_invoice_pdf,
)
from flexprice_pipelines.integrations.pdf.render import document_json, template_path

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)

MAR, APR, MAY = (datetime(2024, m, 1, tzinfo=UTC) for m in (3, 4, 5))


def pdf_text(pdf: bytes, *, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    result = subprocess.run(
        ["pdftotext", "-layout", *pages, "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode()


def page_count(pdf: bytes) -> int:
    out = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    match = re.search(r"^Pages:\s+(\d+)", out, re.M)
    assert match
    return int(match.group(1))


def usage_line(name: str = "API calls") -> DocumentLine:
    return DocumentLine(
        display_name=name,
        description="Pro plan",
        price_type="USAGE",
        quantity=D("25000"),
        amount=D("1050.00"),
        period_start=MAR,
        period_end=APR,
        tiers=(
            TierRow(
                tier_index=0,
                from_quantity=D(0),
                up_to=D(10000),
                quantity=D(10000),
                unit_amount=D("0.05"),
                flat_amount=D(0),
                amount=D(500),
            ),
            TierRow(
                tier_index=1,
                from_quantity=D(10000),
                up_to=D(20000),
                quantity=D(10000),
                unit_amount=D("0.04"),
                flat_amount=D(10),
                amount=D(410),
            ),
            TierRow(
                tier_index=2,
                from_quantity=D(20000),
                up_to=None,
                quantity=D(5000),
                unit_amount=D("0.028"),
                flat_amount=D(0),
                amount=D(140),
            ),
        ),
    )


def fixed_line() -> DocumentLine:
    return DocumentLine(
        display_name="Platform fee",
        price_type="FIXED",
        quantity=D(1),
        amount=D("99.00"),
        period_start=APR,
        period_end=MAY,
        tiers=(
            TierRow(
                tier_index=None,
                from_quantity=D(0),
                up_to=None,
                quantity=D(1),
                unit_amount=D(99),
                flat_amount=D(0),
                amount=D(99),
            ),
        ),
    )


def sample(**changes: object) -> InvoiceDocument:
    doc = InvoiceDocument(
        invoice_id="inv_01HXAMPLE",
        invoice_number="INV-202404-00007",
        status="FINALIZED",
        currency="usd",
        issuer=Party(name="Acme Metering Inc.", email="billing@acme.test", address_lines=("1 Market St",)),
        customer=Party(
            name="Globex Corporation",
            email="ap@globex.test",
            address_lines=("Hauptstraße 5", "10115 Berlin", "DE"),
            reference="globex-1",
        ),
        timezone="UTC",
        issued_at=datetime(2024, 4, 1, 2, tzinfo=UTC),
        due_at=datetime(2024, 4, 15, tzinfo=UTC),
        period_start=MAR,
        period_end=APR,
        lines=(fixed_line(), usage_line()),
        discounts=(Adjustment(label="WELCOME10", amount=D("114.90")),),
        taxes=(Adjustment(label="CA sales tax", amount=D("81.59"), rate=D("8.875")),),
        subtotal=D("1149.00"),
        total_discount=D("114.90"),
        total_credits=D("20.00"),
        total_tax=D("81.59"),
        total=D("1095.69"),
        amount_due=D("1095.69"),
    )
    return dataclasses.replace(doc, **changes)  # type: ignore[arg-type]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_template_is_vendored_without_preview_packages() -> None:
    source = template_path().read_text()
    assert not re.search(r'#import\s+"@', source)
    assert "datetime.today" not in source


def test_invoice_prints_parties_dates_lines_tiers_and_totals() -> None:
    text = squash(pdf_text(render_invoice_pdf(sample())))
    for expected in (
        "Acme Metering Inc.",
        "Globex Corporation",
        "Hauptstraße 5",
        "globex-1",
        "INV-202404-00007",
        "1 Apr 2024",  # issue date
        "15 Apr 2024",  # due date
        "1 Mar 2024 – 1 Apr 2024",  # billing period
        "Platform fee 1 $99.00 $99.00",
        "1 Apr 2024 – 1 May 2024",  # the ADVANCE line's own period
        "API calls 25,000 $1,050.00",
        "Tier 1 · up to 10,000 10,000 $0.05 $500.00",
        "Tier 2 · 10,000 – 20,000 10,000 $0.04 + $10.00 flat $410.00",
        "Tier 3 · over 20,000 5,000 $0.028 $140.00",
        "Subtotal $1,149.00",
        "WELCOME10 −$114.90",
        "Prepaid credits applied −$20.00",
        "CA sales tax (8.875%) $81.59",
        "Total $1,095.69",
        "Amount due $1,095.69",
    ):
        assert expected in text, expected
    # The line period equal to the invoice period is not repeated on the usage line.
    assert text.count("1 Mar 2024 – 1 Apr 2024") == 1


def test_zero_decimal_and_three_decimal_currencies() -> None:
    jpy = squash(
        pdf_text(
            render_invoice_pdf(
                sample(
                    currency="jpy",
                    lines=(dataclasses.replace(fixed_line(), amount=D(1500)),),
                    discounts=(),
                    taxes=(Adjustment(label="JCT", amount=D(150), rate=D(10)),),
                    subtotal=D(1500),
                    total_discount=D(0),
                    total_credits=D(0),
                    total_tax=D(150),
                    total=D(1650),
                    amount_due=D(1650),
                )
            )
        )
    )
    assert "Subtotal ¥1,500" in jpy
    assert "Amount due ¥1,650" in jpy
    assert "¥1,500.00" not in jpy
    kwd = squash(
        pdf_text(
            render_invoice_pdf(
                sample(
                    currency="kwd",
                    lines=(dataclasses.replace(fixed_line(), amount=D("12.345")),),
                    discounts=(),
                    taxes=(),
                    subtotal=D("12.345"),
                    total_discount=D(0),
                    total_credits=D(0),
                    total_tax=D(0),
                    total=D("12.345"),
                    amount_due=D("12.345"),
                )
            )
        )
    )
    assert "Subtotal KWD 12.345" in kwd
    assert "Total KWD 12.345" in kwd


def test_zero_tax_invoice_prints_no_tax_or_discount_rows() -> None:
    text = squash(
        pdf_text(
            render_invoice_pdf(
                sample(
                    discounts=(),
                    taxes=(),
                    total_discount=D(0),
                    total_credits=D(0),
                    total_tax=D(0),
                    total=D("1149.00"),
                    amount_due=D("1149.00"),
                )
            )
        )
    )
    assert "Subtotal $1,149.00 Total $1,149.00 Amount due $1,149.00" in text
    assert "tax" not in text.lower()
    assert "credits" not in text.lower()


def test_totals_without_breakdown_metadata_still_add_up() -> None:
    text = squash(pdf_text(render_invoice_pdf(sample(discounts=(), taxes=()))))
    assert "Discount −$114.90" in text
    assert "Tax $81.59" in text


def test_paid_amount_is_shown_and_draft_is_marked() -> None:
    paid = squash(pdf_text(render_invoice_pdf(sample(amount_paid=D("1000"), amount_due=D("95.69")))))
    assert "Amount paid −$1,000.00" in paid
    assert "Amount due $95.69" in paid
    draft = squash(pdf_text(render_invoice_pdf(sample(invoice_number=None, status="DRAFT", issued_at=None))))
    assert "DRAFT" in draft
    assert "ISSUE DATE DUE DATE BILLING PERIOD CURRENCY — 15 Apr 2024" in draft
    assert "Invoice inv_01HXAMPLE" in draft


def test_customer_text_is_printed_literally_not_evaluated() -> None:
    hostile = '#panic("boom") *bold* $x$ <label> @ref \\ ] [ // comment'
    text = squash(pdf_text(render_invoice_pdf(sample(customer=Party(name=hostile)))))
    assert '#panic("boom") *bold* $x$ <label> @ref' in text
    assert "// comment" in text


def test_many_lines_break_pages_with_repeated_header_and_page_numbers() -> None:
    lines = tuple(usage_line(f"Meter {i:03d}") for i in range(60))
    pdf = render_invoice_pdf(sample(lines=lines))
    pages = page_count(pdf)
    assert pages > 2
    for page in range(1, pages + 1):
        text = squash(pdf_text(pdf, page=page))
        assert f"Page {page} of {pages}" in text
        if page < pages:
            assert "Description Qty Unit price Amount" in text
    # Every line keeps its tier rows on its own page: a page never starts with a tier row.
    header = re.compile(r"Description\s+Qty\s+Unit price\s+Amount\s+")
    for page in range(2, pages + 1):
        parts = header.split(pdf_text(pdf, page=page), maxsplit=1)
        if len(parts) == 2:
            assert parts[1].startswith("Meter"), parts[1][:60]
    everything = squash(pdf_text(pdf))
    assert all(f"Meter {i:03d}" in everything for i in range(60))


def test_long_names_wrap_inside_the_page() -> None:
    long_name = " ".join(["Extraordinarily-long enterprise analytics workload"] * 6)
    pdf = render_invoice_pdf(sample(lines=(usage_line(long_name),), customer=Party(name=long_name)))
    assert page_count(pdf) == 1
    text = squash(pdf_text(pdf))
    # Wrapped over lines, the name is still all there, and the amounts column is not pushed off.
    assert text.count("Extraordinarily") == 12
    assert "$1,050.00" in text


def test_same_document_gives_identical_bytes_and_no_timestamp() -> None:
    first = render_invoice_pdf(sample())
    second = render_invoice_pdf(sample())
    assert first == second
    assert b"/CreationDate" not in first
    assert b"/ModDate" not in first
    assert render_invoice_pdf(sample(invoice_number="INV-202404-00008")) != first


def test_identical_bytes_across_processes() -> None:
    script = (
        "import hashlib, sys\n"
        "from tests.integrations.test_pdf_render import sample\n"
        "from flexprice_pipelines.integrations.pdf import render_invoice_pdf\n"
        "sys.stdout.write(hashlib.sha256(render_invoice_pdf(sample())).hexdigest())\n"
    )
    root = Path(__file__).resolve().parents[2]
    digests = {
        subprocess.run(
            [sys.executable, "-c", script], cwd=root, capture_output=True, check=True, text=True
        ).stdout
        for _ in range(2)
    }
    assert digests == {hashlib.sha256(render_invoice_pdf(sample())).hexdigest()}


def test_document_json_has_final_strings_only() -> None:
    data = json.loads(document_json(sample()))

    def leaves(value: object) -> list[object]:
        if isinstance(value, dict):
            return [leaf for v in value.values() for leaf in leaves(v)]
        if isinstance(value, list):
            return [leaf for v in value for leaf in leaves(v)]
        return [value]

    assert all(isinstance(leaf, str | bool) or leaf is None for leaf in leaves(data))


def test_unbreakable_tokens_stay_inside_the_right_margin() -> None:
    token = "x" * 60 + "@a-very-long-domain-without-any-spaces.example.com"
    doc = sample(
        lines=(usage_line("Compute-seconds-" + "y" * 90),),
        customer=Party(name=f"Globex {token}", email=token, address_lines=("A" * 120,)),
    )
    bbox = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=render_invoice_pdf(doc), capture_output=True, check=True
    ).stdout.decode()
    page_width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))  # type: ignore[union-attr]
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox)]
    margin = 18 / 25.4 * 72
    assert right_edges
    assert max(right_edges) <= page_width - margin + 1


def _render_in_child(_: int) -> str:
    try:
        render_invoice_pdf(sample())
    except PdfRenderError as exc:
        return str(exc)
    return "rendered"


def test_forked_child_gets_an_error_instead_of_a_deadlock() -> None:
    render_invoice_pdf(sample())  # Typst now runs in this process
    with multiprocessing.get_context("fork").Pool(1) as pool:
        message = pool.apply_async(_render_in_child, (0,)).get(timeout=60)
    assert "spawn" in message
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply_async(_render_in_child, (0,)).get(timeout=120) == "rendered"


@pytest.mark.parametrize(
    ("amount", "quantity", "unit"),
    [("7.50", "3", D("2.5")), ("10.00", "3", None), ("0", "0", None), ("99", "1", D(99))],
)
def test_unit_price_without_breakdown_only_when_exact(amount: str, quantity: str, unit: D | None) -> None:
    line = DocumentLine(display_name="Seats", amount=D(amount), quantity=D(quantity))
    assert line.unit_amount == unit
