"""The whole product, driven as a user drives it, with invoices checked to the cent by hand.

One fresh ``FLEXPRICE_HOME`` (SQLite catalog, outbox bus, DuckDB warehouse):
``flexprice init`` → ``flexprice tenants create`` (A and B) → the catalog, customers, subscriptions and
a wallet through the REST API → usage events through ``/v1/events[/bulk]`` → ``flexprice sink --once``
→ ``flexprice bill`` for January and February 2025 with a frozen clock → invoices and PDFs read back
through ``flexprice api``; then ``flexprice bill`` again, which must change nothing.

The scenario replays February 2025, so the API process runs on a clock that starts at
``API_CLOCK`` (``shifted_api.py``): event timestamps are validated against it (35 days back) and the
wallet top-up is dated by it. ``flexprice bill --now BILL_NOW`` is after every billed period end plus the
2-hour grace, so every invoice finalizes. Nothing reads the wall clock's date.

Expected amounts are written out by hand below; the billing library is never called.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.e2e.harness import (
    client,
    create_tenant,
    flexprice,
    flexprice_api,
    flexprice_in_process,
    isolated_env,
    shifted_api,
)

pytestmark = pytest.mark.slow

API_CLOCK = "2025-02-28T01:00:00+00:00"
BILL_NOW = "2025-02-28T03:00:00+00:00"

# Acme (USD): anniversary on the 31st, so its periods are [Jan 31, Feb 28) then [Feb 28, Mar 31).
ACME_START = datetime(2025, 1, 31, tzinfo=UTC)
ACME_W1_END = datetime(2025, 2, 28, tzinfo=UTC)
ACME_W2_END = datetime(2025, 3, 31, tzinfo=UTC)
# Tokyo (JPY): calendar from Jan 27, so a short first period [Jan 27, Feb 1), then [Feb 1, Mar 1).
TOKYO_START = datetime(2025, 1, 27, tzinfo=UTC)
TOKYO_W1_END = datetime(2025, 2, 1, tzinfo=UTC)
TOKYO_W2_END = datetime(2025, 3, 1, tzinfo=UTC)

ACME_CALLS_BULK = 7_250
TOKYO_CALLS = 2_345
STORAGE_EVENTS = 120
SEAT_DAYS = 28


def iso(at: datetime) -> str:
    """RFC 3339 with an offset, microseconds kept (the only timestamp form the API accepts)."""
    return at.isoformat()


def call(event_id: str, customer: str, at: datetime) -> dict[str, Any]:
    """One ``api_call`` event."""
    return {
        "event_id": event_id,
        "event_name": "api_call",
        "external_customer_id": customer,
        "timestamp": iso(at),
        "properties": {"path": "/v1/completions"},
    }


def event(event_id: str, name: str, at: datetime, **properties: Any) -> dict[str, Any]:
    """One event of Acme's."""
    return {
        "event_id": event_id,
        "event_name": name,
        "external_customer_id": "acme",
        "timestamp": iso(at),
        "properties": properties,
    }


def acme_calls() -> list[dict[str, Any]]:
    # Every 4 minutes from the period start: i = 0 is exactly on the start boundary (inside, [start, end)),
    # i = 7,249 is 28,996 minutes ≈ 20.1 days later, still in [Jan 31, Feb 28).
    return [
        call(f"acme-call-{i}", "acme", ACME_START + timedelta(minutes=4 * i)) for i in range(ACME_CALLS_BULK)
    ]


def tokyo_calls() -> list[dict[str, Any]]:
    # Every 2 minutes from Jan 27 00:00: the last one is 4,688 minutes later (Jan 30), inside [Jan 27, Feb 1).
    return [
        call(f"tokyo-call-{i}", "tokyo", TOKYO_START + timedelta(minutes=2 * i)) for i in range(TOKYO_CALLS)
    ]


