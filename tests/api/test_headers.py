"""A header the API reads must be sent once: a repeated one is a 400 naming it, never "the first wins"."""

from __future__ import annotations

import pytest

from tests.api import factories
from tests.api.conftest import Tenant


def _error(response: object) -> tuple[int, str]:
    body = response.json()  # type: ignore[attr-defined]
    return response.status_code, body["details"][0]["field"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/customers", None),
        ("POST", "/v1/entitlements/check", b'{"customer_id": "cust_x", "feature_id": "feat_x"}'),
        ("POST", "/v1/events", b'{"event_name": "call", "external_customer_id": "c1"}'),
    ],
)
def test_two_api_keys_are_refused_naming_the_header(
    tenant: Tenant, other_tenant: Tenant, method: str, path: str, body: bytes | None
) -> None:
    # Each key alone is valid: which tenant the request is for would be a guess.
    for keys in ([tenant.key, other_tenant.key], [tenant.key, tenant.key]):
        headers = [("x-api-key", key) for key in keys] + [("content-type", "application/json")]
        response = tenant.client.request(method, path, content=body, headers=headers)
        assert _error(response) == (400, "header.x-api-key")
        assert "x-api-key" in response.json()["message"]
    assert tenant.client.request(method, path, content=body, headers=tenant.headers).status_code != 400


def test_two_content_types_are_refused(tenant: Tenant) -> None:
    headers = [
        ("x-api-key", tenant.key),
        ("content-type", "application/json"),
        ("Content-Type", "text/plain"),
    ]
    response = tenant.client.post("/v1/customers", content=b'{"external_id": "x1"}', headers=headers)
    assert _error(response) == (400, "header.content-type")
    assert factories.customer(tenant)["id"]  # one content-type is fine
