"""A Flexprice client's whole month, driven by the official Flexprice Python SDK against our API, unchanged.

One fresh ``FLEXPRICE_HOME`` (the embedded default). Every call below that a Flexprice user makes is an
SDK call (``flexprice.Flexprice(server_url=".../v1", api_key_auth=key)``); only the operator's commands
(``flexprice init``, ``tenants create``, ``sink --once``, ``bill``) are ours:

customer → feature with an inline meter (×2) → plan → prices (flat, tiered, package) → entitlement →
coupon with a code → subscription with the coupon → wallet created empty, then topped up → events (one by
one and in bulk, a retried batch among them) → ``flexprice sink --once`` → usage reads (statistics, by
meter, raw events, one event, customer usage summary, subscription usage, the wallet's real-time
balance) → ``flexprice bill`` January and February 2025 → invoices searched, read, printed (PDF) and voided
through the SDK, the wallet refunded → the other tenant sees none of it.

The API runs on a shifted clock (``shifted_api.py``): 20 January 2025 12:00 while the month is used, then
2 February 2025 for the reads after billing. Every expected figure is worked out by hand below.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import create_tenant, flexprice, flexprice_in_process, isolated_env, shifted_api

flexprice_sdk = pytest.importorskip(
    "flexprice", reason="the Flexprice SDK is a dev dependency (pip install -e '.[dev]')"
)
from flexprice.models.errors import FlexpriceError  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

IN_MONTH = "2025-01-20T12:00:00+00:00"  # the API's clock while January is used
AFTER_BILLING = "2025-02-02T09:00:00+00:00"  # its clock for the reads after `flexprice bill`
BILL_NOW = "2025-02-01T03:00:00+00:00"  # after January's end plus the 2-hour grace: invoices finalize

JAN_1 = datetime(2025, 1, 1, tzinfo=UTC)
FEB_1 = datetime(2025, 2, 1, tzinfo=UTC)
MAR_1 = datetime(2025, 3, 1, tzinfo=UTC)

BULK_CALLS = 2_600  # one every 5 minutes from Jan 1 00:00: the last at 12,995 min ≈ Jan 10 00:35
SINGLE_CALLS = 3  # on Jan 15, through ingest_event
STORAGE_DAYS = 19  # 1.25 GB on each of Jan 1 … Jan 19 at 06:00
INCLUDED_CALLS = 500  # the plan's entitlement on API calls


def iso(at: datetime) -> str:
    return at.isoformat()


def call(i: int) -> dict[str, Any]:
    return {
        "event_id": f"call-{i}",
        "event_name": "api_call",
        "external_customer_id": "acme",
        "timestamp": iso(JAN_1 + timedelta(minutes=5 * i)),
        "properties": {"path": "/v1/chat"},
        "source": "sdk-e2e",
    }


def storage(day: int) -> dict[str, Any]:
    return {
        "event_id": f"storage-{day}",
        "event_name": "storage",
        "external_customer_id": "acme",
        "timestamp": iso(JAN_1 + timedelta(days=day, hours=6)),
        "properties": {"gb": "1.25"},
    }


@dataclass
class Flow:
    """What the SDK was answered, kept for the tests below."""

    ids: dict[str, str] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    bill_output: list[str] = field(default_factory=list)


def sdk(url: str, key: str) -> Any:
    return flexprice_sdk.Flexprice(server_url=f"{url}/v1", api_key_auth=key)


def build_catalog(client: Any, flow: Flow) -> None:
    """Customer, features with inline meters, plan, three prices, entitlement, coupon, subscription, wallet."""
    ids, answers = flow.ids, flow.answers
    customer = client.customers.create_customer(
        external_id="acme", name="Acme Inc", email="billing@acme.test"
    )
    ids["customer"] = customer.id
    calls = client.features.create_feature(
        name="API calls",
        type_="metered",
        lookup_key="api_calls",
        unit_singular="call",
        unit_plural="calls",
        meter={
            "event_name": "api_call",
            "name": "API calls",
            "aggregation": {"type": "COUNT"},
            "reset_usage": "BILLING_PERIOD",
        },
    )
    gb = client.features.create_feature(
        name="Storage",
        type_="metered",
        lookup_key="storage_gb",
        meter={
            "event_name": "storage",
            "name": "Storage GB",
            "aggregation": {"type": "SUM", "field": "gb"},
            "reset_usage": "BILLING_PERIOD",
        },
    )
    ids["calls_feature"], ids["calls_meter"] = calls.id, calls.meter_id
    ids["storage_feature"], ids["storage_meter"] = gb.id, gb.meter_id

    plan = client.plans.create_plan(name="Pro", lookup_key="pro", description="The Pro plan")
    ids["plan"] = plan.id
    common = {
        "entity_type": "PLAN",
        "entity_id": plan.id,
        "currency": "USD",
        "billing_period": "MONTHLY",
        "price_unit_type": "FIAT",
    }
    usage = {**common, "type_": "USAGE", "invoice_cadence": "ARREAR"}
    ids["fee"] = client.prices.create_price(
        **common,
        type_="FIXED",
        billing_model="FLAT_FEE",
        invoice_cadence="ADVANCE",
        amount="29.00",
        display_name="Platform fee",
        lookup_key="pro-fee",
    ).id
    ids["calls_price"] = client.prices.create_price(
        **usage,
        billing_model="TIERED",
        tier_mode="SLAB",
        meter_id=calls.meter_id,
        tiers=[
            {"up_to": 1000, "unit_amount": "0.02"},
            {"up_to": 5000, "unit_amount": "0.01"},
            {"unit_amount": "0.005"},
        ],
        display_name="API calls",
    ).id
    ids["storage_price"] = client.prices.create_price(
        **usage,
        billing_model="PACKAGE",
        amount="3.00",
        transform_quantity={"divide_by": 10, "round": "up"},
        meter_id=gb.meter_id,
        display_name="Storage",
    ).id
    entitlement = client.entitlements.create_entitlement(
        feature_id=calls.id,
        feature_type="metered",
        plan_id=plan.id,
        usage_limit=INCLUDED_CALLS,
        usage_reset_period="MONTHLY",
        is_soft_limit=True,
    )
    ids["entitlement"] = entitlement.id
    coupon = client.coupons.create_coupon(
        name="Welcome",
        type_="fixed",
        cadence="forever",
        amount_off="5",
        currency="usd",
        coupon_code="WELCOME5",
    )
    ids["coupon"] = coupon.id
    subscription = client.subscriptions.create_subscription(
        customer_id=customer.id,
        plan_id=plan.id,
        currency="usd",
        billing_period="MONTHLY",
        billing_cycle="calendar",
        start_date=JAN_1,
        coupons=[coupon.id],
    )
    ids["subscription"] = subscription.id
    answers["subscription"] = subscription
    wallet = client.wallets.create_wallet(customer_id=customer.id, currency="usd", description="Prepaid")
    ids["wallet"] = wallet.id
    answers["wallet_created"] = wallet
    answers["top_up"] = client.wallets.top_up_wallet(
        id=wallet.id,
        credits_to_add="10",
        transaction_reason="PURCHASED_CREDIT_DIRECT",
        idempotency_key="acme-top-up-1",
        description="January credits",
    )
    # The client retries the same top-up (same idempotency key): credited once.
    answers["top_up_retry"] = client.wallets.top_up_wallet(
        id=wallet.id,
        credits_to_add="10",
        transaction_reason="PURCHASED_CREDIT_DIRECT",
        idempotency_key="acme-top-up-1",
    )
    # Read back through the SDK's lookups and searches.
    answers["price_by_key"] = client.prices.get_price_by_lookup_key(lookup_key="pro-fee")
    answers["customer_search"] = client.customers.query_customer(external_id="acme")
    answers["subscription_search"] = client.subscriptions.query_subscription(plan_id=plan.id)


def send_events(client: Any, flow: Flow) -> None:
    """2,600 calls and 19 storage readings in bulk, a retried batch, and three calls one by one."""
    bulk = [call(i) for i in range(BULK_CALLS)] + [storage(d) for d in range(STORAGE_DAYS)]
    for start in range(0, len(bulk), 500):
        flow.answers.setdefault("bulk", []).append(
            client.events.ingest_events_bulk(events=bulk[start : start + 500])
        )
    # A client retry of the first 50 calls: the same ids count once.
    client.events.ingest_events_bulk(events=bulk[:50])
    for n in range(SINGLE_CALLS):
        flow.answers.setdefault("single", []).append(
            client.events.ingest_event(
                event_name="api_call",
                external_customer_id="acme",
                event_id=f"single-{n}",
                timestamp=iso(datetime(2025, 1, 15, 9, n, tzinfo=UTC)),
                properties={"path": "/v1/embed"},
                source="sdk-e2e",
            )
        )


def read_usage(client: Any, flow: Flow) -> None:
    """Every usage read of the SDK's, after the sink landed the events (the clock says Jan 20 12:00)."""
    ids, answers = flow.ids, flow.answers
    until = datetime(2025, 1, 20, tzinfo=UTC)
    answers["statistics"] = client.events.get_usage_statistics(
        aggregation_type="COUNT",
        event_name="api_call",
        external_customer_id="acme",
        start_time=JAN_1,
        end_time=until,
        window_size="DAY",
    )
    answers["by_meter"] = client.events.get_usage_by_meter(
        meter_id=ids["storage_meter"], external_customer_id="acme", start_time=JAN_1, end_time=until
    )
    answers["raw"] = client.events.list_raw_events(
        external_customer_id="acme", event_name="storage", start_time=JAN_1, page_size=5, order="asc"
    )
    answers["one_event"] = client.events.get_event(id="single-1", external_customer_id="acme")
    answers["summary"] = client.customers.get_customer_usage_summary(customer_id=ids["customer"])
    answers["subscription_usage"] = client.subscriptions.get_subscription_usage(
        subscription_id=ids["subscription"]
    )
    answers["real_time"] = client.wallets.get_wallet_balance(id=ids["wallet"])