def storage_events() -> list[dict[str, Any]]:
    # Every 5 hours (the last at 595 h ≈ 24.8 days): regions cycle eu, us, ap → 40 of each.
    # eu sends a JSON number 2, us a numeric string "0.85", ap 100 (ap is filtered out by the meter).
    values = {"eu": 2, "us": "0.85", "ap": 100}
    out = []
    for i in range(STORAGE_EVENTS):
        region = ("eu", "us", "ap")[i % 3]
        at = ACME_START + timedelta(hours=5 * i)
        out.append(event(f"storage-{i}", "storage", at, region=region, gb=values[region]))
    # No gb at all: "no value", skipped by SUM; and one more us value.
    out.append(event("storage-no-gb", "storage", ACME_START + timedelta(days=3), region="eu"))
    out.append(event("storage-extra", "storage", ACME_START + timedelta(days=4), region="us", gb="3.07"))
    return out


def seat_events() -> list[dict[str, Any]]:
    # Day d of the period (d = 0..27) has three readings at 00:00 (the bucket's first instant), 08:00 and
    # 16:00: (d mod 4) + 1, (d mod 4) + 5 and 2, so the day's MAX is (d mod 4) + 5.
    out = []
    for d in range(SEAT_DAYS):
        day = ACME_START + timedelta(days=d)
        for hour, seats in ((0, d % 4 + 1), (8, d % 4 + 5), (16, 2)):
            out.append(event(f"seats-{d}-{hour}", "seats", day + timedelta(hours=hour), seats=seats))
    return out


@dataclass
class Cycle:
    """Everything the scenario produced, read back through the API."""

    tenant_a: dict[str, Any]
    tenant_b: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: httpx.Response | None = None
    warehouse: dict[str, Any] = field(default_factory=dict)
    bill_output: list[str] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    pdfs: dict[str, httpx.Response] = field(default_factory=dict)
    wallet_after_bill: dict[str, Any] = field(default_factory=dict)
    invoices_after_rerun: list[dict[str, Any]] = field(default_factory=list)
    wallet_after_rerun: dict[str, Any] = field(default_factory=dict)
    b_views: dict[str, Any] = field(default_factory=dict)
    a_views: dict[str, Any] = field(default_factory=dict)
    coupon_after_subscribe: dict[str, Any] = field(default_factory=dict)


