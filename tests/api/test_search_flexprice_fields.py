"""Every field of Flexprice's ``types.<Resource>Filter`` is served or refused, never ignored: the date
and integer shortcuts filter for real, ``start_time`` / ``end_time`` mean a period within the range
where Flexprice says so, and the fields we do not implement yet (``NotYet``) pass only at their neutral
value, answering 400 naming the field otherwise (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from api.routers import coupons, customers, entitlements, invoices, plans, prices, subscriptions, wallets
from api.search import SearchSpec
from tests.api import factories
from tests.api.conftest import Tenant
from tests.support.flexprice_spec import flexprice_spec

Obj = dict[str, Any]

SPEC_OF_PATH: dict[str, SearchSpec] = {
    "/v1/customers/search": customers.SEARCH,
    "/v1/plans/search": plans.SEARCH,
    "/v1/prices/search": prices.SEARCH,
    "/v1/entitlements/search": entitlements.SEARCH,
    "/v1/subscriptions/search": subscriptions.SEARCH,
    "/v1/subscriptions/lineitems/search": subscriptions.LINE_ITEM_SEARCH,
    "/v1/invoices/search": invoices.SEARCH,
    "/v1/coupons/search": coupons.SEARCH,
    "/v1/wallets/search": wallets.SEARCH,
    "/v1/wallets/transactions/search": wallets.TRANSACTION_SEARCH,
}


def _ids(t: Tenant, path: str, body: Obj) -> list[str]:
    response = t.post(path, body)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["items"]]


def _refused_fields(response: httpx.Response) -> list[str]:
    """The field paths of a 400."""
    assert response.status_code == 400, response.text
    return [detail["field"] for detail in response.json()["details"]]


def _at(value: str, **delta: float) -> str:
    return (datetime.fromisoformat(value) + timedelta(**delta)).isoformat()


def test_invoice_period_shortcuts_and_time_range(tenant: Tenant) -> None:
    made = factories.invoice(tenant)["id"]
    [row] = tenant.post("/v1/invoices/search", {"invoice_ids": [made]}).json()["items"]
    start, end = row["period_start"], row["period_end"]
    path = "/v1/invoices/search"
    base: Obj = {"invoice_ids": [made]}
    assert _ids(tenant, path, {**base, "period_start_gte": start, "period_end_lte": end}) == [made]
    assert _ids(tenant, path, {**base, "period_start_lte": start, "period_end_gte": end}) == [made]
    assert _ids(tenant, path, {**base, "period_start_gte": _at(start, seconds=1)}) == []
    assert _ids(tenant, path, {**base, "period_end_lte": _at(end, seconds=-1)}) == []
    # Flexprice's start_time/end_time of an invoice: its period within the range (the end is exclusive,
    # so a range ending at the period's end holds it).
    assert _ids(tenant, path, {**base, "start_time": start, "end_time": end}) == [made]
    assert _ids(tenant, path, {**base, "start_time": _at(start, seconds=1), "end_time": end}) == []
    assert _ids(tenant, path, {**base, "start_time": start, "end_time": _at(end, seconds=-1)}) == []


def test_subscription_active_at_and_trial_end(tenant: Tenant) -> None:
    sub = factories.subscription(tenant)
    path = "/v1/subscriptions/search"
    base: Obj = {"subscription_ids": [sub["id"]]}
    start = sub["start_date"]
    assert _ids(tenant, path, {**base, "active_at": start}) == [sub["id"]]
    assert _ids(tenant, path, {**base, "active_at": _at(start, days=400)}) == [sub["id"]]  # no end date
    assert _ids(tenant, path, {**base, "active_at": _at(start, seconds=-1)}) == []
    assert sub["trial_end"] is None
    assert _ids(tenant, path, {**base, "trial_end_due_lte": _at(start, days=400)}) == []
    period = {"start_time": sub["current_period_start"], "end_time": sub["current_period_end"]}
    assert _ids(tenant, path, {**base, **period}) == [sub["id"]]
    assert _ids(tenant, path, {**base, **period, "end_time": _at(period["end_time"], seconds=-1)}) == []


def test_wallet_transaction_priority_and_expiry(tenant: Tenant) -> None:
    wallet = factories.wallet(tenant, initial_credits_to_load="10")
    [credit] = tenant.get(f"/v1/wallets/{wallet['id']}/transactions").json()["items"]
    path = "/v1/wallets/transactions/search"
    base: Obj = {"filters": [{"field": "id", "operator": "eq", "value": {"string": credit["id"]}}]}
    priority = credit.get("priority")
    if priority is None:
        assert _ids(tenant, path, {**base, "priority": 1}) == []
    else:
        assert _ids(tenant, path, {**base, "priority": priority}) == [credit["id"]]
        assert _ids(tenant, path, {**base, "priority": priority + 1}) == []
    # No expiry date: neither bound selects it (a null compares as unknown, as in Flexprice).
    assert credit.get("expiry_date") is None
    assert _ids(tenant, path, {**base, "expiry_date_before": "2199-01-01T00:00:00Z"}) == []
    assert _ids(tenant, path, {**base, "expiry_date_after": "2000-01-01T00:00:00Z"}) == []
    assert _refused_fields(tenant.post(path, {**base, "priority": -1})) == ["body.priority"]


NOT_YET_CASES = [
    (path, name, value)
    for path, spec in SPEC_OF_PATH.items()
    for name, later in spec.not_yet.items()
    for value in [
        {
            "amount_due_gt": 5,
            "amount_remaining_gt": 5,
            "credits_available_gt": 5,
            "alert_enabled": True,
            "has_grant_config": True,
            "metadata": {"tier": "gold"},
            "entity_type": "addon",
            "effective_date_for_update": "2025-01-01T00:00:00Z",
            "current_period_start": "2025-01-01T00:00:00Z",
            "start_date_lt": "2025-01-01T00:00:00Z",
            "parent_price_id": "price_1",
        }.get(name, ["x"])
    ]
]


@pytest.mark.parametrize(("path", "name", "value"), NOT_YET_CASES, ids=lambda v: str(v))
def test_not_yet_fields_pass_when_neutral_and_are_refused_otherwise(
    tenant: Tenant, path: str, name: str, value: Any
) -> None:
    later = SPEC_OF_PATH[path].not_yet[name]
    for neutral in (None, *later.accepted):
        response = tenant.post(path, {name: neutral})
        assert response.status_code == 200, (name, neutral, response.text)
    assert _refused_fields(tenant.post(path, {name: value})) == [f"body.{name}"]


def test_every_flexprice_filter_field_is_served_or_not_yet() -> None:
    """Where Flexprice's spec is at hand: no field of its filters is missing from ours (so none is
    silently ignored now that unknown fields are)."""
    from api.app import openapi_schema

    theirs = flexprice_spec()["components"]["schemas"]
    ours = openapi_schema()["components"]["schemas"]
    for path, spec in SPEC_OF_PATH.items():
        title = spec.name.title().replace("_", "")
        resource = title[:-1] if title.endswith("s") else title
        their_fields = set(theirs[f"types.{resource}Filter"]["properties"])
        our_fields = set(ours[f"{title}Search"]["properties"])
        assert their_fields <= our_fields, (path, sorted(their_fields - our_fields))