def after_billing(client: Any, other: Any, flow: Flow, tmp: Path) -> None:
    """Invoices searched, read, printed and voided; the wallet refunded; the other tenant shut out."""
    ids, answers = flow.ids, flow.answers
    found = client.invoices.query_invoice(customer_id=ids["customer"])
    answers["invoices"] = sorted(found.items or [], key=lambda inv: inv.invoice_number or "")
    answers["search_pagination"] = found.pagination
    answers["cycle_search"] = client.invoices.query_invoice(
        customer_id=ids["customer"], billing_reason="SUBSCRIPTION_CYCLE"
    )
    cycle_id = next(i.id for i in answers["invoices"] if i.billing_reason == "SUBSCRIPTION_CYCLE")
    ids["cycle_invoice"] = cycle_id
    answers["cycle"] = client.invoices.get_invoice(id=cycle_id)
    pdf = client.invoices.get_invoice_pdf(id=cycle_id)
    answers["pdf_headers"] = dict(pdf.headers)
    path = tmp / "cycle.pdf"
    path.write_bytes(pdf.read())
    answers["pdf_text"] = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    answers["wallet_before_void"] = client.wallets.get_wallet(id=ids["wallet"])
    answers["void"] = client.invoices.void_invoice(id=cycle_id)
    answers["voided"] = client.invoices.get_invoice(id=cycle_id)
    answers["wallet_after_void"] = client.wallets.get_wallet(id=ids["wallet"])
    answers["transactions"] = client.wallets.get_wallet_transactions(id_path_parameter=ids["wallet"])
    answers["real_time_after"] = client.wallets.get_wallet_balance(id=ids["wallet"])
    # The other tenant: empty searches, and 404 for each of A's ids.
    answers["other_invoices"] = other.invoices.query_invoice()
    answers["other_customers"] = other.customers.query_customer()
    refused: dict[str, int] = {}
    calls: dict[str, Callable[[], Any]] = {
        "invoice": lambda: other.invoices.get_invoice(id=cycle_id),
        "pdf": lambda: other.invoices.get_invoice_pdf(id=cycle_id),
        "void": lambda: other.invoices.void_invoice(id=cycle_id),
        "wallet": lambda: other.wallets.get_wallet_balance(id=ids["wallet"]),
        "subscription_usage": lambda: other.subscriptions.get_subscription_usage(
            subscription_id=ids["subscription"]
        ),
    }
    for name, fetch in calls.items():
        try:
            fetch()
        except FlexpriceError as error:
            refused[name] = error.status_code
    answers["other_refused"] = refused


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    """Run the month once; the tests below read what the SDK was answered."""
    tmp = tmp_path_factory.mktemp("sdk-flow")
    env = isolated_env(tmp / "home")
    run = Flow()
    with ExitStack() as stack:
        # Both servers start at once so that their imports overlap `init`.
        during = stack.enter_context(shifted_api(env, IN_MONTH, tmp / "during.log"))
        later = stack.enter_context(shifted_api(env, AFTER_BILLING, tmp / "after.log"))
        flexprice_in_process(env, "init")
        tenant_a, tenant_b = create_tenant(env, "Tenant A"), create_tenant(env, "Tenant B")
        run.ids["tenant"] = tenant_a["tenant_id"]
        client = sdk(during.wait(), tenant_a["api_key"])
        build_catalog(client, run)
        send_events(client, run)
        flexprice(env, "sink", "--once", "--quiet")
        read_usage(client, run)
        during.stop()

        bill = [
            "bill",
            "--tenant",
            tenant_a["tenant_id"],
            "--now",
            BILL_NOW,
            "--engine",
            "python",
            "--period",
        ]
        run.bill_output.append(flexprice(env, *bill, "2025-01").stdout)
        run.bill_output.append(flexprice(env, *bill, "2025-02").stdout)

        url = later.wait()
        after_billing(sdk(url, tenant_a["api_key"]), sdk(url, tenant_b["api_key"]), run, tmp)
    yield run