def created(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def build_catalog(api: httpx.Client, cycle: Cycle) -> None:
    """Meters, feature, plan, prices, entitlement, coupon, taxes, customers, subscriptions, wallet."""
    ids = cycle.ids
    ids["calls"] = created(
        api.post(
            "/v1/meters",
            json={"event_name": "api_call", "name": "API calls", "aggregation": {"type": "COUNT"}},
        )
    )["id"]
    ids["storage"] = created(
        api.post(
            "/v1/meters",
            json={
                "event_name": "storage",
                "name": "Storage GB",
                "aggregation": {"type": "SUM", "field": "gb"},
                "filters": [{"key": "region", "values": ["eu", "us"]}],
            },
        )
    )["id"]
    ids["seats"] = created(
        api.post(
            "/v1/meters",
            json={
                "event_name": "seats",
                "name": "Peak seats",
                "aggregation": {"type": "MAX", "field": "seats", "bucket_size": "DAY"},
            },
        )
    )["id"]
    ids["feature"] = created(
        api.post(
            "/v1/features",
            json={
                "name": "API calls",
                "type": "metered",
                "lookup_key": "api_calls",
                "meter_id": ids["calls"],
            },
        )
    )["id"]
    monthly = {"billing_period": "MONTHLY"}
    fee = {"type": "FIXED", "billing_model": "FLAT_FEE", "invoice_cadence": "ADVANCE", **monthly}
    plan = created(
        api.post(
            "/v1/plans",
            json={
                "name": "Pro",
                "lookup_key": "pro",
                "prices": [
                    {**fee, "amount": "49.00", "currency": "usd", "description": "Platform fee"},
                    {**fee, "amount": "4900", "currency": "jpy", "description": "Platform fee"},
                ],
            },
        )
    )
    ids["plan"] = plan["id"]
    usage = {"type": "USAGE", "invoice_cadence": "ARREAR", "entity_id": ids["plan"], **monthly}
    slab = {**usage, "billing_model": "TIERED", "tier_mode": "SLAB", "meter_id": ids["calls"]}
    prices = [
        {
            **slab,
            "currency": "usd",
            "description": "API calls",
            "tiers": [
                {"up_to": 5000, "unit_amount": "0.01"},
                {"up_to": 20000, "unit_amount": "0.005"},
                {"up_to": None, "unit_amount": "0.002"},
            ],
        },
        {
            **slab,
            "currency": "jpy",
            "description": "API calls",
            "tiers": [
                {"up_to": 5000, "unit_amount": "1.5"},
                {"up_to": 20000, "unit_amount": "0.75"},
                {"up_to": None, "unit_amount": "0.3"},
            ],
        },
        {
            **usage,
            "billing_model": "PACKAGE",
            "amount": "2.50",
            "transform_quantity": {"divide_by": 10, "round": "up"},
            "currency": "usd",
            "meter_id": ids["storage"],
            "description": "Storage",
        },
        {
            **usage,
            "billing_model": "FLAT_FEE",
            "amount": "0.10",
            "currency": "usd",
            "meter_id": ids["seats"],
            "description": "Seats",
        },
    ]
    for price in prices:
        created(api.post("/v1/prices", json=price))
    created(
        api.post(
            "/v1/entitlements",
            json={
                "entity_type": "PLAN",
                "entity_id": ids["plan"],
                "feature_id": ids["feature"],
                "usage_limit": 1000,
                "usage_reset_period": "MONTHLY",
            },
        )
    )
    ids["coupon"] = created(
        api.post(
            "/v1/coupons",
            json={"name": "Launch 10%", "type": "percentage", "percentage_off": "10", "cadence": "forever"},
        )
    )["id"]
    ids["ny"] = created(
        api.post(
            "/v1/taxes/rates",
            json={
                "name": "NY sales tax",
                "code": "ny",
                "tax_rate_type": "percentage",
                "percentage_value": "8.875",
            },
        )
    )["id"]
    ids["jp"] = created(
        api.post(
            "/v1/taxes/rates",
            json={"name": "JP tax", "code": "jp", "tax_rate_type": "percentage", "percentage_value": "10.5"},
        )
    )["id"]
    for external_id, name in (("acme", "Acme Inc"), ("tokyo", "Tokyo KK")):
        ids[external_id] = created(
            api.post(
                "/v1/customers",
                json={"external_id": external_id, "name": name, "email": f"{external_id}@x.test"},
            )
        )["id"]
    for rate, customer in (("ny", "acme"), ("jp", "tokyo")):
        created(
            api.post(
                "/v1/taxes/associations",
                json={"tax_rate_id": ids[rate], "entity_type": "CUSTOMER", "entity_id": ids[customer]},
            )
        )
    sub = {"plan_id": ids["plan"], "billing_period": "MONTHLY"}
    cycle.subscriptions["acme"] = created(
        api.post(
            "/v1/subscriptions",
            json={
                **sub,
                "external_customer_id": "acme",
                "currency": "usd",
                "billing_cycle": "anniversary",
                "start_date": iso(ACME_START),
                # Flexprice's POST /subscriptions takes "coupons": [ids] (invoice-level, from the start).
                "coupons": [ids["coupon"]],
            },
        )
    )
    cycle.subscriptions["tokyo"] = created(
        api.post(
            "/v1/subscriptions",
            json={
                **sub,
                "external_customer_id": "tokyo",
                "currency": "jpy",
                "billing_cycle": "calendar",
                "start_date": iso(TOKYO_START),
            },
        )
    )
    ids["acme_sub"] = cycle.subscriptions["acme"]["id"]
    ids["tokyo_sub"] = cycle.subscriptions["tokyo"]["id"]
    ids["wallet"] = created(
        api.post("/v1/wallets", json={"external_customer_id": "acme", "currency": "usd", "name": "Prepaid"}),
        200,  # Flexprice documents 200 for a wallet create
    )["id"]
    top_up = api.post(
        f"/v1/wallets/{ids['wallet']}/top-up",
        json={"credits_to_add": "20", "idempotency_key": "acme-topup-1"},
    )
    assert top_up.status_code == 200, top_up.text
    cycle.coupon_after_subscribe = api.get(f"/v1/coupons/{ids['coupon']}").json()


def accepted(response: httpx.Response) -> None:
    assert response.status_code == 202, response.text


def send_events(api: httpx.Client, cycle: Cycle) -> None:
    """Several thousand events in 1,000-event batches, plus the edge cases one by one."""
    batch: list[dict[str, Any]] = [
        *acme_calls(),
        *tokyo_calls(),
        *storage_events(),
        *seat_events(),
        # Re-sent below with a timestamp in the next period: the latest ingested version must win.
        call("acme-call-moved", "acme", datetime(2025, 2, 10, 12, tzinfo=UTC)),
        # Before the subscription started: never billed.
        call("acme-call-early", "acme", ACME_START - timedelta(seconds=1)),
        # Tenant B's customer's external id, sent with A's key: an unknown customer of A's.
        call("stray-bravo", "bravo-1", datetime(2025, 2, 5, tzinfo=UTC)),
    ]
    for start in range(0, len(batch), 1000):
        accepted(api.post("/v1/events/bulk", json={"events": batch[start : start + 1000]}))
    # The same 100 events again, unchanged (a client retry): each id still counts once.
    accepted(api.post("/v1/events/bulk", json={"events": acme_calls()[:100]}))
    singles = [
        # The last microsecond of Acme's first period: inside.
        call("acme-call-last", "acme", ACME_W1_END - timedelta(microseconds=1)),
        # Exactly on the period ends: they belong to the next periods, which are not billed yet.
        call("acme-call-edge", "acme", ACME_W1_END),
        call("tokyo-call-edge", "tokyo", TOKYO_W1_END),
        event("seats-edge", "seats", ACME_W1_END, seats=100),
        event("storage-edge", "storage", ACME_W1_END, region="eu", gb=1000),
        # The re-send that moves acme-call-moved out of the first period.
        call("acme-call-moved", "acme", ACME_W1_END + timedelta(minutes=30)),
    ]
    for single in singles:
        accepted(api.post("/v1/events", json=single))
    # One bad event rejects its whole batch: the two good ones must not be billed either.
    cycle.rejected = api.post(
        "/v1/events/bulk",
        json={
            "events": [
                call("rejected-0", "acme", datetime(2025, 2, 3, tzinfo=UTC)),
                {**call("rejected-1", "acme", datetime(2025, 2, 3, tzinfo=UTC)), "event_name": "   "},
                call("rejected-2", "acme", datetime(2025, 2, 3, tzinfo=UTC)),
            ]
        },
    )


def read_warehouse(env: dict[str, str], cycle: Cycle) -> None:
    path = Path(env["FLEXPRICE_HOME"]) / "warehouse.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        cycle.warehouse["stray"] = con.execute(
            "SELECT tenant_id, environment_id, customer_id FROM raw_events_latest WHERE event_id = 'stray-bravo'"
        ).fetchall()
        cycle.warehouse["tenant_b_rows"] = con.execute(
            "SELECT count(*) FROM raw_events WHERE tenant_id = ?", [cycle.tenant_b["tenant_id"]]
        ).fetchone()
        cycle.warehouse["rejected"] = con.execute(
            "SELECT count(*) FROM raw_events WHERE event_id LIKE 'rejected-%'"
        ).fetchone()
        cycle.warehouse["latest_a"] = con.execute(
            "SELECT count(*) FROM raw_events_latest WHERE tenant_id = ?", [cycle.tenant_a["tenant_id"]]
        ).fetchone()
        cycle.warehouse["moved"] = con.execute(
            "SELECT \"timestamp\" FROM raw_events_latest WHERE event_id = 'acme-call-moved'"
        ).fetchall()


