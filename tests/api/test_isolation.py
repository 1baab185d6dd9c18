"""Tenant isolation and authentication, generated from the app's own route table.

A new route is covered automatically: if its collection has no factory in
``factories.BY_COLLECTION`` the test fails instead of skipping it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.app import create_app
from flexprice_pipelines.settings import Settings
from tests.api import factories
from tests.api.conftest import Tenant

# The Stripe webhook authenticates by its Stripe-Signature HMAC (tests/integrations/stripe).
_PUBLIC = {"/health", "/v1/webhooks/stripe/{tenant_id}/{environment_id}"}


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every ``APIRoute`` of an app, through included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    return sorted((method, route.path) for route in api_routes(app.routes) for method in route.methods)


# Built from an app that never opens its database, so parametrization needs no fixture.
ROUTES = route_table(create_app(Settings(database_url="sqlite://")))
ID_ROUTES = [(m, p) for m, p in ROUTES if "{id}" in p]


def _collection(path: str) -> str:
    return path.split("/{id}")[0]


def _body(method: str, path: str) -> dict[str, object] | None:
    if method not in ("POST", "PUT"):
        return None
    return factories.ACTION_BODIES.get(path.rsplit("/", 1)[-1], {})


def test_the_route_table_is_what_the_app_serves_and_documents(app: FastAPI) -> None:
    assert route_table(app) == ROUTES
    documented = sorted((m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops)
    assert documented == ROUTES
    assert len(ID_ROUTES) >= 30
    # Usage events are tenant-scoped by the key alone (covered by the 401 test below like every route).
    assert {("POST", "/v1/events"), ("POST", "/v1/events/bulk")} <= set(ROUTES)


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[1] not in _PUBLIC])
def test_every_route_needs_an_api_key(tenant: Tenant, method: str, path: str) -> None:
    concrete = re.sub(r"\{[^}]+\}", "anything", path)
    for headers in ({}, {"x-api-key": "fp_not-a-key"}):
        response = tenant.client.request(method, concrete, json=_body(method, path), headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(("method", "path"), ID_ROUTES)
def test_another_tenants_object_is_not_found(
    tenant: Tenant, other_tenant: Tenant, method: str, path: str
) -> None:
    make = factories.BY_COLLECTION[_collection(path)]  # KeyError: a new collection needs a factory
    obj = make(tenant)
    concrete = path.replace("{id}", obj["id"])
    response = other_tenant.request(method, concrete, _body(method, path))
    assert response.status_code == 404, (method, path, response.text)
    assert obj["id"] in response.json()["message"]
    # …and the owner still sees it untouched (reads only: writes would change the object).
    if method == "GET":
        assert tenant.get(concrete).status_code == 200


@pytest.mark.parametrize(("method", "path"), ID_ROUTES)
def test_unknown_id_is_not_found(tenant: Tenant, method: str, path: str) -> None:
    response = tenant.request(method, path.replace("{id}", "nope_01ABCDEF"), _body(method, path))
    assert response.status_code == 404, (method, path, response.text)
    assert response.json()["code"] == "not_found"


def test_external_id_lookup_is_scoped(tenant: Tenant, other_tenant: Tenant) -> None:
    factories.customer(tenant, external_id="shared-ext")
    assert tenant.get("/v1/customers/external/shared-ext").status_code == 200
    assert other_tenant.get("/v1/customers/external/shared-ext").status_code == 404
    assert tenant.client.get("/v1/customers/external/shared-ext").status_code == 401


def test_lists_show_only_the_callers_rows(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = factories.customer(tenant)
    factories.customer(other_tenant)
    page = tenant.get("/v1/customers").json()
    assert [c["id"] for c in page["items"]] == [mine["id"]]
    assert page["pagination"] == {"total": 1, "limit": 50, "offset": 0}


def test_health_needs_no_key(tenant: Tenant) -> None:
    assert tenant.client.get("/health").json() == {"status": "ok"}
