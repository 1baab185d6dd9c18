"""Entitlement routes end to end: events through the read model's updater, answers through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from tests.usage.api.conftest import FROZEN_NOW, Tenant, ingest
from tests.usage.seed import (
    create_customer,
    create_feature,
    create_meters,
    create_plan,
    event,
    subscribe,
    uid,
)

SUB_START = datetime(2025, 2, 20, 8, 0, tzinfo=UTC)
COUNT_METER = {"calls": {"event_name": "call", "aggregation": {"type": "COUNT"}}}


class World:
    """One tenant's catalog: a COUNT meter with its feature, and helpers to grant and use it."""

    def __init__(self, app: FastAPI, session: Session, t: Tenant) -> None:
        self.app, self.session, self.t = app, session, t
        catalog = create_meters(session, t.scope, COUNT_METER)
        self.meter = catalog.meters["calls"]
        self.feature = catalog.features["calls"]
        self.customer = create_customer(session, t.scope)
        self.ingested = 0

    def grant(self, start: datetime = SUB_START, **entitlement: Any) -> Any:
        values = {"feature_id": self.feature.id, "feature_type": "metered", **entitlement}
        plan = create_plan(self.session, self.t.scope, [values])
        return subscribe(self.session, self.t.scope, self.customer, plan, start)

    def use(self, *timestamps: datetime) -> None:
        events = []
        for ts in timestamps:
            self.ingested += 1
            events.append(
                event(
                    self.t.scope,
                    self.customer.external_id,
                    uid("e"),
                    ts,
                    FROZEN_NOW + timedelta(microseconds=self.ingested),
                )
            )
        ingest(self.app, events)

    def check(self, **body: Any) -> Any:
        return self.t.post(
            "/v1/entitlements/check", {"customer_id": self.customer.id, "feature_id": self.feature.id, **body}
        )


@pytest.fixture
def world(app: FastAPI, db_session: Session, tenant: Tenant) -> World:
    return World(app, db_session, tenant)


AN_HOUR_AGO = FROZEN_NOW - timedelta(hours=1)


def test_hard_limit_blocks_at_the_limit(world: World) -> None:
    world.grant(usage_limit=3, usage_reset_period="MONTHLY")
    world.use(AN_HOUR_AGO, AN_HOUR_AGO)
    body = world.check().json()
    assert body["allowed"] is True and body["reason"] == "within_limit"
    assert (body["usage_limit"], body["current_usage"], body["remaining"]) == (3, "2", "1")
    assert body["next_usage_reset_at"] == "2025-03-20T08:00:00Z"

    world.use(AN_HOUR_AGO)
    body = world.check().json()
    assert (body["allowed"], body["reason"], body["remaining"]) == (False, "limit_reached", "0")


def test_soft_limit_allows_beyond_the_limit(world: World) -> None:
    world.grant(usage_limit=1, usage_reset_period="MONTHLY", is_soft_limit=True)
    world.use(AN_HOUR_AGO, AN_HOUR_AGO)
    body = world.check().json()
    assert (body["allowed"], body["reason"], body["is_soft_limit"], body["current_usage"]) == (
        True,
        "soft_limit_exceeded",
        True,
        "2",
    )


def test_unlimited_and_disabled(world: World) -> None:
    world.grant(usage_limit=None)
    world.use(AN_HOUR_AGO)
    body = world.check().json()
    assert (body["allowed"], body["reason"], body["usage_limit"], body["remaining"]) == (
        True,
        "unlimited",
        None,
        None,
    )

    other = World(world.app, world.session, world.t)
    other.grant(usage_limit=10, is_enabled=False)
    body = other.check().json()
    assert (body["allowed"], body["reason"], body["is_enabled"]) == (False, "disabled", False)


def test_feature_without_entitlement_is_disabled(world: World) -> None:
    body = world.check().json()
    assert (body["allowed"], body["reason"], body["is_enabled"]) == (False, "disabled", False)


