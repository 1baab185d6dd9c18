"""Usage reads over the real warehouse (DuckDB file and ClickHouse through chdb): aggregation per window and
group, raw-event pages, look-ups, analytics, the read-model summary, tenant isolation, 400s naming the
field, and reads while another process holds the DuckDB file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from api.clients import WarehouseReads
from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.warehouse.base import Warehouse
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.api.conftest import FROZEN_NOW, Tenant
from tests.warehouse.shared import fresh_clickhouse

pytestmark = [pytest.mark.timeout(120)]
HOUR = timedelta(hours=1)


def _iso(delta: timedelta) -> str:
    return (FROZEN_NOW + delta).isoformat().replace("+00:00", "Z")


@pytest.fixture(params=["duckdb", "clickhouse"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path, app: FastAPI) -> Iterator[Warehouse]:
    """The app's usage reads over a fresh real warehouse of each engine."""
    store: Warehouse
    if request.param == "duckdb":
        store = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
        store.ensure_schema()
    else:
        store = fresh_clickhouse()
    previous = getattr(app.state, "warehouse", None)
    app.state.warehouse = WarehouseReads.of(store)
    yield store
    app.state.warehouse = previous


def event(tenant: Tenant, event_id: str, at: timedelta, **fields: Any) -> Event:
    values: dict[str, Any] = {
        "tenant_id": tenant.scope.tenant_id,
        "environment_id": tenant.scope.environment_id,
        "event_id": event_id,
        "event_name": "api_call",
        "external_customer_id": "cust-1",
        "customer_id": None,
        "timestamp": FROZEN_NOW + at,
        "source": "web",
        "properties": {},
        "ingested_at": FROZEN_NOW,
    }
    values.update(fields)
    return Event(**values)


@pytest.fixture
def history(warehouse: Warehouse, tenant: Tenant, other_tenant: Tenant) -> Warehouse:
    """Six events of the tenant over three hours, plus look-alikes of another tenant that must never count."""
    mine = [
        event(tenant, "e1", -3 * HOUR, properties={"tokens": "1.25", "region": "eu"}),
        event(tenant, "e2", -3 * HOUR + timedelta(minutes=30), properties={"tokens": 2, "region": "us"}),
        event(tenant, "e3", -2 * HOUR, properties={"tokens": "0.5", "region": "eu"}, source="api"),
        event(tenant, "e4", -1 * HOUR, properties={"tokens": 10, "region": "eu"}),
        event(
            tenant,
            "e5",
            -1 * HOUR + timedelta(minutes=1),
            properties={"tokens": 3, "region": "us"},
            external_customer_id="cust-2",
        ),
        event(tenant, "other", -1 * HOUR, event_name="login", properties={"tokens": 99}),
        # a re-sent e2 with a new value replaces the first version (latest ingested_at wins)
        event(
            tenant,
            "e2",
            -3 * HOUR + timedelta(minutes=30),
            properties={"tokens": "2.75", "region": "us"},
            ingested_at=FROZEN_NOW + timedelta(seconds=1),
        ),
    ]
    theirs = [
        event(other_tenant, f"x{i}", -2 * HOUR, properties={"tokens": 1000, "region": "eu"}) for i in range(3)
    ]
    theirs.append(event(other_tenant, "e1", -2 * HOUR, properties={"tokens": 1000}))
    warehouse.insert_events(mine + theirs)
    return warehouse


