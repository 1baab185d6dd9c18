"""Stripe items from our rows: minor units by currency precision, totals that must agree (no I/O)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.errors import InvalidInvoice
from flexprice_pipelines.billing.money import round_amount, to_minor_units
from flexprice_pipelines.catalog.models import Invoice, InvoiceLineItem
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.integrations.stripe import keys
from flexprice_pipelines.integrations.stripe.payloads import stripe_items

CURRENCIES = ["usd", "eur", "jpy", "krw", "kwd", "clf"]


def _invoice(
    currency: str, lines: list[tuple[Decimal, Decimal, Decimal]], taxes: list[Decimal]
) -> tuple[Invoice, list[InvoiceLineItem]]:
    rows = [
        InvoiceLineItem(
            id=f"inv_line_{i:03d}",
            invoice_id="inv_1",
            customer_id="cust_1",
            amount=amount,
            quantity=Decimal(1),
            currency=currency.upper(),
            display_name=f"line {i}",
            metadata_={"discount": str(discount), "credits_applied": str(credit)},
        )
        for i, (amount, discount, credit) in enumerate(lines)
    ]
    total = sum((a - d - c for a, d, c in lines), Decimal(0)) + sum(taxes, Decimal(0))
    invoice = Invoice(
        id="inv_1",
        customer_id="cust_1",
        currency=currency,
        total=total,
        metadata_={
            "tax_lines": [
                {"tax_rate_id": f"tax_{i}", "name": "VAT", "tax_amount": str(t)} for i, t in enumerate(taxes)
            ]
        },
    )
    return invoice, rows


def _money(currency: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=-1000, max_value=100000, places=4, allow_nan=False).map(
        lambda d: round_amount(d, currency)
    )


@st.composite
def invoices(draw: st.DrawFn) -> tuple[str, list[tuple[Decimal, Decimal, Decimal]], list[Decimal]]:
    currency = draw(st.sampled_from(CURRENCIES))
    money = _money(currency)
    lines = draw(st.lists(st.tuples(money, money, money), min_size=1, max_size=8))
    taxes = draw(st.lists(money, max_size=3))
    return currency, lines, taxes


@settings(max_examples=150, deadline=None)
@given(invoices())
def test_items_add_up_to_the_total_in_minor_units(
    case: tuple[str, list[tuple[Decimal, Decimal, Decimal]], list[Decimal]],
) -> None:
    currency, lines, taxes = case
    invoice, rows = _invoice(currency, lines, taxes)
    items = stripe_items(invoice, rows)
    assert len(items) == len(lines) + len(taxes)
    assert all(isinstance(item.amount, int) for item in items)
    assert sum(item.amount for item in items) == to_minor_units(invoice.total, currency)
    assert [i.item_id for i in items[: len(lines)]] == sorted(r.id for r in rows)


@pytest.mark.parametrize(
    ("currency", "amount", "minor"),
    [
        ("jpy", "1024", 1024),
        ("JPY", "5", 5),
        ("kwd", "1.234", 1234),
        ("usd", "10.28", 1028),
        ("clf", "1.2345", 12345),
    ],
)
def test_minor_units_follow_the_currency_precision(currency: str, amount: str, minor: int) -> None:
    invoice, rows = _invoice(currency, [(Decimal(amount), Decimal(0), Decimal(0))], [])
    [item] = stripe_items(invoice, rows)
    assert item.amount == minor


def test_a_line_in_another_currency_is_refused() -> None:
    invoice, rows = _invoice("usd", [(Decimal(1), Decimal(0), Decimal(0))], [])
    rows[0].currency = "eur"
    with pytest.raises(InvalidInvoice) as err:
        stripe_items(invoice, rows)
    assert err.value.field == "currency"


def test_items_that_do_not_reach_the_total_are_refused() -> None:
    invoice, rows = _invoice("usd", [(Decimal("10.00"), Decimal(0), Decimal(0))], [])
    invoice.total = Decimal("10.01")
    with pytest.raises(InvalidInvoice) as err:
        stripe_items(invoice, rows)
    assert err.value.field == "total"


def test_tax_items_have_stable_ids_per_invoice_and_rate() -> None:
    invoice, rows = _invoice("usd", [(Decimal(1), Decimal(0), Decimal(0))], [Decimal("0.10")])
    first = stripe_items(invoice, rows)[-1]
    again = stripe_items(invoice, rows)[-1]
    assert first.item_id == again.item_id
    assert first.entity_type == "invoice_tax_line"
    assert first.metadata["flexprice_tax_rate_id"] == "tax_0"


def test_idempotency_keys_are_derived_from_our_ids_and_distinct() -> None:
    scope = Scope("tenant_1", "env_1")
    made = [
        keys.customer_key(scope, "cust_1"),
        keys.invoice_key(scope, "inv_1"),
        keys.item_key(scope, "inv_1", "line_1"),
        keys.item_key(scope, "inv_1", "line_2"),
        keys.finalize_key(scope, "inv_1"),
        keys.invoice_key(Scope("tenant_2", "env_1"), "inv_1"),
    ]
    assert len(set(made)) == len(made)
    assert made[1] == keys.invoice_key(Scope("tenant_1", "env_1"), "inv_1")
    assert all(len(k) <= 255 for k in made)  # Stripe's limit