def all_invoices(api: httpx.Client) -> list[dict[str, Any]]:
    response = api.get("/v1/invoices", params={"limit": 1000})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return sorted(items, key=lambda inv: inv["id"])


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cycle]:
    """Run the whole cycle once; the tests below read what it left."""
    tmp = tmp_path_factory.mktemp("e2e")
    env = isolated_env(tmp / "home")
    with ExitStack() as outer:
        # Both servers start first so that their start-up overlaps `init`; they answer /health once the
        # catalog exists. The shifted one takes the writes, `flexprice api` the reads after billing.
        writer = outer.enter_context(shifted_api(env, API_CLOCK, tmp / "shifted_api.log"))
        reader = outer.enter_context(flexprice_api(env, tmp / "flexprice_api.log"))
        flexprice_in_process(env, "init")
        run = Cycle(tenant_a=create_tenant(env, "Tenant A"), tenant_b=create_tenant(env, "Tenant B"))
        key_a, key_b = run.tenant_a["api_key"], run.tenant_b["api_key"]
        tenant = run.tenant_a["tenant_id"]

        with client(writer.wait(), key_a) as api_a, client(writer.url, key_b) as api_b:
            build_catalog(api_a, run)
            bravo = api_b.post("/v1/customers", json={"external_id": "bravo-1", "name": "Bravo"})
            run.ids["bravo"] = created(bravo)["id"]
            send_events(api_a, run)
        writer.stop()

        flexprice(env, "sink", "--once", "--quiet")
        read_warehouse(env, run)
        bill = ["bill", "--tenant", tenant, "--now", BILL_NOW, "--period"]
        # January holds only the creation invoices (fixed fees, no usage window ends in it), so the
        # in-process usage engine is enough there; February's usage goes through the dbt models.
        run.bill_output.append(flexprice(env, *bill, "2025-01", "--engine", "python").stdout)
        run.bill_output.append(flexprice(env, *bill, "2025-02").stdout)

        api_a = outer.enter_context(client(reader.wait(), key_a))
        api_b = outer.enter_context(client(reader.url, key_b))
        run.invoices = all_invoices(api_a)
        for inv in run.invoices:
            run.details[inv["id"]] = api_a.get(f"/v1/invoices/{inv['id']}").json()
            run.pdfs[inv["id"]] = api_a.get(f"/v1/invoices/{inv['id']}/pdf")
        run.wallet_after_bill = api_a.get(f"/v1/wallets/{run.ids['wallet']}/balance").json()
        some_invoice = run.invoices[0]["id"] if run.invoices else "inv_missing"
        run.b_views = {
            "invoices": api_b.get("/v1/invoices").json(),
            "customers": api_b.get("/v1/customers").json(),
            "a_invoice": api_b.get(f"/v1/invoices/{some_invoice}").status_code,
            "a_invoice_pdf": api_b.get(f"/v1/invoices/{some_invoice}/pdf").status_code,
            "a_customer": api_b.get(f"/v1/customers/{run.ids['acme']}").status_code,
            "a_plan": api_b.get(f"/v1/plans/{run.ids['plan']}").status_code,
            "a_wallet": api_b.get(f"/v1/wallets/{run.ids['wallet']}").status_code,
            "subscriptions": api_b.get("/v1/subscriptions").json(),
            "meters": api_b.get("/v1/meters").json(),
        }
        run.a_views = {
            "bravo_by_external_id": api_a.get("/v1/customers/external/bravo-1").status_code,
            "b_customer": api_a.get(f"/v1/customers/{run.ids['bravo']}").status_code,
        }

        # February billed again: nothing finalized may change. Every invoice is final by now, so the
        # usage engine cannot matter; the quicker one keeps the test short.
        run.bill_output.append(flexprice(env, *bill, "2025-02", "--engine", "python").stdout)
        run.invoices_after_rerun = all_invoices(api_a)
        run.wallet_after_rerun = api_a.get(f"/v1/wallets/{run.ids['wallet']}/balance").json()
    yield run