def test_boolean_and_static_features(world: World) -> None:
    flag = create_feature(world.session, world.t.scope, "boolean")
    tier = create_feature(world.session, world.t.scope, "static")
    plan = create_plan(
        world.session,
        world.t.scope,
        [
            {"feature_id": flag.id, "feature_type": "boolean"},
            {"feature_id": tier.id, "feature_type": "static", "static_value": "gold"},
        ],
    )
    subscribe(world.session, world.t.scope, world.customer, plan, SUB_START)
    response = world.t.post(
        "/v1/entitlements/check/batch",
        {
            "external_customer_id": world.customer.external_id,
            "features": [{"feature_id": flag.id}, {"feature_lookup_key": tier.lookup_key}],
        },
    )
    assert response.status_code == 200, response.text
    flag_result, tier_result = response.json()["results"]
    assert (flag_result["feature_id"], flag_result["allowed"], flag_result["reason"]) == (
        flag.id,
        True,
        "enabled",
    )
    assert (tier_result["feature_id"], tier_result["static_values"], tier_result["usage_limit"]) == (
        tier.id,
        ["gold"],
        None,
    )


def test_limits_of_several_subscriptions_are_summed_usage_counted_once(world: World) -> None:
    world.grant(usage_limit=2, usage_reset_period="MONTHLY")
    world.grant(start=SUB_START + timedelta(days=1), usage_limit=3, usage_reset_period="MONTHLY")
    world.use(AN_HOUR_AGO, AN_HOUR_AGO, AN_HOUR_AGO, AN_HOUR_AGO)
    body = world.check().json()
    assert (body["usage_limit"], body["current_usage"], body["remaining"], body["allowed"]) == (
        5,
        "4",
        "1",
        True,
    )
    # The earliest subscription's anchor defines the window.
    assert body["next_usage_reset_at"] == "2025-03-20T08:00:00Z"

    entitlements = world.t.get(f"/v1/customers/{world.customer.id}/entitlements").json()
    (feature,) = entitlements["features"]
    assert feature["entitlement"]["usage_limit"] == 5
    assert sorted(s["usage_limit"] for s in feature["sources"]) == [2, 3]
    assert {s["entity_type"] for s in feature["sources"]} == {"plan"}
    assert len(entitlements["subscriptions"]) == 2


def test_window_rollover(world: World) -> None:
    world.grant(usage_limit=2, usage_reset_period="DAILY")
    # The daily window runs from 08:00 (the anchor's clock) to 08:00: these two are yesterday's.
    world.use(datetime(2025, 3, 10, 7, 59, tzinfo=UTC), datetime(2025, 3, 9, 9, 0, tzinfo=UTC))
    body = world.check().json()
    assert (body["current_usage"], body["allowed"], body["next_usage_reset_at"]) == (
        "0",
        True,
        "2025-03-11T08:00:00Z",
    )
    world.use(datetime(2025, 3, 10, 8, 0, tzinfo=UTC), AN_HOUR_AGO)
    body = world.check().json()
    assert (body["current_usage"], body["allowed"]) == ("2", False)


def test_never_reset_is_cumulative(world: World) -> None:
    world.grant(usage_limit=100, usage_reset_period="NEVER")
    world.use(SUB_START, SUB_START + timedelta(days=3), AN_HOUR_AGO)
    body = world.check().json()
    assert (body["current_usage"], body["next_usage_reset_at"]) == ("3", None)


def test_usage_summary(world: World) -> None:
    world.grant(usage_limit=8, usage_reset_period="MONTHLY")
    world.use(AN_HOUR_AGO, AN_HOUR_AGO, AN_HOUR_AGO)
    response = world.t.get(f"/v1/customers/{world.customer.id}/usage")
    assert response.status_code == 200, response.text
    (summary,) = response.json()["features"]
    assert summary["feature"]["id"] == world.feature.id
    assert (
        summary["total_limit"],
        summary["is_unlimited"],
        summary["current_usage"],
        summary["usage_percent"],
    ) == (
        8,
        False,
        "3",
        "37.50",
    )
    assert (summary["is_enabled"], summary["is_soft_limit"], summary["next_usage_reset_at"]) == (
        True,
        False,
        "2025-03-20T08:00:00Z",
    )
    assert summary["sources"][0]["usage_limit"] == 8