def test_usage_per_window_and_group_is_exact_and_tenant_scoped(history: Warehouse, tenant: Tenant) -> None:
    body = {
        "event_name": "api_call",
        "aggregation_type": "SUM",
        "property_name": "tokens",
        "start_time": _iso(-4 * HOUR),
        "end_time": _iso(timedelta(0)),
        "window_size": "HOUR",
    }
    response = tenant.post("/v1/events/usage", body)
    assert response.status_code == 200, response.text
    answer = response.json()
    # 1.25 + 2.75 (the re-sent e2) + 0.5 + 10 + 3; the other tenant's 4000 never counts
    assert (answer["value"], answer["event_count"], answer["type"]) == ("17.5", 5, "SUM")
    assert [(r["window_size"], r["value"], r["event_count"]) for r in answer["results"]] == [
        (_iso(-3 * HOUR), "4", 2),
        (_iso(-2 * HOUR), "0.5", 1),
        (_iso(-1 * HOUR), "13", 2),
    ]

    grouped = tenant.post(
        "/v1/events/usage",
        {**body, "window_size": None, "group_by": ["properties.region", "source"], "aggregation_type": "MAX"},
    ).json()
    assert grouped["value"] == "10"
    assert {
        (r["group"]["properties.region"], r["group"]["source"]): r["value"] for r in grouped["results"]
    } == {
        ("eu", "api"): "0.5",
        ("eu", "web"): "10",
        ("us", "web"): "3",
    }

    one_customer = tenant.post(
        "/v1/events/usage", {**body, "external_customer_id": "cust-2", "filters": {"region": ["us"]}}
    ).json()
    assert (one_customer["value"], one_customer["event_count"]) == ("3", 1)

    for aggregation, expected in [("COUNT", "5"), ("AVG", "3.5"), ("COUNT_UNIQUE", "5"), ("LATEST", "3")]:
        got = tenant.post("/v1/events/usage", {**body, "window_size": None, "aggregation_type": aggregation})
        assert got.json()["value"] == expected, (aggregation, got.text)
    multiplied = tenant.post(
        "/v1/events/usage",
        {**body, "window_size": None, "aggregation_type": "SUM_WITH_MULTIPLIER", "multiplier": "0.1"},
    ).json()
    assert multiplied["value"] == "1.75"


def test_the_range_is_half_open(history: Warehouse, tenant: Tenant) -> None:
    body = {"event_name": "api_call", "aggregation_type": "COUNT"}
    # e4 sits exactly at -1h: excluded as an end, included as a start
    before = tenant.post("/v1/events/usage", {**body, "start_time": _iso(-4 * HOUR), "end_time": _iso(-HOUR)})
    after = tenant.post("/v1/events/usage", {**body, "start_time": _iso(-HOUR), "end_time": _iso(HOUR)})
    assert (before.json()["value"], after.json()["value"]) == ("3", "2")


def test_usage_by_meter_applies_the_meters_aggregation_and_filters(
    history: Warehouse, tenant: Tenant
) -> None:
    meter = tenant.created(
        "/v1/meters",
        {
            "event_name": "api_call",
            "name": "EU tokens",
            "aggregation": {"type": "SUM", "field": "tokens"},
            "filters": [{"key": "region", "values": ["eu"]}],
        },
    )
    customer = tenant.created("/v1/customers", {"external_id": "cust-1", "name": "One"})
    body = {"meter_id": meter["id"], "start_time": _iso(-4 * HOUR), "end_time": _iso(timedelta(0))}
    answer = tenant.post("/v1/events/usage/meter", {**body, "window_size": "DAY"}).json()
    assert (answer["value"], answer["type"], answer["event_name"]) == ("11.75", "SUM", "api_call")
    assert [(r["window_size"], r["value"]) for r in answer["results"]] == [(_iso(-12 * HOUR), "11.75")]
    by_customer = tenant.post("/v1/events/usage/meter", {**body, "customer_id": customer["id"]}).json()
    assert by_customer["value"] == "11.75"  # cust-2's event is in the US anyway; cust-1's EU: 1.25 + 0.5 + 10
    filtered = tenant.post("/v1/events/usage/meter", {**body, "filters": {"tokens": ["10"]}}).json()
    assert filtered["value"] == "10"


def test_another_tenants_meter_and_customer_are_not_found(
    history: Warehouse, tenant: Tenant, other_tenant: Tenant
) -> None:
    meter = other_tenant.created(
        "/v1/meters", {"event_name": "api_call", "name": "n", "aggregation": {"type": "COUNT"}}
    )
    assert tenant.post("/v1/events/usage/meter", {"meter_id": meter["id"]}).status_code == 404
    theirs = other_tenant.created("/v1/customers", {"external_id": "cust-1", "name": "Theirs"})
    response = tenant.post(
        "/v1/events/usage",
        {"event_name": "api_call", "aggregation_type": "COUNT", "customer_id": theirs["id"]},
    )
    assert response.status_code == 404 and "customer_id" in response.text