def money(value: Any) -> Decimal:
    """An amount the SDK parsed (a string, or a float where Flexprice's model says number) as a decimal."""
    return Decimal(str(value))


def test_catalog_created_as_flexprice_answers_it(flow: Flow) -> None:
    ids, answers = flow.ids, flow.answers
    assert ids["customer"].startswith("cust_") and ids["plan"].startswith("plan_")
    assert ids["calls_meter"].startswith("meter_") and ids["storage_meter"].startswith("meter_")
    assert answers["price_by_key"].id == ids["fee"] and answers["price_by_key"].amount == "29.00"
    [customer] = answers["customer_search"].items
    assert (customer.id, customer.external_id, customer.email) == (
        ids["customer"],
        "acme",
        "billing@acme.test",
    )
    [subscription] = answers["subscription_search"].items
    assert subscription.id == ids["subscription"]
    created = answers["subscription"]
    # Calendar billing from Jan 1: the first period is January.
    assert (created.current_period_start, created.current_period_end) == (JAN_1, FEB_1)
    assert (created.subscription_status, created.currency) == ("active", "usd")
    assert sorted(item.price_id for item in created.line_items) == sorted(
        [ids["fee"], ids["calls_price"], ids["storage_price"]]
    )


def test_wallet_created_empty_then_topped_up_once(flow: Flow) -> None:
    answers = flow.answers
    assert money(answers["wallet_created"].balance) == 0
    top_up = answers["top_up"]
    assert top_up.wallet.id == flow.ids["wallet"] and money(top_up.wallet.balance) == 10
    assert money(top_up.wallet_transaction.amount) == 10
    assert top_up.wallet_transaction.transaction_reason == "PURCHASED_CREDIT_DIRECT"
    # The retry with the same idempotency key answers the same transaction and credits nothing more.
    retry = answers["top_up_retry"]
    assert retry.wallet_transaction.id == top_up.wallet_transaction.id
    assert money(retry.wallet.balance) == 10


