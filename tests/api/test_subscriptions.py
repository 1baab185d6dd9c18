"""Subscriptions through the API: periods (§5), overrides, cancel, pause and resume; frozen clock."""

from __future__ import annotations

from typing import Any

from tests.api import factories
from tests.api.conftest import FROZEN_NOW, Tenant


def _plan(t: Tenant, *prices: dict[str, Any]) -> dict[str, Any]:
    return factories.plan(
        t, prices=list(prices) or [factories.fixed_price(), factories.tiered_price(factories.meter(t)["id"])]
    )


def test_anniversary_subscription_copies_matching_prices(tenant: Tenant) -> None:
    meter_id = factories.meter(tenant)["id"]
    plan = _plan(
        tenant,
        factories.fixed_price(),
        factories.tiered_price(meter_id),
        factories.fixed_price(currency="eur"),
        factories.fixed_price(billing_period="ANNUAL"),
        factories.fixed_price(billing_period="ONETIME", amount="99"),
    )
    customer = factories.customer(tenant, external_id="acme")
    body = {
        "external_customer_id": "acme",
        "plan_id": plan["id"],
        "currency": "USD",
        "billing_period": "MONTHLY",
        "start_date": "2024-01-31T10:00:00Z",
    }
    sub = tenant.created("/v1/subscriptions", body)
    assert sub["customer_id"] == customer["id"]
    assert (sub["current_period_start"], sub["current_period_end"]) == (
        "2024-01-31T10:00:00Z",
        "2024-02-29T10:00:00Z",
    )
    assert sub["billing_anchor"] == "2024-01-31T10:00:00Z" and sub["subscription_status"] == "active"
    copied = {
        (p["id"])
        for p in plan["prices"]
        if p["currency"] == "usd" and p["billing_period"] in ("MONTHLY", "ONETIME")
    }
    assert {line["price_id"] for line in sub["line_items"]} == copied
    usage = [line for line in sub["line_items"] if line["price_type"] == "USAGE"]
    assert [line["quantity"] for line in usage] == ["0"]


def test_calendar_subscription_in_customer_time_zone_defaults_to_now(tenant: Tenant) -> None:
    plan = _plan(tenant)
    body = {"customer_id": factories.customer(tenant)["id"], "plan_id": plan["id"], "currency": "usd",
            "billing_period": "MONTHLY", "billing_cycle": "calendar", "customer_timezone": "Asia/Kolkata"}  # fmt: skip
    sub = tenant.created("/v1/subscriptions", body)
    assert sub["start_date"] == FROZEN_NOW.isoformat().replace("+00:00", "Z")
    # The next local midnight on the 1st in Kolkata (UTC+5:30) is 18:30 UTC the day before.
    assert sub["current_period_end"] == "2025-03-31T18:30:00Z" == sub["billing_anchor"]


def test_trial_from_price_makes_the_first_period_the_trial(tenant: Tenant) -> None:
    plan = _plan(tenant, factories.fixed_price(trial_period_days=14))
    sub = factories.subscription(tenant, plan_id=plan["id"], start_date="2024-03-01T00:00:00Z")
    assert sub["subscription_status"] == "trialing"
    assert sub["trial_end"] == sub["current_period_end"] == "2024-03-15T00:00:00Z" == sub["billing_anchor"]


def test_overrides_change_amount_and_quantity(tenant: Tenant) -> None:
    meter_id = factories.meter(tenant)["id"]
    plan = _plan(tenant, factories.fixed_price(amount="30"), factories.tiered_price(meter_id))
    fixed = next(p for p in plan["prices"] if p["type"] == "FIXED")
    override = {"price_id": fixed["id"], "amount": "25.50", "quantity": 3}
    sub = factories.subscription(tenant, plan_id=plan["id"], override_line_items=[override])
    line = next(line for line in sub["line_items"] if line["price_type"] == "FIXED")
    assert line["quantity"] == "3" and line["price_id"] != fixed["id"]
    copy = tenant.get(f"/v1/prices/{line['price_id']}").json()
    assert (copy["amount"], copy["entity_type"], copy["entity_id"]) == ("25.50", "SUBSCRIPTION", sub["id"])
    assert copy["metadata"] == {"parent_price_id": fixed["id"]}
    assert tenant.get(f"/v1/prices/{fixed['id']}").json()["amount"] == "30"