def test_raw_events_are_paged_newest_first_and_looked_up_by_id(
    history: Warehouse, tenant: Tenant, other_tenant: Tenant
) -> None:
    window = {"start_time": _iso(-4 * HOUR), "end_time": _iso(timedelta(0))}
    first = tenant.post("/v1/events/query", {**window, "event_name": "api_call", "page_size": 2}).json()
    assert (first["total_count"], first["has_more"], first["offset"]) == (5, True, 0)
    # newest first
    assert [e["id"] for e in first["events"]] == ["e5", "e4"]
    last = tenant.post("/v1/events/query", {**window, "event_name": "api_call", "page_size": 2, "offset": 4})
    assert [e["id"] for e in last.json()["events"]] == ["e1"] and last.json()["has_more"] is False
    e2 = tenant.post("/v1/events/query", {**window, "event_id": "e2"}).json()["events"]
    assert e2[0]["properties"] == {"tokens": "2.75", "region": "us"}  # the latest version, exact
    assert e2[0]["timestamp"] == _iso(-3 * HOUR + timedelta(minutes=30))

    listed = tenant.get(
        "/v1/events", property_filters="region:us", order="asc", start_time=window["start_time"]
    ).json()
    assert [e["id"] for e in listed["events"]] == ["e2", "e5"]
    assert listed["total_count"] == 2

    assert other_tenant.post("/v1/events/query", window).json()["total_count"] == 4  # their own only
    found = tenant.get("/v1/events/lookup", id="e1").json()
    assert (found["event"]["id"], found["event"]["properties"], found["status"]) == (
        "e1",
        {"tokens": "1.25", "region": "eu"},
        "processed",
    )
    assert other_tenant.get("/v1/events/lookup", id="e1").json()["event"]["properties"] == {"tokens": 1000}
    missing = tenant.get("/v1/events/lookup", id="x0")  # another tenant's id
    assert missing.status_code == 404


def test_bad_windows_ranges_and_pages_are_400_naming_the_field(history: Warehouse, tenant: Tenant) -> None:
    usage = {"event_name": "api_call", "aggregation_type": "COUNT"}
    cases = [
        ("/v1/events/usage", {**usage, "start_time": _iso(HOUR), "end_time": _iso(HOUR)}, "start_time"),
        ("/v1/events/usage", {**usage, "start_time": _iso(2 * HOUR), "end_time": _iso(HOUR)}, "start_time"),
        ("/v1/events/usage", {**usage, "window_size": "FORTNIGHT"}, "window_size"),
        (
            "/v1/events/usage",
            {**usage, "start_time": _iso(-3000 * 24 * HOUR), "window_size": "MINUTE"},
            "window_size",
        ),
        ("/v1/events/usage", {**usage, "aggregation_type": "MEDIAN"}, "aggregation_type"),
        ("/v1/events/usage", {**usage, "aggregation_type": "SUM"}, "property_name"),
        ("/v1/events/usage", {**usage, "group_by": ["customer"]}, "group_by"),
        ("/v1/events/usage", {**usage, "filters": {"region": []}}, "filters.region"),
        (
            "/v1/events/usage",
            {
                **usage,
                "aggregation_type": "SUM_WITH_MULTIPLIER",
                "property_name": "tokens",
                "multiplier": "x",
            },
            "multiplier",
        ),
        ("/v1/events/query", {"page_size": 51}, "page_size"),
        ("/v1/events/query", {"page_size": 0}, "page_size"),
        ("/v1/events/query", {"offset": -1}, "offset"),
        ("/v1/events/query", {"sort": "size"}, "sort"),
        ("/v1/events/query", {"order": "up"}, "order"),
        ("/v1/events/analytics", {"external_customer_id": "cust-1", "group_by": ["plan"]}, "group_by"),
    ]
    for path, body, field in cases:
        response = tenant.post(path, body)
        assert response.status_code == 400, (body, response.text)
        assert field in response.text, (field, response.text)
    assert tenant.get("/v1/events", page_size=500).status_code == 400
    bad_filter = tenant.get("/v1/events", property_filters="region")
    assert bad_filter.status_code == 400 and "property_filters" in bad_filter.text