def invoice(cycle: Cycle, subscription: str, reason: str) -> dict[str, Any]:
    sub_id = cycle.ids[f"{subscription}_sub"]
    [found] = [i for i in cycle.invoices if i["subscription_id"] == sub_id and i["billing_reason"] == reason]
    return found


def totals(inv: dict[str, Any]) -> tuple[Decimal, ...]:
    keys = ("subtotal", "total_discount", "total_prepaid_credits_applied", "total_tax", "total")
    return tuple(Decimal(inv[k]) for k in keys)


def lines(inv: dict[str, Any]) -> dict[str, dict[str, Any]]:
    by_name = {line["display_name"]: line for line in inv["line_items"]}
    assert len(by_name) == len(inv["line_items"]), inv["line_items"]
    return by_name


def test_catalog_and_subscriptions_through_rest(cycle: Cycle) -> None:
    acme, tokyo = cycle.subscriptions["acme"], cycle.subscriptions["tokyo"]
    # Anniversary on Jan 31: the first period ends on Feb 28 (the 31st clamped), §5.
    assert (acme["current_period_start"], acme["current_period_end"]) == (
        "2025-01-31T00:00:00Z",
        "2025-02-28T00:00:00Z",
    )
    # Calendar from Jan 27: a short first period up to the next month boundary.
    assert (tokyo["current_period_start"], tokyo["current_period_end"]) == (
        "2025-01-27T00:00:00Z",
        "2025-02-01T00:00:00Z",
    )
    # Each subscription copied only the prices of its currency: fee + 3 usage in USD, fee + 1 in JPY.
    assert sorted(i["price_type"] for i in acme["line_items"]) == ["FIXED", "USAGE", "USAGE", "USAGE"]
    assert sorted(i["price_type"] for i in tokyo["line_items"]) == ["FIXED", "USAGE"]
    assert {i["currency"] for i in tokyo["line_items"]} == {"jpy"}