def test_ingest_answers(flow: Flow) -> None:
    # Bulk ingest answers 202 {message}; a single event answers {event_id}.
    assert len(flow.answers["bulk"]) == 6 and all("message" in b for b in flow.answers["bulk"])
    assert [s["event_id"] for s in flow.answers["single"]] == ["single-0", "single-1", "single-2"]


def test_usage_reads_from_the_warehouse(flow: Flow) -> None:
    answers = flow.answers
    statistics = answers["statistics"]
    # 2,600 distinct bulk ids (the retried 50 count once) + 3 singles, all before Jan 20.
    assert (statistics.event_name, statistics.type) == ("api_call", "COUNT")
    assert money(statistics.value) == BULK_CALLS + SINGLE_CALLS
    # Flexprice names each window's start ``window_size``.
    by_day = {r.window_size: money(r.value) for r in statistics.results}
    # 288 five-minute slots a day on Jan 1 … Jan 9; Jan 10 holds i = 2,592 … 2,599 (8); Jan 15 the 3 singles.
    assert sorted(by_day.values()) == sorted([Decimal(288)] * 9 + [Decimal(8), Decimal(3)])
    assert sum(by_day.values()) == BULK_CALLS + SINGLE_CALLS
    by_meter = answers["by_meter"]
    # 19 × 1.25 GB.
    assert (by_meter.event_name, by_meter.type, money(by_meter.value)) == ("storage", "SUM", Decimal("23.75"))
    raw = answers["raw"]
    assert (raw.total_count, raw.has_more) == (STORAGE_DAYS, True)
    assert [e.id for e in raw.events] == [f"storage-{d}" for d in range(5)]
    assert raw.events[0].properties == {"gb": "1.25"}
    one = answers["one_event"].event
    assert (one.id, one.event_name, one.properties) == ("single-1", "api_call", {"path": "/v1/embed"})


