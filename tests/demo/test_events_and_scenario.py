"""The demo's scenario and event stream: pure functions of the clock and the seed."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.demo.events import BATCH_SIZE, batches, customer_spans, generate_items
from flexprice_pipelines.demo.scenario import demo_customers, demo_months
from flexprice_pipelines.events.schema import TenantScope, TimestampPolicy, validate_batch

NOW = datetime(2025, 11, 21, 12, tzinfo=UTC)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@given(moments)
@settings(max_examples=150)
def test_demo_months_are_the_three_whole_months_before_now(now: datetime) -> None:
    months = demo_months(now)

    assert len(months) == 3
    assert months[0].end == months[1].start and months[1].end == months[2].start
    assert months[2].end == datetime(now.year, now.month, 1, tzinfo=UTC)


@given(moments)
@settings(max_examples=150)
def test_every_subscription_starts_before_the_last_demo_month(now: datetime) -> None:
    months = demo_months(now)
    customers = {c.external_id: c for c in demo_customers(now)}

    assert all(c.start < months[0].end for c in customers.values())
    assert customers["hooli"].start >= months[0].start  # its trial ends inside the first month
    local = customers["globex"].start.astimezone(ZoneInfo("America/Los_Angeles"))
    assert local.day == 31 and calendar.monthrange(local.year, local.month)[1] == 31
    assert customers["globex"].start < months[0].start
    assert {c.currency for c in customers.values()} >= {"usd", "jpy"}
    assert "Asia/Kolkata" in {c.timezone for c in customers.values()}


def _stream(total: int, seed: int) -> list[list[dict[str, object]]]:
    customers = demo_customers(NOW)
    months = demo_months(NOW)
    spans = customer_spans(customers, months[0].start, months[-1].end)
    return list(batches(generate_items(customers, spans, total, seed), seed))


def test_the_stream_is_deterministic_per_seed() -> None:
    assert _stream(5_000, 7) == _stream(5_000, 7)
    assert _stream(5_000, 7) != _stream(5_000, 8)


def test_the_stream_covers_every_meter_inside_the_customer_spans_with_about_one_percent_resends() -> None:
    customers = {c.external_id: c for c in demo_customers(NOW)}
    months = demo_months(NOW)
    items = [item for batch in _stream(30_000, 3) for item in batch]
    ids = [item["event_id"] for item in items]

    assert len(set(ids)) == 30_000
    assert 0.005 < (len(ids) - len(set(ids))) / len(ids) < 0.015
    assert {item["event_name"] for item in items} == {
        "api_request", "llm_completion", "gpu_job", "user_session", "seat_snapshot",
        "cluster_snapshot", "storage_snapshot", "ip_inventory", "vector_storage",
    }  # fmt: skip
    for item in items:
        ts = datetime.fromisoformat(str(item["timestamp"]))
        customer = customers[str(item["external_customer_id"])]
        assert max(customer.start, months[0].start) <= ts < months[-1].end


def test_every_batch_is_accepted_by_the_api_validation_with_the_backfill_policy() -> None:
    scope = TenantScope("tenant_demo", "env_demo")
    policy = TimestampPolicy(max_past=NOW - demo_months(NOW)[0].start + timedelta(days=2))
    stream = _stream(3_000, 11)
    for batch in stream:
        assert len(validate_batch(batch, scope, NOW, policy)) == len(batch)


@given(st.integers(min_value=1, max_value=4_000), st.integers(min_value=0, max_value=10_000))
@settings(max_examples=100, deadline=None)
def test_batches_keep_every_item_once_in_order_and_resend_only_from_the_previous_batch(
    total: int, seed: int
) -> None:
    items = [{"event_id": f"e{i}"} for i in range(total)]
    out = list(batches(iter(items), seed))

    assert all(0 < len(b) <= BATCH_SIZE for b in out)
    firsts: list[dict[str, object]] = []
    seen: set[object] = set()
    for index, batch in enumerate(out):
        for item in batch:
            if item["event_id"] in seen:
                assert index > 0 and item in out[index - 1]
            else:
                seen.add(item["event_id"])
                firsts.append(item)
    assert firsts == items