def test_rejected_batch_accepts_nothing(cycle: Cycle) -> None:
    assert cycle.rejected is not None
    assert cycle.rejected.status_code == 400, cycle.rejected.text
    details = cycle.rejected.json()["details"]
    assert [d.get("index") for d in details] == [1], details
    assert "event_name" in details[0]["field"]
    # Neither the bad event nor its two good neighbours reached the bus, hence the warehouse.
    assert cycle.warehouse["rejected"] == (0,)


def test_events_land_in_the_tenant_of_the_key(cycle: Cycle) -> None:
    # B's customer's external id sent with A's key is A's (unknown customer), never B's.
    assert cycle.warehouse["stray"] == [(cycle.tenant_a["tenant_id"], cycle.tenant_a["environment_id"], None)]
    assert cycle.warehouse["tenant_b_rows"] == (0,)
    # Distinct ids of A: 7,250 + 2,345 + 122 storage + 84 seats + moved + early + stray (bulk)
    # = 9,804, + last, 2 call edges, seats edge, storage edge (singles; the moved re-send is the same id)
    # = 9,809.
    assert cycle.warehouse["latest_a"] == (9_809,)
    # The re-sent version (ingested later) replaced the first one.
    [(moved_at,)] = cycle.warehouse["moved"]
    assert moved_at == ACME_W1_END + timedelta(minutes=30)


