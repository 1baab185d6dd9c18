"""More requests in flight than pooled connections and worker threads: every one completes, quickly.

Regression: sync dependencies used to take a pooled connection (the API-key lookup) and then wait for a
threadpool slot to run the route, while the slots were all held by requests waiting for a connection —
the app stalled for the pool's 30 s timeout. The bound below is far under that timeout.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.usage.api.conftest import Tenant
from tests.usage.api.test_entitlement_routes import SUB_START
from tests.usage.seed import create_customer, create_meters, create_plan, subscribe

IN_FLIGHT = 120  # > 40 threadpool tokens > 15 pooled connections (5 + 10 overflow)
BOUND_SECONDS = 20.0


async def _burst(app: FastAPI, key: str, requests: list[tuple[str, str, Any]]) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api", headers={"x-api-key": key}, timeout=60
    ) as client:

        async def one(method: str, path: str, body: Any) -> int:
            response = await client.request(method, path, json=body)
            return response.status_code

        return await asyncio.wait_for(
            asyncio.gather(*(one(m, p, b) for m, p, b in requests)), timeout=BOUND_SECONDS
        )


@pytest.mark.parametrize("inline_checks", [True, False], ids=["checks-on-loop", "checks-in-threads"])
def test_more_requests_than_connections_all_complete(
    app: FastAPI, tenant: Tenant, inline_checks: bool
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"api_inline_checks": inline_checks})
    with app.state.database.session() as session:
        catalog = create_meters(
            session, tenant.scope, {"calls": {"event_name": "c", "aggregation": {"type": "COUNT"}}}
        )
        feature = catalog.features["calls"]
        customer = create_customer(session, tenant.scope)
        plan = create_plan(session, tenant.scope, [{"feature_id": feature.id, "feature_type": "metered"}])
        subscribe(session, tenant.scope, customer, plan, SUB_START)
        customer_id = customer.id
    check = {"customer_id": customer_id, "feature_id": feature.id}
    requests: list[tuple[str, str, Any]] = []
    for i in range(IN_FLIGHT):
        if i % 4 == 0:
            requests.append(("POST", "/v1/customers", {"external_id": f"burst-{i}", "name": "B"}))
        elif i % 4 == 1:
            requests.append(("GET", "/v1/customers", None))
        else:
            requests.append(("POST", "/v1/entitlements/check", check))

    started = time.monotonic()
    statuses = asyncio.run(_burst(app, tenant.key, requests))
    elapsed = time.monotonic() - started

    expected = [201 if method == "POST" and path == "/v1/customers" else 200 for method, path, _ in requests]
    assert statuses == expected
    assert elapsed < BOUND_SECONDS
    listed = tenant.get("/v1/customers", limit=1000).json()["items"]
    assert {c["external_id"] for c in listed} >= {f"burst-{i}" for i in range(0, IN_FLIGHT, 4)}
