"""Customer and invoice → HubSpot properties (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.money import round_amount
from flexprice_pipelines.catalog.models import Customer, Invoice
from flexprice_pipelines.integrations.hubspot.properties import (
    company_properties,
    contact_properties,
    deal_properties,
    hubspot_datetime,
)
from tests.support.hubspot_stub import KNOWN_PROPERTIES

FINALIZED_AT = datetime(2025, 3, 1, 0, 5, 30, 250000, tzinfo=UTC)


def customer(**extra: object) -> Customer:
    return Customer(id="cust_1", external_id="acme-1", name="Acme", **extra)


def invoice(total: Decimal, currency: str = "usd", **extra: object) -> Invoice:
    values: dict[str, object] = {
        "id": "inv_1",
        "customer_id": "cust_1",
        "invoice_status": "FINALIZED",
        "currency": currency,
        "total": total,
        "finalized_at": FINALIZED_AT,
        "invoice_number": "INV-202503-00007",
        **extra,
    }
    return Invoice(**values)


def test_deal_carries_amount_currency_close_date_and_number() -> None:
    props = deal_properties(invoice(Decimal("1234.50")), customer())
    assert props["amount"] == "1234.50"
    assert props["deal_currency_code"] == "USD"
    assert props["closedate"] == "2025-03-01T00:05:30.250Z"
    assert "INV-202503-00007" in props["dealname"] and props["dealstage"] == "closedwon"
    assert set(props) <= KNOWN_PROPERTIES["deals"]


def test_close_date_is_utc_whatever_the_offset() -> None:
    kolkata = timezone(timedelta(hours=5, minutes=30))
    assert hubspot_datetime(datetime(2025, 3, 1, 5, 35, tzinfo=kolkata)) == "2025-03-01T00:05:00.000Z"
    with pytest.raises(ValueError):
        hubspot_datetime(datetime(2025, 3, 1))


@pytest.mark.parametrize(
    "changes",
    [{"invoice_status": "DRAFT"}, {"finalized_at": None}, {"invoice_number": None}],
)
def test_only_finalized_numbered_invoices_make_deals(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="not finalized"):
        deal_properties(invoice(Decimal("1"), **changes), customer())


@settings(max_examples=150)
@given(
    total=st.decimals(min_value=Decimal("0"), max_value=Decimal("1e12"), places=4, allow_nan=False),
    currency=st.sampled_from(["usd", "eur", "jpy", "kwd", "inr"]),
)
def test_amount_is_the_total_at_currency_precision_as_plain_decimal_text(
    total: Decimal, currency: str
) -> None:
    amount = deal_properties(invoice(total, currency), customer())["amount"]
    assert "E" not in amount and Decimal(amount) == round_amount(total, currency)


def test_company_and_contact_use_standard_properties_only() -> None:
    full = customer(email="ops@acme.test", address_city="Pune", address_country="IN", address_line1=None)
    company = company_properties(full)
    assert company == {
        "name": "Acme",
        "city": "Pune",
        "country": "IN",
        "description": "Flexprice customer acme-1",
    }
    assert contact_properties(full) == {"email": "ops@acme.test", "company": "Acme"}
    assert set(company) <= KNOWN_PROPERTIES["companies"]
    with pytest.raises(ValueError):
        contact_properties(customer())