def test_entitlements_by_external_id(world: World) -> None:
    world.grant(usage_limit=8, usage_reset_period="MONTHLY")
    by_id = world.t.get(f"/v1/customers/{world.customer.id}/entitlements").json()
    by_external = world.t.get(f"/v1/customers/external/{world.customer.external_id}/entitlements").json()
    assert by_id == by_external
    assert by_id["features"][0]["entitlement"] == {
        "is_enabled": True,
        "usage_limit": 8,
        "is_soft_limit": False,
        "usage_reset_period": "MONTHLY",
        "static_values": [],
    }


def test_unknown_customer_or_feature_is_404_naming_which(world: World) -> None:
    world.grant(usage_limit=1)
    cases = [
        ({"customer_id": "cust_nope", "feature_id": world.feature.id}, "customer_id"),
        ({"external_customer_id": "nope", "feature_id": world.feature.id}, "external_customer_id"),
        ({"customer_id": world.customer.id, "feature_id": "feat_nope"}, "feature_id"),
        ({"customer_id": world.customer.id, "feature_lookup_key": "nope"}, "feature_lookup_key"),
    ]
    for body, field in cases:
        response = world.t.post("/v1/entitlements/check", body)
        assert response.status_code == 404, response.text
        assert response.json()["details"][0]["field"] == field
    assert world.t.get("/v1/customers/cust_nope/usage").status_code == 404
    assert world.t.get("/v1/customers/external/nope/entitlements").status_code == 404


def test_check_needs_exactly_one_customer_and_feature(world: World) -> None:
    both = {"customer_id": world.customer.id, "external_customer_id": "x", "feature_id": world.feature.id}
    neither_feature = {"customer_id": world.customer.id}
    for body in (both, neither_feature, {**neither_feature, "features": []}):
        assert world.t.post("/v1/entitlements/check", body).status_code == 400
    assert (
        world.t.post(
            "/v1/entitlements/check/batch", {"customer_id": world.customer.id, "features": []}
        ).status_code
        == 400
    )


def test_tenant_isolation_on_every_route(world: World, other_tenant: Tenant) -> None:
    world.grant(usage_limit=5, usage_reset_period="MONTHLY")
    world.use(AN_HOUR_AGO)
    customer, feature = world.customer, world.feature
    requests = [
        ("GET", f"/v1/customers/{customer.id}/entitlements", None),
        ("GET", f"/v1/customers/external/{customer.external_id}/entitlements", None),
        ("GET", f"/v1/customers/{customer.id}/usage", None),
        ("POST", "/v1/entitlements/check", {"customer_id": customer.id, "feature_id": feature.id}),
        (
            "POST",
            "/v1/entitlements/check/batch",
            {"customer_id": customer.id, "features": [{"feature_id": feature.id}]},
        ),
    ]
    for method, path, body in requests:
        assert world.t.request(method, path, body).status_code == 200, path
        assert other_tenant.request(method, path, body).status_code == 404, path
        assert world.t.client.request(method, path, json=body).status_code == 401, path

    # Same external id in another tenant: its events and plans never leak into ours.
    theirs = World(world.app, world.session, other_tenant)
    theirs.customer.external_id  # noqa: B018
    ingest(
        world.app,
        [
            event(other_tenant.scope, customer.external_id, uid("x"), AN_HOUR_AGO, FROZEN_NOW)
            for _ in range(3)
        ],
    )
    assert world.check().json()["current_usage"] == "1"
    assert (
        other_tenant.post(
            "/v1/entitlements/check", {"customer_id": theirs.customer.id, "feature_id": theirs.feature.id}
        ).json()["current_usage"]
        == "0"
    )
