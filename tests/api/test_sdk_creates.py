"""The official Flexprice Python SDK (``flexprice`` 2.1.43) creates catalog resources against a real
uvicorn server (the one ``test_schemathesis.py`` starts), unchanged: a feature with an inline meter,
flat / package / tiered prices, an entitlement, wallets and a coupon. Each answer is parsed by the SDK's
own models, so a status other than the one Flexprice documents for that create fails here too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.api.test_schemathesis import server  # noqa: F401  (the fixture: a real server + a tenant key)
from tests.support.flexprice_spec import flexprice_spec

flexprice = pytest.importorskip(
    "flexprice", reason="the Flexprice SDK is a dev dependency (pip install -e '.[dev]')"
)
pytestmark = [pytest.mark.timeout(240)]

VALIDATION = 400  # Flexprice's validation_error


def _details(body: str) -> list[dict[str, Any]]:
    """The error's ``details`` (Flexprice's flat error body plus our field paths)."""
    data = json.loads(body)
    assert data["code"] == "validation_error", data
    details: list[dict[str, Any]] = data["details"]
    return details


def _fields(body: str) -> list[str]:
    return [str(d.get("field")) for d in _details(body)]


@pytest.fixture
def sdk(server: tuple[str, str]) -> Iterator[tuple[Any, httpx.Client]]:  # noqa: F811
    base, key = server
    client = flexprice.Flexprice(server_url=f"{base}/v1", api_key_auth=key)
    with httpx.Client(base_url=base, headers={"x-api-key": key}) as http:
        yield client, http


def _plan(http: httpx.Client) -> str:
    response = http.post("/v1/plans", json={"name": "Pro"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_the_sdk_creates_a_feature_with_an_inline_meter_prices_and_an_entitlement(
    sdk: tuple[Any, httpx.Client],
) -> None:
    client, http = sdk
    feature = client.features.create_feature(
        name="API calls",
        type_="metered",
        lookup_key="api_calls",
        unit_singular="call",
        unit_plural="calls",
        meter={
            "event_name": "api_call",
            "name": "API calls",
            "aggregation": {"type": "SUM", "field": "count"},
            "filters": [{"key": "region", "values": ["eu", "us"]}],
            "reset_usage": "NEVER",
        },
    )
    assert feature.id.startswith("feat_") and feature.type == "metered" and feature.lookup_key == "api_calls"
    assert feature.meter_id is not None and feature.meter_id.startswith("meter_")
    assert feature.meter is not None and feature.meter.id == feature.meter_id
    assert (feature.meter.event_name, feature.meter.reset_usage) == ("api_call", "NEVER")
    assert feature.meter.aggregation.type == "SUM" and feature.meter.aggregation.field == "count"
    # The meter is a row of its own, created with the feature.
    meter = http.get(f"/v1/meters/{feature.meter_id}")
    assert meter.status_code == 200, meter.text
    assert meter.json()["reset_usage"] == "NEVER"
    assert meter.json()["filters"] == [{"key": "region", "values": ["eu", "us"]}]

    plan_id = _plan(http)
    common = dict(
        entity_type="PLAN",
        entity_id=plan_id,
        currency="USD",
        billing_period="MONTHLY",
        price_unit_type="FIAT",
    )
    flat = client.prices.create_price(
        **common,
        type_="FIXED",
        billing_model="FLAT_FEE",
        invoice_cadence="ADVANCE",
        amount="49.00",
        display_name="Platform fee",
    )
    assert (flat.amount, flat.display_name, flat.currency) == ("49.00", "Platform fee", "usd")
    assert flat.price_unit_type == "FIAT" and flat.entity_id == plan_id

    package = client.prices.create_price(
        **common,
        type_="USAGE",
        billing_model="PACKAGE",
        invoice_cadence="ARREAR",
        meter_id=feature.meter_id,
        amount="5",
        transform_quantity={"divide_by": 1000, "round": "up"},
    )
    assert package.billing_model == "PACKAGE" and package.amount == "5"
    assert package.transform_quantity is not None and package.transform_quantity.divide_by == 1000
    assert package.display_name is None

    tiered = client.prices.create_price(
        **common,
        type_="USAGE",
        billing_model="TIERED",
        invoice_cadence="ARREAR",
        meter_id=feature.meter_id,
        tier_mode="SLAB",
        tiers=[
            {"up_to": 1000, "unit_amount": "0"},
            {"up_to": 10000, "unit_amount": "0.002", "flat_amount": "1.5"},
            {"unit_amount": "0.001"},
        ],
        display_name="API calls",
    )
    assert tiered.tier_mode == "SLAB" and tiered.tiers is not None
    assert [(t.up_to, t.unit_amount, t.flat_amount) for t in tiered.tiers] == [
        (1000, "0", "0"),  # a tier's missing flat amount is stored as 0
        (10000, "0.002", "1.5"),
        (None, "0.001", "0"),
    ]
    stored = http.get(f"/v1/prices/{tiered.id}").json()
    assert stored["display_name"] == "API calls" and stored["price_unit_type"] == "FIAT"

    # A subscription's line items are named by their price's display_name (else description, else the plan).
    customer = http.post("/v1/customers", json={"external_id": "sdk-sub", "name": "Acme"}).json()
    subscription = http.post(
        "/v1/subscriptions",
        json={
            "customer_id": customer["id"],
            "plan_id": plan_id,
            "currency": "usd",
            "billing_period": "MONTHLY",
            "start_date": "2025-03-01T00:00:00Z",
        },
    )
    assert subscription.status_code == 201, subscription.text
    names = {item["price_id"]: item["display_name"] for item in subscription.json()["line_items"]}
    assert names == {flat.id: "Platform fee", package.id: "Pro", tiered.id: "API calls"}

    # plan_id names the plan (Flexprice's older spelling of entity_type PLAN + entity_id).
    entitlement = client.entitlements.create_entitlement(
        feature_id=feature.id,
        feature_type="metered",
        plan_id=plan_id,
        usage_limit=100000,
        usage_reset_period="MONTHLY",
        is_soft_limit=True,
    )
    assert (entitlement.entity_type, entitlement.entity_id, entitlement.plan_id) == ("PLAN", plan_id, plan_id)
    assert (entitlement.feature_id, entitlement.feature_type, entitlement.usage_limit) == (
        feature.id,
        "metered",
        100000,
    )
    assert entitlement.is_soft_limit is True


def test_the_sdk_creates_wallets_and_a_coupon(sdk: tuple[Any, httpx.Client]) -> None:
    client, http = sdk
    customer = http.post("/v1/customers", json={"external_id": "sdk-w", "name": "Acme"})
    assert customer.status_code == 201, customer.text
    customer_id = customer.json()["id"]

    # The SDK sends initial_credits_to_load "0" and conversion_rate "1" unless told otherwise.
    empty = client.wallets.create_wallet(customer_id=customer_id, currency="usd", description="Main")
    assert (empty.customer_id, empty.currency, empty.description) == (customer_id, "usd", "Main")
    assert Decimal(empty.balance) == 0 and Decimal(empty.credit_balance) == 0
    assert Decimal(empty.conversion_rate) == 1

    loaded = client.wallets.create_wallet(
        external_customer_id="sdk-w", currency="eur", initial_credits_to_load="250", conversion_rate="2"
    )
    assert loaded.customer_id == customer_id and loaded.wallet_type == "PRE_PAID"
    assert Decimal(loaded.credit_balance) == 250 and Decimal(loaded.balance) == 500

    coupon = client.coupons.create_coupon(
        name="Launch", type_="percentage", cadence="repeated", percentage_off="20",
        duration_in_periods=3, coupon_code="LAUNCH20",
    )  # fmt: skip
    assert (coupon.coupon_code, coupon.type, coupon.percentage_off) == ("LAUNCH20", "percentage", "20")
    assert coupon.duration_in_periods == 3
    assert http.get(f"/v1/coupons/{coupon.id}").json()["coupon_code"] == "LAUNCH20"

    # The code is unique among the tenant's live coupons.
    from flexprice.models.errors import FlexpriceError

    with pytest.raises(FlexpriceError) as raised:
        client.coupons.create_coupon(
            name="Again",
            type_="fixed",
            cadence="once",
            amount_off="5",
            currency="usd",
            coupon_code="LAUNCH20",
        )
    assert raised.value.status_code == 409
    assert "coupon_code" in raised.value.body


def test_values_we_do_not_implement_are_refused_naming_the_field(sdk: tuple[Any, httpx.Client]) -> None:
    client, http = sdk
    from flexprice.models.errors import FlexpriceError

    plan_id = _plan(http)
    with pytest.raises(FlexpriceError) as raised:
        client.prices.create_price(
            entity_type="PLAN", entity_id=plan_id, currency="usd", billing_period="MONTHLY",
            price_unit_type="CUSTOM", type_="FIXED", billing_model="FLAT_FEE", invoice_cadence="ADVANCE",
            amount="1",
        )  # fmt: skip
    assert raised.value.status_code == VALIDATION
    assert _fields(raised.value.body) == ["body.price_unit_type"]
    assert "not supported yet" in raised.value.body

    feature = client.features.create_feature(name="SSO", type_="boolean")
    with pytest.raises(FlexpriceError) as raised:
        client.entitlements.create_entitlement(feature_id=feature.id, feature_type="metered", plan_id=plan_id)
    assert raised.value.status_code == VALIDATION
    assert _fields(raised.value.body) == ["body.feature_type"]

    # plan_id and an entity naming another owner contradict each other.
    response = http.post(
        "/v1/entitlements",
        json={"feature_id": feature.id, "feature_type": "boolean", "plan_id": plan_id, "entity_id": "plan_x"},
    )
    assert response.status_code == VALIDATION, response.text
    assert _fields(response.text) == ["body.plan_id"]

    # The inline meter and meter_id are one or the other.
    response = http.post(
        "/v1/features",
        json={
            "name": "Calls",
            "type": "metered",
            "meter_id": "meter_x",
            "meter": {
                "event_name": "e",
                "name": "n",
                "aggregation": {"type": "COUNT"},
                "reset_usage": "NEVER",
            },
        },
    )
    assert response.status_code == VALIDATION, response.text
    assert _fields(response.text) == ["body.meter"]
    # A refused inline meter leaves no meter behind.
    response = http.post(
        "/v1/features",
        json={
            "name": "Calls",
            "type": "metered",
            "lookup_key": "calls",
            "meter": {"event_name": "e", "name": "n", "aggregation": {"type": "SUM"}, "reset_usage": "NEVER"},
        },
    )
    assert response.status_code == VALIDATION, response.text
    assert _fields(response.text) == ["body.meter.aggregation.field"]
    # A feature refused after its inline meter was added (a taken lookup key) takes the meter with it.
    assert client.features.create_feature(name="Calls", type_="boolean", lookup_key="calls").id
    response = http.post(
        "/v1/features",
        json={
            "name": "Calls",
            "type": "metered",
            "lookup_key": "calls",
            "meter": {
                "event_name": "e",
                "name": "n",
                "aggregation": {"type": "COUNT"},
                "reset_usage": "NEVER",
            },
        },
    )
    assert response.status_code == 409, response.text
    assert http.get("/v1/meters").json()["pagination"]["total"] == 0


def test_our_create_statuses_are_the_ones_flexprice_documents() -> None:
    from api.app import openapi_schema

    spec = flexprice_spec()
    ours = openapi_schema()["paths"]
    for path in ["/prices", "/entitlements", "/features", "/wallets", "/coupons"]:
        documented = {code for code in spec["paths"][path]["post"]["responses"] if code.startswith("2")}
        served = {code for code in ours[f"/v1{path}"]["post"]["responses"] if code.startswith("2")}
        assert served == documented, path


def _pairs() -> list[tuple[str, type, str]]:
    from api.schemas.coupons import CouponCreate
    from api.schemas.entitlements import EntitlementCreate
    from api.schemas.features import FeatureCreate
    from api.schemas.meters import AggregationIn, MeterCreate
    from api.schemas.prices import PriceCreate, TierIn
    from api.schemas.wallets import WalletCreate

    return [
        ("CreatePriceRequest", PriceCreate, "CreatePriceRequest"),
        ("CreatePriceTier", TierIn, "CreatePriceTier"),
        ("CreateEntitlementRequest", EntitlementCreate, "CreateEntitlementRequest"),
        ("CreateFeatureRequest", FeatureCreate, "CreateFeatureRequest"),
        ("CreateMeterRequest", MeterCreate, "CreateMeterRequest"),
        ("meter.Aggregation", AggregationIn, "MeterAggregation"),
        ("CreateWalletRequest", WalletCreate, "CreateWalletRequest"),
        ("CreateCouponRequest", CouponCreate, "CreateCouponRequest"),
    ]


@pytest.mark.parametrize("spec_name, ours, sdk_name", _pairs(), ids=[p[0] for p in _pairs()])
def test_every_field_flexprice_and_its_sdk_send_is_one_of_ours(
    spec_name: str, ours: type, sdk_name: str
) -> None:
    """Each request field of Flexprice's document and of the SDK's model is implemented or ``neutral()``:
    none is refused as unknown (our bodies forbid unknown fields)."""
    from flexprice import models

    sdk_fields = {field.alias or name for name, field in getattr(models, sdk_name).model_fields.items()}
    assert sdk_fields - set(ours.model_fields) == set()  # type: ignore[attr-defined]
    spec_fields = set(flexprice_spec()["components"]["schemas"][spec_name]["properties"])
    assert spec_fields - set(ours.model_fields) == set()  # type: ignore[attr-defined]
