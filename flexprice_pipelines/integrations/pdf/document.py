"""What an invoice PDF shows, as plain typed values, and its conversion to the template's JSON.

``InvoiceDocument`` is independent of the catalog: the builder in ``from_catalog`` fills it from
rows, tests and the benchmark build it directly. ``template_data`` turns it into the JSON the Typst
template reads; every string is final there (money formatted, dates in the tenant's time zone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from flexprice_pipelines.integrations.pdf.formatting import (
    MINUS,
    breakable,
    format_date,
    format_money,
    format_percentage,
    format_period,
    format_quantity,
    format_unit_amount,
)

_MAX_UNIT_PLACES = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class Party:
    """The tenant (issuer) or the customer (recipient) block."""

    name: str
    email: str | None = None
    address_lines: tuple[str, ...] = ()
    reference: str | None = None  # e.g. the customer's external id


@dataclass(frozen=True, slots=True, kw_only=True)
class TierRow:
    """One row of a line's rating breakdown (a ``pricing.TierCost``): ``quantity`` units in ``(from, up_to]``.

    ``tier_index`` is None for FLAT_FEE and PACKAGE; for PACKAGE ``quantity`` counts packages of
    ``package_size`` units.
    """

    tier_index: int | None
    from_quantity: Decimal
    up_to: Decimal | None
    quantity: Decimal
    unit_amount: Decimal
    flat_amount: Decimal
    amount: Decimal
    package_size: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentLine:
    """One invoice line: ``amount`` is the rounded line amount before discounts."""

    display_name: str
    amount: Decimal
    quantity: Decimal
    price_type: str = "FIXED"
    description: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    tiers: tuple[TierRow, ...] = ()

    @property
    def unit_amount(self) -> Decimal | None:
        """The single unit price, when one price explains the whole line (FLAT_FEE).

        Without a breakdown it is ``amount / quantity`` only when that is exact and short; a
        rounded quotient would print a unit price that does not multiply back to the amount.
        """
        if len(self.tiers) == 1:
            row = self.tiers[0]
            if row.tier_index is None and row.package_size is None and not row.flat_amount:
                return row.unit_amount
        if self.tiers or not self.quantity:
            return None
        unit = self.amount / self.quantity
        exponent = unit.normalize().as_tuple().exponent
        exact = unit * self.quantity == self.amount
        return unit if exact and isinstance(exponent, int) and exponent >= -_MAX_UNIT_PLACES else None

    @property
    def shows_tiers(self) -> bool:
        """Tier rows are printed when the line is tiered or packaged, not for a plain unit price."""
        return bool(self.tiers) and self.unit_amount is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Adjustment:
    """A coupon discount or a tax on the totals block; ``rate`` is a percentage, None when fixed."""

    label: str
    amount: Decimal
    rate: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceDocument:
    """Everything one invoice PDF prints. Amounts are already at the currency's precision."""

    invoice_id: str
    invoice_number: str | None
    status: str
    currency: str
    issuer: Party
    customer: Party
    timezone: str = "UTC"
    issued_at: datetime | None = None
    due_at: datetime | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    description: str | None = None
    lines: tuple[DocumentLine, ...] = ()
    discounts: tuple[Adjustment, ...] = ()
    taxes: tuple[Adjustment, ...] = ()
    subtotal: Decimal = Decimal(0)
    total_discount: Decimal = Decimal(0)
    total_credits: Decimal = Decimal(0)
    total_tax: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    amount_paid: Decimal = Decimal(0)
    amount_due: Decimal = Decimal(0)
    notes: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:
        """The PDF title and heading: the number once finalized, the id for drafts."""
        return f"Invoice {self.invoice_number or self.invoice_id}"


def _tier_label(row: TierRow) -> str:
    if row.package_size is not None:
        return f"{format_quantity(row.quantity)} × package of {format_quantity(row.package_size)}"
    if row.tier_index is None:
        return "Units"
    number = row.tier_index + 1
    if row.up_to is None:
        return f"Tier {number} · over {format_quantity(row.from_quantity)}"
    if not row.from_quantity:
        return f"Tier {number} · up to {format_quantity(row.up_to)}"
    return f"Tier {number} · {format_quantity(row.from_quantity)} – {format_quantity(row.up_to)}"