def test_real_time_usage_matches_what_is_billed(flow: Flow) -> None:
    answers = flow.answers
    [calls] = [f for f in answers["summary"].features if f.feature.id == flow.ids["calls_feature"]]
    assert money(calls.current_usage) == BULK_CALLS + SINGLE_CALLS
    assert calls.total_limit == INCLUDED_CALLS and calls.is_soft_limit is True
    usage = answers["subscription_usage"]
    assert (usage.start_time, usage.end_time, usage.currency) == (JAN_1, FEB_1, "usd")
    charges = {c.price.id: c for c in usage.charges}
    assert {c.meter_id for c in usage.charges} == {flow.ids["calls_meter"], flow.ids["storage_meter"]}
    # API calls: 2,603 − 500 included = 2,103 billable; SLAB 1,000 × 0.02 + 1,103 × 0.01 = 20.00 + 11.03 = 31.03.
    calls_charge = charges[flow.ids["calls_price"]]
    assert (money(calls_charge.quantity), money(calls_charge.amount)) == (Decimal(2103), Decimal("31.03"))
    # Storage: 23.75 GB → ceil(2.375) = 3 packages × 3.00 = 9.00.
    assert money(charges[flow.ids["storage_price"]].amount) == Decimal("9.00")
    assert money(usage.amount) == Decimal("40.03")
    real_time = answers["real_time"]
    # 10.00 in the wallet less 40.03 of January's usage so far.
    assert (money(real_time.balance), money(real_time.current_period_usage)) == (
        Decimal(10),
        Decimal("40.03"),
    )
    assert money(real_time.real_time_balance) == Decimal("-30.03")