def test_analytics_per_feature_window_and_source(history: Warehouse, tenant: Tenant) -> None:
    meter = tenant.created(
        "/v1/meters",
        {"event_name": "api_call", "name": "Tokens", "aggregation": {"type": "SUM", "field": "tokens"}},
    )
    feature = tenant.created(
        "/v1/features", {"name": "Tokens", "type": "metered", "meter_id": meter["id"], "lookup_key": "tokens"}
    )
    body = {
        "external_customer_id": "cust-1",
        "start_time": _iso(-4 * HOUR),
        "end_time": _iso(timedelta(0)),
        "window_size": "HOUR",
        "group_by": ["feature_id", "source"],
    }
    response = tenant.post("/v1/events/analytics", body)
    assert response.status_code == 200, response.text
    items = {item["source"]: item for item in response.json()["items"]}
    assert set(items) == {"web", "api"}
    web = items["web"]
    assert (web["feature_id"], web["total_usage"], web["event_count"]) == (feature["id"], "14", 3)
    assert [(p["timestamp"], p["usage"]) for p in web["points"]] == [
        (_iso(-3 * HOUR), "4"),
        (_iso(-HOUR), "10"),
    ]
    assert items["api"]["total_usage"] == "0.5"
    only_api = tenant.post("/v1/events/analytics", {**body, "group_by": None, "sources": ["api"]}).json()
    assert [(i["total_usage"], len(i["points"])) for i in only_api["items"]] == [("0.5", 1)]
    unknown = tenant.post("/v1/events/analytics", {**body, "feature_ids": ["feat_nope"]})
    assert unknown.status_code == 404 and "feature_ids" in unknown.text