def test_usd_invoices_to_the_cent(cycle: Cycle) -> None:
    create = invoice(cycle, "acme", "SUBSCRIPTION_CREATE")
    # Creation: the first period's ADVANCE fee 49.00; coupon 10 % → 4.90;
    # tax 8.875 % of (49.00 − 4.90 = 44.10) = 3.913875 → 3.91; total 49.00 − 4.90 + 3.91 = 48.01.
    assert totals(create) == (
        Decimal("49.00"),
        Decimal("4.90"),
        Decimal("0.00"),
        Decimal("3.91"),
        Decimal("48.01"),
    )
    [fee] = create["line_items"]
    assert (fee["display_name"], Decimal(fee["amount"]), fee["period_start"], fee["period_end"]) == (
        "Platform fee",
        Decimal("49.00"),
        "2025-01-31T00:00:00Z",
        "2025-02-28T00:00:00Z",
    )

    cyc = invoice(cycle, "acme", "SUBSCRIPTION_CYCLE")
    assert (cyc["period_start"], cyc["period_end"]) == ("2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z")
    by_name = lines(cyc)
    # API calls in [Jan 31, Feb 28): 7,250 bulk (i = 0 on the start boundary) + the last microsecond = 7,251.
    # Not counted: the 100 identical re-sends (same ids), acme-call-moved (its latest version is on
    # Feb 28 00:30), acme-call-edge (on the end boundary), acme-call-early (before the start), the
    # rejected batch. Included units 1,000 → billable 6,251.
    # SLAB: 5,000 × 0.01 = 50.00; 1,251 × 0.005 = 6.255 → 56.255 → 56.26 (half up, on the line).
    assert (Decimal(by_name["API calls"]["quantity"]), Decimal(by_name["API calls"]["amount"])) == (
        Decimal(6251),
        Decimal("56.26"),
    )
    # Storage: eu 40 × 2 = 80; us 40 × 0.85 = 34.00 and 3.07; ap filtered out; no-gb skipped;
    # the 1,000 GB edge event is in the next period → 117.07 GB → ceil(117.07 / 10) = 12 packages × 2.50 = 30.00.
    assert Decimal(by_name["Storage"]["amount"]) == Decimal("30.00")
    # Seats, MAX per day, each day priced: days cycle 5, 6, 7, 8 → 7 × 26 = 182 seat-days × 0.10 = 18.20
    # (the 100-seat reading on Feb 28 00:00 is the next period's).
    assert Decimal(by_name["Seats"]["amount"]) == Decimal("18.20")
    # The ADVANCE fee of the NEXT period [Feb 28, Mar 31).
    assert (
        Decimal(by_name["Platform fee"]["amount"]),
        by_name["Platform fee"]["period_start"],
        by_name["Platform fee"]["period_end"],
    ) == (Decimal("49.00"), "2025-02-28T00:00:00Z", "2025-03-31T00:00:00Z")
    # subtotal 56.26 + 30.00 + 18.20 + 49.00 = 153.46; coupon 10 % = 15.346 → 15.35;
    # wallet 20.00 on usage lines (104.46 before discount, far more than 20);
    # tax 8.875 % of (153.46 − 15.35 = 138.11) = 12.2572625 → 12.26;
    # total 153.46 − 15.35 − 20.00 + 12.26 = 130.37.
    assert totals(cyc) == (
        Decimal("153.46"),
        Decimal("15.35"),
        Decimal("20.00"),
        Decimal("12.26"),
        Decimal("130.37"),
    )
    assert sum(Decimal(line["amount"]) for line in cyc["line_items"]) == Decimal(cyc["subtotal"])
    # Money is returned at currency precision.
    assert all(len(cyc[k].split(".")[1]) == 2 for k in ("subtotal", "total_discount", "total_tax", "total"))


def test_jpy_invoices_to_the_yen(cycle: Cycle) -> None:
    create = invoice(cycle, "tokyo", "SUBSCRIPTION_CREATE")
    # ¥4,900 for the short first period [Jan 27, Feb 1) (not prorated); no coupon, no wallet;
    # tax 10.5 % of 4,900 = 514.5 → ¥515 (half up); total ¥5,415.
    assert totals(create) == (Decimal(4900), Decimal(0), Decimal(0), Decimal(515), Decimal(5415))

    cyc = invoice(cycle, "tokyo", "SUBSCRIPTION_CYCLE")
    assert (cyc["period_start"], cyc["period_end"]) == ("2025-01-27T00:00:00Z", "2025-02-01T00:00:00Z")
    by_name = lines(cyc)
    # 2,345 calls in [Jan 27, Feb 1) (tokyo-call-edge is on Feb 1 00:00: next period);
    # 1,000 included → 1,345 × ¥1.5 = ¥2,017.5 → ¥2,018.
    assert (Decimal(by_name["API calls"]["quantity"]), Decimal(by_name["API calls"]["amount"])) == (
        Decimal(1345),
        Decimal(2018),
    )
    assert (Decimal(by_name["Platform fee"]["amount"]), by_name["Platform fee"]["period_end"]) == (
        Decimal(4900),
        "2025-03-01T00:00:00Z",
    )
    # subtotal 2,018 + 4,900 = 6,918; tax 10.5 % = 726.39 → ¥726; total ¥7,644.
    assert totals(cyc) == (Decimal(6918), Decimal(0), Decimal(0), Decimal(726), Decimal(7644))
    # Yen have no minor unit: no amount carries a fraction.
    for inv in (create, cyc):
        amounts = [inv[k] for k in ("subtotal", "total_tax", "total")] + [
            x["amount"] for x in inv["line_items"]
        ]
        assert all(Decimal(a) == Decimal(a).to_integral_value() for a in amounts), amounts