def test_override_of_a_price_not_copied_is_400(tenant: Tenant) -> None:
    plan = _plan(tenant, factories.fixed_price(), factories.fixed_price(currency="eur"))
    eur = next(p for p in plan["prices"] if p["currency"] == "eur")
    body = {"customer_id": factories.customer(tenant)["id"], "plan_id": plan["id"], "currency": "usd",
            "billing_period": "MONTHLY", "override_line_items": [{"price_id": eur["id"], "amount": "1"}]}  # fmt: skip
    response = tenant.post("/v1/subscriptions", body)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "body.override_line_items.0.price_id"


def test_no_matching_prices_and_bad_time_zone_are_400(tenant: Tenant) -> None:
    plan = _plan(tenant)
    base = {
        "customer_id": factories.customer(tenant)["id"],
        "plan_id": plan["id"],
        "billing_period": "MONTHLY",
    }
    assert (
        tenant.post("/v1/subscriptions", {**base, "currency": "jpy"}).json()["details"][0]["field"]
        == "body.currency"
    )
    response = tenant.post(
        "/v1/subscriptions", {**base, "currency": "usd", "customer_timezone": "Mars/Olympus"}
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "body.customer_timezone"


def test_another_tenants_customer_is_404(tenant: Tenant, other_tenant: Tenant) -> None:
    body = {
        "customer_id": factories.customer(other_tenant)["id"],
        "plan_id": _plan(tenant)["id"],
        "currency": "usd",
        "billing_period": "MONTHLY",
    }
    response = tenant.post("/v1/subscriptions", body)
    assert response.status_code == 404
    assert response.json()["details"][0]["field"] == "body.customer_id"


def test_cancel_end_of_period_then_again_is_409(tenant: Tenant) -> None:
    sub = factories.subscription(tenant)
    cancelled = tenant.post(
        f"/v1/subscriptions/{sub['id']}/cancel", {"cancellation_type": "end_of_period"}
    ).json()
    assert (cancelled["effective_date"], cancelled["status"]) == (sub["current_period_end"], "active")
    after = cancelled["subscription"]
    assert after["cancel_at"] == sub["current_period_end"] and after["cancel_at_period_end"] is True
    assert after["subscription_status"] == "active"
    immediate = tenant.post(
        f"/v1/subscriptions/{sub['id']}/cancel", {"cancellation_type": "immediate"}
    ).json()
    assert immediate["status"] == immediate["subscription"]["subscription_status"] == "cancelled"
    assert immediate["effective_date"] == "2025-03-10T12:00:00Z" == immediate["processed_at"]
    again = tenant.post(f"/v1/subscriptions/{sub['id']}/cancel", {"cancellation_type": "immediate"})
    assert again.status_code == 409


def test_scheduled_cancel_needs_a_future_date(tenant: Tenant) -> None:
    sub = factories.subscription(tenant)
    path = f"/v1/subscriptions/{sub['id']}/cancel"
    past = tenant.post(path, {"cancellation_type": "scheduled_date", "cancel_at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 400 and past.json()["details"][0]["field"] == "body.cancel_at"
    ok = tenant.post(
        path, {"cancellation_type": "scheduled_date", "cancel_at": "2025-03-20T00:00:00Z"}
    ).json()
    assert ok["effective_date"] == "2025-03-20T00:00:00Z"
    assert ok["subscription"]["cancel_at"] == "2025-03-20T00:00:00Z" == ok["subscription"]["end_date"]


def test_immediate_cancel_credits_unused_advance_time_to_the_wallet(tenant: Tenant) -> None:
    customer = factories.customer(tenant)
    wallet = tenant.created("/v1/wallets", {"customer_id": customer["id"], "currency": "usd"})
    # Period [2025-03-01, 2025-04-01) = 31 days; cancelled at 2025-03-10 12:00 → 21.5 days unused.
    sub = factories.subscription(tenant, customer_id=customer["id"], start_date="2025-03-01T00:00:00Z")
    cancelled = tenant.post(f"/v1/subscriptions/{sub['id']}/cancel", {"cancellation_type": "immediate"})
    balance = tenant.get(f"/v1/wallets/{wallet['id']}/balance").json()
    assert balance["balance"] == "20.81"  # 30.00 × 21.5 / 31 = 20.806… → 20.81
    assert cancelled.json()["total_credit_amount"] == "20.81"


def test_pause_and_resume_shift_the_period_end(tenant: Tenant, client: Any, app: Any) -> None:
    from api.deps import now

    sub = factories.subscription(tenant, start_date="2025-03-01T00:00:00Z")
    answered = tenant.post(f"/v1/subscriptions/{sub['id']}/pause", {"reason": "holiday"}).json()
    paused, pause = answered["subscription"], answered["pause"]
    assert (paused["subscription_status"], paused["pause_status"]) == ("paused", "active")
    assert (pause["id"], pause["pause_status"], pause["reason"]) == (
        paused["active_pause_id"],
        "active",
        "holiday",
    )
    assert pause["pause_start"] == "2025-03-10T12:00:00Z" and pause["resumed_at"] is None
    assert tenant.post(f"/v1/subscriptions/{sub['id']}/pause", {}).status_code == 409
    later = FROZEN_NOW.replace(day=13)
    app.dependency_overrides[now] = lambda: later
    try:
        answered = tenant.post(f"/v1/subscriptions/{sub['id']}/resume", {}).json()
    finally:
        app.dependency_overrides[now] = lambda: FROZEN_NOW
    resumed = answered["subscription"]
    assert resumed["subscription_status"] == "active" and resumed["pause_status"] == "none"
    assert (answered["pause"]["id"], answered["pause"]["pause_status"]) == (pause["id"], "completed")
    assert answered["pause"]["resumed_at"] == "2025-03-13T12:00:00Z"
    assert resumed["current_period_end"] == "2025-04-04T00:00:00Z"  # 3 days paused
    assert tenant.post(f"/v1/subscriptions/{sub['id']}/resume", {}).status_code == 409


def test_list_filters_by_customer_and_status(tenant: Tenant) -> None:
    first = factories.subscription(tenant)
    factories.subscription(tenant)
    page = tenant.get("/v1/subscriptions", customer_id=first["customer_id"]).json()
    assert [s["id"] for s in page["items"]] == [first["id"]] and page["items"][0]["line_items"]
    assert tenant.get("/v1/subscriptions", subscription_status="cancelled").json()["pagination"]["total"] == 0


def _coupon_associations(t: Tenant, subscription_id: str) -> list[str]:
    from flexprice_pipelines.catalog import Repository
    from flexprice_pipelines.catalog.models import CouponAssociation

    with t.app.state.database.session() as session:
        rows = Repository(session, t.scope, CouponAssociation).list(subscription_id=subscription_id).items
        return [row.coupon_id for row in rows]


def test_coupons_attach_at_creation_and_count_a_redemption(tenant: Tenant) -> None:
    coupon = factories.coupon(tenant)
    sub = factories.subscription(tenant, coupons=[coupon["id"]], start_date="2024-03-01T00:00:00Z")
    assert _coupon_associations(tenant, sub["id"]) == [coupon["id"]]
    assert tenant.get(f"/v1/coupons/{coupon['id']}").json()["total_redemptions"] == 1


def test_coupon_errors_name_the_list_entry(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = factories.coupon(tenant)
    theirs = factories.coupon(other_tenant)
    capped = tenant.created(
        "/v1/coupons",
        {"name": "One", "type": "fixed", "amount_off": "5", "currency": "usd", "max_redemptions": 1},
    )
    euro = tenant.created(
        "/v1/coupons", {"name": "Euro", "type": "fixed", "amount_off": "5", "currency": "eur"}
    )
    factories.subscription(tenant, coupons=[capped["id"]])
    base = {"customer_id": factories.customer(tenant)["id"], "plan_id": _plan(tenant)["id"],
            "currency": "usd", "billing_period": "MONTHLY"}  # fmt: skip
    cases = [
        ([mine["id"], theirs["id"]], 404, "body.coupons.1"),  # another tenant's coupon is never revealed
        (["coupon_missing"], 404, "body.coupons.0"),
        ([mine["id"], mine["id"]], 400, "body.coupons.1"),
        ([capped["id"]], 400, "body.coupons.0"),
        ([euro["id"]], 400, "body.coupons.0"),
    ]
    for coupons, status, field in cases:
        response = tenant.post("/v1/subscriptions", {**base, "coupons": coupons})
        assert response.status_code == status, (coupons, response.text)
        assert [d["field"] for d in response.json()["details"]] == [field]
    # Nothing of a rejected request was kept: no subscription, no redemption counted.
    assert tenant.get("/v1/subscriptions", customer_id=base["customer_id"]).json()["pagination"]["total"] == 0
    assert tenant.get(f"/v1/coupons/{mine['id']}").json()["total_redemptions"] == 0