def test_customer_usage_summary_is_routed_before_customer_ids(tenant: Tenant, other_tenant: Tenant) -> None:
    customer = tenant.created("/v1/customers", {"external_id": "summary-1", "name": "Summary"})
    by_id = tenant.get("/v1/customers/usage", customer_id=customer["id"])
    assert by_id.status_code == 200, by_id.text
    assert by_id.json() == {"customer_id": customer["id"], "features": []}
    by_key = tenant.get("/v1/customers/usage", customer_lookup_key="summary-1")
    assert by_key.json()["customer_id"] == customer["id"]
    assert other_tenant.get("/v1/customers/usage", customer_id=customer["id"]).status_code == 404
    neither = tenant.get("/v1/customers/usage")
    assert neither.status_code == 400 and "customer_id" in neither.text
    assert tenant.get(f"/v1/customers/{customer['id']}").json()["id"] == customer["id"]  # ids still work


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    import duckdb
    from flexprice_pipelines.events.schema import Event
    from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse

    path, mode, tenant, env, hold = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
    now = datetime(2025, 3, 10, 11, 30, tzinfo=UTC)
    late = Event(tenant_id=tenant, environment_id=env, event_id="late", event_name="api_call",
                 external_customer_id="cust-1", customer_id=None, timestamp=now, source="web",
                 properties={"tokens": 100}, ingested_at=now)
    if mode == "sink":  # the sink's turn: one connection held across batches
        store = DuckDBWarehouse(path)
        with store.holding():
            store.insert_events([late])
            print("holding", flush=True)
            time.sleep(hold)
    else:  # a process outside the turn protocol holding the file's write lock
        conn = duckdb.connect(path)
        conn.execute("INSERT INTO raw_events SELECT $1, $2, 'late', 'api_call', 'cust-1', NULL, "
                     "TIMESTAMPTZ '2025-03-10 11:30:00+00', 'web', '{\\"tokens\\":100}', "
                     "TIMESTAMPTZ '2025-03-10 11:30:00+00'", [tenant, env])
        print("holding", flush=True)
        time.sleep(hold)
        conn.close()
    """
)


@pytest.mark.parametrize("mode", ["sink", "outside"])
def test_a_read_waits_for_a_writer_holding_the_duckdb_file(
    mode: str, tmp_path: Path, app: FastAPI, tenant: Tenant
) -> None:
    path = tmp_path / "warehouse.duckdb"
    store = DuckDBWarehouse(path)
    store.ensure_schema()
    store.insert_events([event(tenant, "e1", -HOUR, properties={"tokens": 1})])
    previous = getattr(app.state, "warehouse", None)
    app.state.warehouse = WarehouseReads.of(store)
    hold = 1.5
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _HOLDER,
            str(path),
            mode,
            tenant.scope.tenant_id,
            tenant.scope.environment_id,
            str(hold),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
        started = time.monotonic()
        body = {"event_name": "api_call", "aggregation_type": "SUM", "property_name": "tokens"}
        response = tenant.post("/v1/events/usage", body)
        waited = time.monotonic() - started
        assert response.status_code == 200, response.text
        # the read waited for the writer, then saw its committed event: 1 + 100
        assert response.json()["value"] == "101"
        assert waited > hold / 2
        assert writer.wait(timeout=30) == 0
    finally:
        app.state.warehouse = previous
        if writer.poll() is None:
            writer.kill()
            writer.wait()


def test_a_read_answers_503_when_the_file_stays_held(tmp_path: Path, app: FastAPI, tenant: Tenant) -> None:
    path = tmp_path / "warehouse.duckdb"
    DuckDBWarehouse(path).ensure_schema()
    previous = getattr(app.state, "warehouse", None)
    app.state.warehouse = WarehouseReads.of(DuckDBWarehouse(path, lock_timeout=0.5))
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _HOLDER,
            str(path),
            "sink",
            tenant.scope.tenant_id,
            tenant.scope.environment_id,
            "5",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
        response = tenant.post("/v1/events/usage", {"event_name": "api_call", "aggregation_type": "COUNT"})
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    finally:
        app.state.warehouse = previous
        writer.kill()
        writer.wait()


def test_decimal_values_stay_exact(warehouse: Warehouse, tenant: Tenant) -> None:
    warehouse.insert_events(
        [event(tenant, f"d{i}", -HOUR, properties={"tokens": "0.1"}) for i in range(3)]
        + [event(tenant, "big", -HOUR, properties={"tokens": "12345678901234567890.000000000001"})]
    )
    body = {"event_name": "api_call", "aggregation_type": "SUM", "property_name": "tokens"}
    assert tenant.post("/v1/events/usage", body).json()["value"] == "12345678901234567890.300000000001"
    assert Decimal(
        tenant.post("/v1/events/usage", {**body, "aggregation_type": "MAX"}).json()["value"]
    ) == Decimal("12345678901234567890.000000000001")


def test_a_customers_wallets_are_listed_only_for_its_tenant(tenant: Tenant, other_tenant: Tenant) -> None:
    customer = tenant.created("/v1/customers", {"external_id": "w-1", "name": "Wallets"})
    other = tenant.created("/v1/customers", {"external_id": "w-2", "name": "Other"})
    made = [
        tenant.created("/v1/wallets", {"customer_id": customer["id"], "currency": currency})
        for currency in ("usd", "eur")
    ]
    tenant.created("/v1/wallets", {"customer_id": other["id"], "currency": "usd"})
    response = tenant.get(f"/v1/customers/{customer['id']}/wallets")
    assert response.status_code == 200, response.text
    assert [(w["id"], w["currency"]) for w in response.json()] == [(w["id"], w["currency"]) for w in made]
    assert other_tenant.get(f"/v1/customers/{customer['id']}/wallets").status_code == 404


def _apply_to_read_model(app: FastAPI, events: list[Event]) -> None:
    """Apply events as the sink's listener does: one write transaction of the usage updater."""
    from flexprice_pipelines.catalog.db import SQLITE_IMMEDIATE
    from flexprice_pipelines.usage.updater import UsageUpdater

    with app.state.database.session() as session:
        session.connection(execution_options={SQLITE_IMMEDIATE: True})
        UsageUpdater(config_ttl=0).apply(session, events)
        session.commit()