def test_every_invoice_finalized_and_numbered_without_gaps(cycle: Cycle) -> None:
    assert len(cycle.invoices) == 4
    assert {i["invoice_status"] for i in cycle.invoices} == {"FINALIZED"}
    # Finalized at BILL_NOW, in February 2025 (tenant time zone UTC): one gapless monthly sequence,
    # January's partition (the two creation invoices) billed first.
    numbers = {i["billing_reason"] + ":" + i["currency"]: i["invoice_number"] for i in cycle.invoices}
    assert sorted(numbers.values()) == [f"INV-202502-0000{n}" for n in range(1, 5)]
    assert max(numbers["SUBSCRIPTION_CREATE:usd"], numbers["SUBSCRIPTION_CREATE:jpy"]) < min(
        numbers["SUBSCRIPTION_CYCLE:usd"], numbers["SUBSCRIPTION_CYCLE:jpy"]
    )
    assert all(i["finalized_at"] == "2025-02-28T03:00:00Z" for i in cycle.invoices)
    # `flexprice bill` prints the partition's invoices.
    january, february, rerun = cycle.bill_output
    assert all(numbers[f"SUBSCRIPTION_CREATE:{c}"] in january for c in ("usd", "jpy")), january
    assert all(numbers[f"SUBSCRIPTION_CYCLE:{c}"] in february for c in ("usd", "jpy")), february
    # The re-run prints the very same table (dbt's own log lines before it aside).
    assert february[february.index("┏") :] == rerun[rerun.index("┏") :]


def test_detail_route_matches_the_list(cycle: Cycle) -> None:
    for inv in cycle.invoices:
        detail = cycle.details[inv["id"]]
        assert {k: v for k, v in detail.items() if k != "line_items"} == {
            k: v for k, v in inv.items() if k != "line_items"
        }
        assert sorted(x["id"] for x in detail["line_items"]) == sorted(x["id"] for x in inv["line_items"])


def test_pdfs_print_number_and_total(cycle: Cycle, tmp_path: Path) -> None:
    expected_total = {"usd:SUBSCRIPTION_CYCLE": "$130.37", "jpy:SUBSCRIPTION_CYCLE": "¥7,644"}
    for inv in cycle.invoices:
        pdf = cycle.pdfs[inv["id"]]
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        path = tmp_path / f"{inv['id']}.pdf"
        path.write_bytes(pdf.content)
        text = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert inv["invoice_number"] in text
        total = expected_total.get(f"{inv['currency']}:{inv['billing_reason']}")
        if total is not None:
            assert total in text, text


def test_wallet_debited_once(cycle: Cycle) -> None:
    # The $20 top-up went entirely to the USD cycle invoice; a re-run does not debit again.
    assert Decimal(cycle.wallet_after_bill["balance"]) == 0
    assert cycle.wallet_after_rerun == cycle.wallet_after_bill


def test_second_bill_run_changes_nothing(cycle: Cycle) -> None:
    def snapshot(invoices: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (
                i["id"],
                i["invoice_number"],
                i["invoice_status"],
                i["finalized_at"],
                totals(i),
                sorted((x["id"], x["amount"], x["quantity"]) for x in i["line_items"]),
            )
            for i in invoices
        ]

    assert snapshot(cycle.invoices_after_rerun) == snapshot(cycle.invoices)


def test_tenant_b_sees_nothing_of_a(cycle: Cycle) -> None:
    views = cycle.b_views
    assert views["invoices"]["items"] == [] and views["invoices"]["pagination"]["total"] == 0
    assert [c["external_id"] for c in views["customers"]["items"]] == ["bravo-1"]
    assert views["subscriptions"]["items"] == [] and views["meters"]["items"] == []
    assert (
        views["a_invoice"],
        views["a_invoice_pdf"],
        views["a_customer"],
        views["a_plan"],
        views["a_wallet"],
    ) == (
        404,
        404,
        404,
        404,
        404,
    )
    # And A sees nothing of B: the stray event did not create or reveal B's customer.
    assert cycle.a_views == {"bravo_by_external_id": 404, "b_customer": 404}


def test_coupon_attaches_through_rest(cycle: Cycle) -> None:
    # Flexprice's CreateSubscriptionRequest takes "coupons": [coupon ids] (subscription-level coupons);
    # a Flexprice client's call must carry over (docs/billing-semantics.md: "API calls carry over").
    assert cycle.coupon_after_subscribe["total_redemptions"] == 1
