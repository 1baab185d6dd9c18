"""The official Flexprice Python SDK (``flexprice`` 2.1.43, a dev dependency) lists through
``POST /v1/<resource>/search``: against a real uvicorn server on 127.0.0.1 (the one
``test_schemathesis.py`` starts), its searches return our rows, parsed by its own models."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.api.test_schemathesis import server  # noqa: F401  (the fixture: a real server + a tenant key)
from tests.support.flexprice_spec import flexprice_spec

flexprice = pytest.importorskip(
    "flexprice", reason="the Flexprice SDK is a dev dependency (pip install -e '.[dev]')"
)
pytestmark = [pytest.mark.timeout(120)]


@pytest.fixture
def sdk(server: tuple[str, str]) -> Iterator[tuple[object, httpx.Client]]:  # noqa: F811
    base, key = server
    client = flexprice.Flexprice(server_url=f"{base}/v1", api_key_auth=key)
    with httpx.Client(base_url=base, headers={"x-api-key": key}) as http:
        yield client, http


def test_the_sdk_lists_customers_and_features_through_search(sdk: tuple[object, httpx.Client]) -> None:
    client, http = sdk
    made = []
    for index, name in enumerate(["Acme", "Globex", "Acme Labs"]):
        response = http.post("/v1/customers", json={"external_id": f"sdk-{index}", "name": name})
        assert response.status_code == 201, response.text
        made.append(response.json())
    meter = http.post(
        "/v1/meters", json={"event_name": "api_call", "name": "API calls", "aggregation": {"type": "COUNT"}}
    ).json()
    feature = http.post(
        "/v1/features",
        json={"name": "API calls", "type": "metered", "meter_id": meter["id"], "lookup_key": "calls"},
    ).json()

    everyone = client.customers.query_customer(limit=2)  # type: ignore[attr-defined]
    assert [c.id for c in everyone.items] == [made[0]["id"], made[1]["id"]]
    assert (everyone.pagination.total, everyone.pagination.limit, everyone.pagination.offset) == (3, 2, 0)

    acme = client.customers.query_customer(  # type: ignore[attr-defined]
        filters=[
            {"field": "name", "operator": "contains", "data_type": "string", "value": {"string": "acme"}}
        ],
        sort=[{"field": "name", "direction": "desc"}],
    )
    assert [(c.name, c.external_id) for c in acme.items] == [("Acme Labs", "sdk-2"), ("Acme", "sdk-0")]
    assert acme.items[0].created_at is not None and acme.items[0].status == "published"

    by_external = client.customers.query_customer(external_ids=["sdk-1"])  # type: ignore[attr-defined]
    assert [c.id for c in by_external.items] == [made[1]["id"]]

    features = client.features.query_feature(lookup_keys=["calls"])  # type: ignore[attr-defined]
    assert [(f.id, f.name, f.lookup_key) for f in features.items] == [(feature["id"], "API calls", "calls")]
    assert features.pagination.total == 1


def test_the_sdk_reports_our_400(sdk: tuple[object, httpx.Client]) -> None:
    client, _ = sdk
    from flexprice.models.errors import ErrorResponse

    with pytest.raises(ErrorResponse) as raised:
        client.customers.query_customer(  # type: ignore[attr-defined]
            filters=[{"field": "colour", "operator": "eq", "data_type": "string", "value": {"string": "red"}}]
        )
    assert raised.value.status_code == 400
    assert (raised.value.data.code, raised.value.data.http_status_code) == ("validation_error", 400)
    assert "colour" in raised.value.message and raised.value.message == raised.value.data.message
    assert json.loads(raised.value.body)["details"][0]["field"] == "body.filters.0.field"


def test_the_sdk_parses_our_errors_as_flexprices(sdk: tuple[object, httpx.Client]) -> None:
    """Flexprice's SDK reads ``errors.ErrorResponse`` (``code``, ``http_status_code``, ``message``) from the
    statuses its operations document, and shows ``message``: it shows ours."""
    client, http = sdk
    from flexprice.models.errors import ErrorResponse

    with pytest.raises(ErrorResponse) as missing:
        client.customers.get_customer_by_external_id(external_id="no-such-customer")  # type: ignore[attr-defined]
    assert missing.value.status_code == 404
    assert (missing.value.data.code, missing.value.data.http_status_code) == ("not_found", 404)
    assert (
        "no-such-customer" in missing.value.data.message and str(missing.value) == missing.value.data.message
    )

    with pytest.raises(ErrorResponse) as invalid:
        client.customers.create_customer(  # type: ignore[attr-defined]
            external_id="sdk-invalid", name="Invalid", address_country="Germany"
        )
    assert invalid.value.status_code == 400
    assert (invalid.value.data.code, invalid.value.data.http_status_code) == ("validation_error", 400)
    assert invalid.value.data.message.startswith("body.address_country: ")
    assert [d["field"] for d in json.loads(invalid.value.body)["details"]] == ["body.address_country"]
    assert http.get("/v1/customers/external/sdk-invalid").status_code == 404  # nothing was created

    # The SDK sends only the fields it knows; an unknown one from a newer client is ignored, as by Flexprice.
    created = http.post("/v1/customers", json={"external_id": "sdk-new", "name": "New", "newer_field": 1})
    assert created.status_code == 201, created.text
    assert client.customers.get_customer_by_external_id(external_id="sdk-new").name == "New"  # type: ignore[attr-defined]


def test_our_error_codes_are_flexprices() -> None:
    """Every documented error body has Flexprice's ``errors.ErrorResponse`` fields, and only its codes."""
    from api.app import openapi_schema

    theirs = flexprice_spec()["components"]["schemas"]
    their_codes = set(theirs["errors.ErrorCode"]["enum"])
    ours = openapi_schema()["components"]["schemas"]
    errors = {
        name: schema for name, schema in ours.items() if name.startswith("Error") and name[5:].isdigit()
    }
    assert {"Error400", "Error401", "Error404", "Error409"} <= set(errors)
    for name, schema in errors.items():
        assert set(theirs["errors.ErrorResponse"]["properties"]) <= set(schema["required"]), name
        code = schema["properties"]["code"]
        assert set(code.get("enum", [code.get("const")])) <= their_codes, name
        assert schema["properties"]["http_status_code"]["const"] == int(name[5:])


def test_spec_is_read_from_the_shared_folder_only_when_present() -> None:
    """The search request bodies name Flexprice's filter fields (where the spec is at hand)."""
    from api.app import openapi_schema
    from api.search import SearchRequest

    theirs = flexprice_spec()["components"]["schemas"]
    ours = openapi_schema()["components"]["schemas"]
    for resource in (
        "Customer",
        "Feature",
        "Plan",
        "Price",
        "Entitlement",
        "Subscription",
        "Invoice",
        "Coupon",
    ):
        their_fields = set(theirs[f"types.{resource}Filter"]["properties"])
        our_fields = set(ours[f"{resource}sSearch"]["properties"])
        # Every shortcut we take is one of Flexprice's (the DSL's own fields are taken everywhere).
        shortcuts = our_fields - set(SearchRequest.model_fields)
        assert shortcuts and shortcuts <= their_fields, (resource, shortcuts - their_fields)
        assert {"filters", "sort", "limit", "offset", "order", "expand", "status"} <= our_fields