def test_two_invoices_to_the_cent(flow: Flow) -> None:
    create, cycle = flow.answers["invoices"]
    # The creation invoice: January's ADVANCE fee 29.00 − the 5.00 coupon = 24.00 (credits pay usage only).
    assert (create.billing_reason, create.invoice_number, create.invoice_status) == (
        "SUBSCRIPTION_CREATE",
        "INV-202502-00001",
        "FINALIZED",
    )
    assert [money(create.subtotal), money(create.total_discount), money(create.total)] == [
        Decimal("29.00"),
        Decimal("5.00"),
        Decimal("24.00"),
    ]
    # The cycle invoice for [Jan 1, Feb 1): usage 31.03 + 9.00, February's ADVANCE fee 29.00 → 69.03;
    # the coupon 5.00; the wallet's 10.00 on usage lines → total 54.03.
    assert (cycle.billing_reason, cycle.invoice_number) == ("SUBSCRIPTION_CYCLE", "INV-202502-00002")
    assert (cycle.period_start, cycle.period_end) == (JAN_1, FEB_1)
    totals = [cycle.subtotal, cycle.total_discount, cycle.total_prepaid_credits_applied, cycle.total]
    assert [money(t) for t in totals] == [
        Decimal("69.03"),
        Decimal("5.00"),
        Decimal("10.00"),
        Decimal("54.03"),
    ]
    assert flow.answers["search_pagination"].total == 2
    assert [i.id for i in flow.answers["cycle_search"].items] == [cycle.id]


def test_invoice_detail_lines_and_pdf(flow: Flow) -> None:
    detail = flow.answers["cycle"]
    lines = {line.display_name: line for line in detail.line_items}
    assert set(lines) == {"API calls", "Storage", "Platform fee"}
    assert (money(lines["API calls"].quantity), money(lines["API calls"].amount)) == (
        Decimal(2103),
        Decimal("31.03"),
    )
    assert money(lines["Storage"].amount) == Decimal("9.00")
    fee = lines["Platform fee"]
    assert (money(fee.amount), fee.period_start, fee.period_end) == (Decimal("29.00"), FEB_1, MAR_1)
    assert all(isinstance(v, str) for line in detail.line_items for v in (line.metadata or {}).values())
    assert flow.answers["pdf_headers"]["content-type"] == "application/pdf"
    text = flow.answers["pdf_text"]
    assert detail.invoice_number in text and "$54.03" in text, text


def test_void_through_the_sdk_refunds_the_wallet(flow: Flow) -> None:
    answers = flow.answers
    # Billing took the wallet's 10.00; the void gives it back and marks the invoice.
    assert money(answers["wallet_before_void"].balance) == 0
    assert answers["voided"].invoice_status == "VOIDED" and answers["voided"].voided_at is not None
    assert money(answers["wallet_after_void"].balance) == 10
    amounts = sorted(money(t.amount) for t in answers["transactions"].items)
    assert amounts == [Decimal(10), Decimal(10), Decimal(10)]  # top-up credit, invoice debit, void refund
    # February has no usage yet: the real-time balance is the stored one.
    assert money(answers["real_time_after"].real_time_balance) == 10


def test_the_other_tenant_sees_nothing(flow: Flow) -> None:
    answers = flow.answers
    assert answers["other_invoices"].items == [] and answers["other_customers"].items == []
    assert answers["other_refused"] == {
        "invoice": 404,
        "pdf": 404,
        "void": 404,
        "wallet": 404,
        "subscription_usage": 404,
    }


def test_bill_prints_the_partitions_invoices(flow: Flow) -> None:
    january, february = flow.bill_output
    assert "INV-202502-00001" in january and "INV-202502-00002" in february