def _tier_data(row: TierRow, currency: str) -> dict[str, str]:
    flat = f" + {format_unit_amount(row.flat_amount, currency)} flat" if row.flat_amount else ""
    return {
        "label": _tier_label(row),
        "quantity": format_quantity(row.quantity),
        "unit": f"{format_unit_amount(row.unit_amount, currency)}{flat}",
        "amount": format_money(row.amount, currency),
    }


def _line_data(line: DocumentLine, doc: InvoiceDocument) -> dict[str, Any]:
    currency = doc.currency
    unit = line.unit_amount
    # A line's own period is printed only when it differs from the invoice's (ADVANCE charges
    # for the next period); repeating the invoice period on every line is noise.
    own_period = (line.period_start, line.period_end) != (doc.period_start, doc.period_end)
    period = (
        format_period(line.period_start, line.period_end, doc.timezone)
        if own_period and line.period_start is not None and line.period_end is not None
        else None
    )
    return {
        "name": breakable(line.display_name),
        "description": _text(line.description),
        "period": period,
        "quantity": format_quantity(line.quantity),
        "unit": format_unit_amount(unit, currency) if unit is not None else "",
        "amount": format_money(line.amount, currency),
        "tiers": [_tier_data(row, currency) for row in line.tiers] if line.shows_tiers else [],
    }


def _text(value: str | None) -> str | None:
    return breakable(value) if value is not None else None


def _party_data(party: Party) -> dict[str, Any]:
    return {
        "name": breakable(party.name),
        "email": _text(party.email),
        "address": [breakable(line) for line in party.address_lines],
        "reference": _text(party.reference),
    }


def _negative(amount: Decimal, currency: str) -> str:
    text = format_money(amount, currency)
    return text if not amount else f"{MINUS}{text}"


def _totals(doc: InvoiceDocument) -> list[dict[str, Any]]:
    cur = doc.currency
    rows: list[dict[str, Any]] = [{"label": "Subtotal", "amount": format_money(doc.subtotal, cur)}]
    if doc.discounts:
        rows += [{"label": breakable(d.label), "amount": _negative(d.amount, cur)} for d in doc.discounts]
    elif doc.total_discount:
        rows.append({"label": "Discount", "amount": _negative(doc.total_discount, cur)})
    if doc.total_credits:
        rows.append({"label": "Prepaid credits applied", "amount": _negative(doc.total_credits, cur)})
    if doc.taxes:
        for tax in doc.taxes:
            rate = f" ({format_percentage(tax.rate)})" if tax.rate is not None else ""
            rows.append({"label": f"{breakable(tax.label)}{rate}", "amount": format_money(tax.amount, cur)})
    elif doc.total_tax:
        rows.append({"label": "Tax", "amount": format_money(doc.total_tax, cur)})
    rows.append({"label": "Total", "amount": format_money(doc.total, cur), "strong": True})
    if doc.amount_paid:
        rows.append({"label": "Amount paid", "amount": _negative(doc.amount_paid, cur)})
    rows.append({"label": "Amount due", "amount": format_money(doc.amount_due, cur), "strong": True})
    return rows


def template_data(doc: InvoiceDocument) -> dict[str, Any]:
    """The JSON object ``invoice.typ`` reads from ``sys.inputs.data``; every value is a final string."""
    tz = doc.timezone

    def date(moment: datetime | None) -> str | None:
        return format_date(moment, tz) if moment is not None else None

    period = (
        format_period(doc.period_start, doc.period_end, tz)
        if doc.period_start is not None and doc.period_end is not None
        else None
    )
    return {
        "title": doc.title,
        "number": doc.invoice_number,
        "status": doc.status,
        "currency": doc.currency.upper(),
        "issuer": _party_data(doc.issuer),
        "customer": _party_data(doc.customer),
        "issued": date(doc.issued_at),
        "due": date(doc.due_at),
        "period": period,
        "description": _text(doc.description),
        "lines": [_line_data(line, doc) for line in doc.lines],
        "totals": _totals(doc),
        "amount_due": format_money(doc.amount_due, doc.currency),
        "notes": [breakable(note) for note in doc.notes],
    }
