"""The official Flexprice SDK (``flexprice`` 2.1.43), unchanged, against a real server: what it sends by
default for the Flexprice fields we accept only at their neutral values passes, a value we do not
implement is a 400 naming the field, and the fields implemented here (a price's ``display_name``, tax
associations by ``tax_rate_code`` / ``external_customer_id``, the tax rate list's filters) work."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.test_schemathesis import server  # noqa: F401  (the fixture: a real server + a tenant key)

flexprice = pytest.importorskip(
    "flexprice", reason="the Flexprice SDK is a dev dependency (pip install -e '.[dev]')"
)
pytestmark = [pytest.mark.timeout(240)]


@pytest.fixture
def sdk(server: tuple[str, str]) -> Iterator[tuple[Any, httpx.Client]]:  # noqa: F811
    base, key = server
    client = flexprice.Flexprice(server_url=f"{base}/v1", api_key_auth=key)
    with httpx.Client(base_url=base, headers={"x-api-key": key}) as http:
        yield client, http


def _refused(call: Any, field: str) -> None:
    """``call()`` raises the SDK's error for our 400 naming ``field`` (Flexprice's flat body)."""
    from flexprice.models.errors import FlexpriceError

    with pytest.raises(FlexpriceError) as raised:
        call()
    assert raised.value.status_code == 400, raised.value.body
    body = json.loads(raised.value.body)
    assert body["code"] == "validation_error"
    assert [d["field"] for d in body["details"]] == [field], body
    assert "not supported yet" in body["message"]


def test_the_sdk_defaults_pass_and_values_we_do_not_implement_are_refused(
    sdk: tuple[Any, httpx.Client],
) -> None:
    client, http = sdk
    customer = client.customers.create_customer(external_id="acme", name="Acme", timezone="UTC")
    assert customer.external_id == "acme"
    _refused(lambda: client.customers.create_customer(external_id="b", name="B", timezone="Asia/Kolkata"),
             "body.timezone")  # fmt: skip
    _refused(lambda: client.customers.create_customer(external_id="b", name="B", billing_currency="eur"),
             "body.billing_currency")  # fmt: skip
    updated = client.customers.update_customer(id=customer.id, name="Acme Inc", timezone="UTC")
    assert updated.name == "Acme Inc"
    _refused(lambda: client.customers.update_customer(id=customer.id, contact="+1 555 0100"), "body.contact")
    assert http.get(f"/v1/customers/{customer.id}").json()["name"] == "Acme Inc"

    plan = client.plans.create_plan(name="Pro")
    _refused(lambda: client.plans.create_plan(name="Pro 2", display_order=1), "body.display_order")
    _refused(lambda: client.plans.update_plan(id=plan.id, display_order=1), "body.display_order")
    assert client.plans.update_plan(id=plan.id, description="The pro plan").description == "The pro plan"

    price = client.prices.create_price(
        entity_type="PLAN", entity_id=plan.id, currency="usd", billing_period="MONTHLY", type_="FIXED",
        billing_model="FLAT_FEE", invoice_cadence="ADVANCE", amount="49", price_unit_type="FIAT",
    )  # fmt: skip
    renamed = client.prices.update_price(id=price.id, display_name="Platform fee")
    assert renamed.display_name == "Platform fee"
    _refused(lambda: client.prices.update_price(id=price.id, group_id="grp_1"), "body.group_id")

    feature = client.features.create_feature(name="Seats", type_="static")
    assert client.features.update_feature(id=feature.id, name="Seat count").name == "Seat count"
    _refused(lambda: client.features.update_feature(id=feature.id, group_id="grp_1"), "body.group_id")
    entitlement = client.entitlements.create_entitlement(
        feature_id=feature.id, feature_type="static", plan_id=plan.id, static_value="5"
    )
    changed = client.entitlements.update_entitlement(id=entitlement.id, static_value="10")
    assert changed.static_value == "10"
    _refused(lambda: client.entitlements.update_entitlement(id=entitlement.id, grant_quota="100"),
             "body.grant_quota")  # fmt: skip

    # The SDK sends a body ({}) with every price delete.
    assert client.prices.delete_price(id=price.id).message
    assert http.get(f"/v1/prices/{price.id}").status_code == 404

    _refused(lambda: client.invoices.get_invoice_pdf(id="inv_missing", url=True), "query.url")
    _refused(
        lambda: client.invoices.get_invoice(id="inv_missing", expand_by_source=True), "query.expand_by_source"
    )


def test_the_sdk_lists_tax_rates_and_associations_with_flexprice_filters(
    sdk: tuple[Any, httpx.Client],
) -> None:
    client, http = sdk
    rates = []
    for code, scope in [("vat", "INTERNAL"), ("gst", "EXTERNAL"), ("sales", "INTERNAL")]:
        response = http.post(
            "/v1/taxes/rates",
            json={
                "name": code,
                "code": code,
                "tax_rate_type": "percentage",
                "percentage_value": "10",
                "scope": scope,
            },
        )
        assert response.status_code == 201, response.text
        rates.append(response.json())
    listed = client.tax_rates.get_tax_rates(taxrate_codes=["vat", "sales"])
    assert [r.code for r in listed.items] == ["vat", "sales"]
    listed = client.tax_rates.get_tax_rates(taxrate_ids=[rates[1]["id"], rates[2]["id"]], order="desc")
    assert [r.code for r in listed.items] == ["sales", "gst"]
    assert [r.code for r in client.tax_rates.get_tax_rates(scope="EXTERNAL").items] == ["gst"]
    _refused(lambda: client.tax_rates.get_tax_rates(expand="tax_associations"), "query.expand")

    customer = client.customers.create_customer(external_id="taxed", name="Taxed")
    # Flexprice's create answers 200 (the SDK's expectation); ours 201 until the contract branch's change,
    # so the SDK's own body is sent here over HTTP.
    body = flexprice.models.CreateTaxAssociationRequest(tax_rate_code="vat", external_customer_id="taxed")
    response = http.post("/v1/taxes/associations", json=body.model_dump(mode="json", exclude_none=True))
    assert response.status_code in (200, 201), response.text
    assert (response.json()["entity_type"], response.json()["entity_id"]) == ("CUSTOMER", customer.id)
    listed = client.tax_associations.list_tax_associations(external_customer_id="taxed")
    assert [(a.entity_id, a.tax_rate_id) for a in listed.items] == [(customer.id, rates[0]["id"])]

    overridden = client.customers.create_customer(
        external_id="overridden", name="O", tax_rate_overrides=[{"tax_rate_code": "gst", "currency": "usd"}]
    )
    listed = client.tax_associations.list_tax_associations(external_customer_id="overridden")
    assert [(a.entity_id, a.tax_rate_id) for a in listed.items] == [(overridden.id, rates[1]["id"])]