@pytest.fixture
def uncached_service(app: FastAPI) -> Iterator[None]:
    from flexprice_pipelines.usage.service import EntitlementService

    previous = app.state.entitlement_service
    app.state.entitlement_service = EntitlementService(config_ttl=0)
    yield
    app.state.entitlement_service = previous


@pytest.mark.usefixtures("uncached_service")
def test_subscription_usage_and_real_time_wallet_balance_price_the_current_period(
    app: FastAPI, tenant: Tenant, other_tenant: Tenant
) -> None:
    from tests.api import factories

    meter = factories.meter(tenant)
    plan = factories.plan(tenant, prices=[factories.fixed_price(), factories.tiered_price(meter["id"])])
    customer = tenant.created("/v1/customers", {"external_id": "rt-1", "name": "Real time"})
    subscription = tenant.created(
        "/v1/subscriptions",
        {
            "customer_id": customer["id"],
            "plan_id": plan["id"],
            "currency": "usd",
            "billing_period": "MONTHLY",
            "start_date": _iso(-5 * 24 * HOUR),
        },
    )
    # 12 calls in the current period: 10 × 50 + 2 × 40 on the slab tiers; one call of another customer
    calls = [event(tenant, f"rt{i}", -HOUR * (i + 1), external_customer_id="rt-1") for i in range(12)]
    calls.append(event(tenant, "someone-else", -HOUR, external_customer_id="rt-2"))
    _apply_to_read_model(app, calls)

    response = tenant.post("/v1/subscriptions/usage", {"subscription_id": subscription["id"]})
    assert response.status_code == 200, response.text
    usage = response.json()
    assert (usage["amount"], usage["currency"]) == ("580", "usd")
    assert [(c["meter_id"], c["quantity"], c["amount"]) for c in usage["charges"]] == [
        (meter["id"], "12", "580")
    ]
    assert usage["start_time"] <= _iso(-5 * 24 * HOUR) < usage["end_time"]
    assert (
        other_tenant.post("/v1/subscriptions/usage", {"subscription_id": subscription["id"]}).status_code
        == 404
    )

    wallet = tenant.created("/v1/wallets", {"customer_id": customer["id"], "currency": "usd"})
    assert tenant.post(f"/v1/wallets/{wallet['id']}/top-up", {"credits_to_add": "1000"}).status_code == 200
    balance = tenant.get(f"/v1/wallets/{wallet['id']}/balance/real-time")
    assert balance.status_code == 200, balance.text
    got = balance.json()
    assert (got["current_period_usage"], got["real_time_balance"], got["real_time_credit_balance"]) == (
        "580",
        "420",
        "420",
    )
    assert other_tenant.get(f"/v1/wallets/{wallet['id']}/balance/real-time").status_code == 404

    # The plan includes 5 calls of the metered feature: 7 are billable, as the invoice will bill them (§6).
    feature = tenant.created("/v1/features", {"name": "Calls", "type": "metered", "meter_id": meter["id"]})
    tenant.created(
        "/v1/entitlements",
        {
            "entity_type": "PLAN",
            "entity_id": plan["id"],
            "feature_id": feature["id"],
            "feature_type": "metered",
            "usage_limit": 5,
            "usage_reset_period": "MONTHLY",
        },
    )
    usage = tenant.post("/v1/subscriptions/usage", {"subscription_id": subscription["id"]}).json()
    assert [(c["quantity"], c["amount"], c["price"]["id"]) for c in usage["charges"]] == [
        ("7", "350", usage["charges"][0]["price_id"])
    ]
    got = tenant.get(f"/v1/wallets/{wallet['id']}/balance/real-time").json()
    assert (got["current_period_usage"], got["real_time_balance"]) == ("350", "650")
