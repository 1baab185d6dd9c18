"""The JSON the invoices asset stores in ``metadata`` so the PDF can print what the columns don't hold.

Invoice columns carry the totals; the rating breakdown (tiers), coupon applications and tax lines
only exist in the pure ``InvoiceComputation``. The writers here turn them into JSON (Decimals as
strings, never floats) and the readers turn that JSON back into document rows; both sides live in
this one module so the format cannot drift.

- ``InvoiceLineItem.metadata["breakdown"]``: ``[{tier_index, from_quantity, up_to, quantity,
  unit_amount, flat_amount, amount, package_size}]`` (``pricing.TierCost`` fields).
- ``Invoice.metadata["coupons"]``: ``[{coupon_id, name, line_id, discount}]``.
- ``Invoice.metadata["taxes"]``: ``[{tax_rate_id, name, tax_rate_type, percentage_value,
  fixed_value, taxable_amount, tax_amount}]``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from flexprice_pipelines.billing.errors import InvalidInvoice
from flexprice_pipelines.billing.invoicing import CouponApplication, InvoiceComputation, TaxLine
from flexprice_pipelines.billing.money import ensure_decimal
from flexprice_pipelines.integrations.pdf.document import Adjustment, TierRow

BREAKDOWN = "breakdown"
COUPONS = "coupons"
TAXES = "taxes"
_TIER_FIELDS = (
    "tier_index",
    "from_quantity",
    "up_to",
    "quantity",
    "unit_amount",
    "flat_amount",
    "amount",
    "package_size",
)


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value") and isinstance(value.value, str):  # StrEnum
        return value.value
    return value


def _as_mapping(row: object) -> Mapping[str, Any]:
    if isinstance(row, Mapping):
        return row
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    raise TypeError(f"a breakdown row must be a mapping or a dataclass, not {type(row).__name__}")


def breakdown_metadata(rows: Iterable[object]) -> list[dict[str, object]]:
    """JSON for a line's breakdown from ``TierCost`` objects (or mappings with the same keys)."""
    return [{name: _json_value(_as_mapping(row).get(name)) for name in _TIER_FIELDS} for row in rows]


def coupon_metadata(
    applications: Iterable[CouponApplication], names: Mapping[str, str] | None = None
) -> list[dict[str, object]]:
    """JSON for the coupon applications; ``names`` maps coupon id → printable name."""
    names = names or {}
    return [
        {
            "coupon_id": a.coupon_id,
            "name": names.get(a.coupon_id),
            "line_id": a.line_id,
            "discount": str(a.discount),
        }
        for a in applications
    ]


def tax_metadata(tax_lines: Iterable[TaxLine]) -> list[dict[str, object]]:
    """JSON for the tax lines of an invoice."""
    return [{f.name: _json_value(getattr(t, f.name)) for f in dataclasses.fields(t)} for t in tax_lines]


def invoice_print_metadata(
    computation: InvoiceComputation, coupon_names: Mapping[str, str] | None = None
) -> dict[str, object]:
    """The ``coupons`` and ``taxes`` entries to merge into ``Invoice.metadata``."""
    return {
        COUPONS: coupon_metadata(computation.coupon_applications, coupon_names),
        TAXES: tax_metadata(computation.tax_lines),
    }


def _decimal(row: Mapping[str, Any], name: str, *, optional: bool = False) -> Decimal | None:
    value = row.get(name)
    if value is None:
        if optional:
            return None
        raise InvalidInvoice(f"print metadata is missing {name}", field=name)
    try:
        return ensure_decimal(value, name)
    except (TypeError, ValueError) as exc:
        raise InvalidInvoice(f"print metadata has a bad {name}: {exc}", field=name) from exc


def _required(row: Mapping[str, Any], name: str) -> Decimal:
    value = _decimal(row, name)
    assert value is not None  # _decimal raises for a missing required field
    return value


def read_breakdown(metadata: Mapping[str, Any] | None) -> tuple[TierRow, ...]:
    """Tier rows from a line's metadata; an absent breakdown gives no rows."""
    rows = (metadata or {}).get(BREAKDOWN) or []
    return tuple(
        TierRow(
            tier_index=None if row.get("tier_index") is None else int(row["tier_index"]),
            from_quantity=_decimal(row, "from_quantity", optional=True) or Decimal(0),
            up_to=_decimal(row, "up_to", optional=True),
            quantity=_required(row, "quantity"),
            unit_amount=_required(row, "unit_amount"),
            flat_amount=_decimal(row, "flat_amount", optional=True) or Decimal(0),
            amount=_required(row, "amount"),
            package_size=_decimal(row, "package_size", optional=True),
        )
        for row in rows
    )


def read_coupons(metadata: Mapping[str, Any] | None, line_names: Mapping[str, str]) -> tuple[Adjustment, ...]:
    """Discount rows; a line coupon names the line it discounts. Zero discounts are not printed."""
    result = []
    for row in (metadata or {}).get(COUPONS) or []:
        amount = _required(row, "discount")
        if not amount:
            continue
        label = row.get("name") or row.get("coupon_id") or "Discount"
        line_name = line_names.get(row.get("line_id") or "")
        result.append(Adjustment(label=f"{label} on {line_name}" if line_name else str(label), amount=amount))
    return tuple(result)


def read_taxes(metadata: Mapping[str, Any] | None) -> tuple[Adjustment, ...]:
    """Tax rows with their percentage (None for a fixed tax)."""
    return tuple(
        Adjustment(
            label=str(row.get("name") or row.get("tax_rate_id") or "Tax"),
            amount=_required(row, "tax_amount"),
            rate=_decimal(row, "percentage_value", optional=True)
            if row.get("tax_rate_type", "percentage") == "percentage"
            else None,
        )
        for row in (metadata or {}).get(TAXES) or []
    )
