"""Random events, meters and billing windows for the parity tests, plus the reference answers.

Events are written as raw JSON text (so JSON number literals such as ``1.50`` or ``1E+3`` reach the SQL as
written); the reference reads the same text with ``parse_float=Decimal``, as billing/meters.py asks.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from flexprice_pipelines.billing.enums import BillingPeriod
from flexprice_pipelines.billing.meters import Meter, deduplicate
from flexprice_pipelines.billing.periods import billing_periods
from flexprice_pipelines.warehouse.billing_inputs import BillingWindow, period_key_of

KOLKATA = ZoneInfo("Asia/Kolkata")
UTC_ZONE = ZoneInfo("UTC")
TENANTS = (("t1", "prod"), ("t2", "prod"))
CUSTOMERS = ("c0", "c1", "c2", "c3")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Literal(str):
    """A JSON number written exactly as this text."""


def meters() -> list[Meter]:
    """Every aggregation type, filters (AND of ORs, numbers and bools as strings), buckets, NEVER reset."""
    specs: list[dict[str, Any]] = [
        {"id": "m_count", "aggregation": {"type": "COUNT"}},
        {
            "id": "m_count_f",
            "aggregation": {"type": "COUNT"},
            "filters": [{"key": "model", "values": ["gpt-4", "200"]}],
        },
        {
            "id": "m_count_t",
            "aggregation": {"type": "COUNT"},
            "filters": [
                {
                    "key": "tokens",
                    "values": ["0.1", "1000", "0.0025", "-0.0", "1.00", "12.250", "3.0", "false"],
                }
            ],
        },
        {"id": "m_sum", "aggregation": {"type": "SUM", "field": "tokens"}},
        {
            "id": "m_sum_f",
            "aggregation": {"type": "SUM", "field": "tokens"},
            "filters": [
                {"key": "model", "values": ["gpt-4", "1.50", "true"]},
                {"key": "region", "values": ["eu"]},
            ],
        },
        {
            "id": "m_mult",
            "aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": "tokens", "multiplier": "2.5"},
        },
        {"id": "m_avg", "aggregation": {"type": "AVG", "field": "tokens"}},
        {"id": "m_min", "aggregation": {"type": "MIN", "field": "tokens"}},
        {"id": "m_max", "aggregation": {"type": "MAX", "field": "tokens"}},
        {"id": "m_unique", "aggregation": {"type": "COUNT_UNIQUE", "field": "model"}},
        {"id": "m_unique_t", "aggregation": {"type": "COUNT_UNIQUE", "field": "tokens"}},
        {"id": "m_latest", "aggregation": {"type": "LATEST", "field": "tokens"}},
        {"id": "m_weighted", "aggregation": {"type": "WEIGHTED_SUM", "field": "tokens"}},
        {
            "id": "m_weighted_never",
            "aggregation": {"type": "WEIGHTED_SUM", "field": "tokens"},
            "reset_usage": "NEVER",
        },
        {"id": "m_sum_hour", "aggregation": {"type": "SUM", "field": "tokens", "bucket_size": "HOUR"}},
        {"id": "m_max_15", "aggregation": {"type": "MAX", "field": "tokens", "bucket_size": "15MIN"}},
        {"id": "m_max_day", "aggregation": {"type": "MAX", "field": "tokens", "bucket_size": "DAY"}},
        {"id": "m_max_week", "aggregation": {"type": "MAX", "field": "tokens", "bucket_size": "WEEK"}},
        {"id": "m_sum_month", "aggregation": {"type": "SUM", "field": "tokens", "bucket_size": "MONTH"}},
        {"id": "m_storage", "event_name": "storage", "aggregation": {"type": "LATEST", "field": "gb"}},
    ]
    return [Meter.model_validate({"event_name": "api_call", **spec}) for spec in specs]


@dataclass(frozen=True)
class Window:
    """A billing window row as the pipeline would write it."""

    tenant_id: str
    environment_id: str
    window: BillingWindow

    @property
    def period_key(self) -> str:
        return period_key_of(self.window.window_end)


def windows(meter_list: Sequence[Meter]) -> list[Window]:
    """UTC calendar months, 14:30 Asia/Kolkata monthly and daily windows, a Jan-31 month-end anchor."""
    bounds: list[tuple[str, datetime, datetime]] = []
    utc_start = datetime(2024, 3, 1, tzinfo=UTC)
    bounds += [
        ("utc", w.start, w.end)
        for w in _periods(utc_start, utc_start, datetime(2024, 4, 1, tzinfo=UTC), UTC_ZONE)
    ]
    ist_anchor = datetime(2024, 1, 17, 14, 30, tzinfo=KOLKATA)
    bounds += [
        ("ist", w.start, w.end)
        for w in _periods(ist_anchor, ist_anchor, datetime(2024, 4, 1, tzinfo=KOLKATA), KOLKATA)
        if w.start >= datetime(2024, 2, 1, tzinfo=UTC)
    ]
    month_end = datetime(2024, 1, 31, tzinfo=UTC)
    bounds += [
        ("eom", w.start, w.end)
        for w in _periods(month_end, month_end, datetime(2024, 3, 15, tzinfo=UTC), UTC_ZONE)
    ]
    day = datetime(2024, 3, 10, 14, 30, tzinfo=KOLKATA)
    bounds += [
        ("day", w.start, w.end)
        for w in billing_periods(day, day + timedelta(days=3), day, 1, BillingPeriod.DAILY, KOLKATA)
    ]
    result = []
    for tenant_id, environment_id in TENANTS:
        for customer in CUSTOMERS:
            for kind, start, end in bounds:
                for meter in meter_list:
                    assert meter.id is not None
                    never = meter.reset_usage.value == "NEVER"
                    result.append(
                        Window(
                            tenant_id,
                            environment_id,
                            BillingWindow(
                                subscription_id=f"sub_{customer}_{kind}",
                                line_item_id=f"li_{kind}_{meter.id}",
                                price_id=f"price_{meter.id}",
                                meter_id=meter.id,
                                customer_id=f"cust_{customer}",
                                external_customer_id=customer,
                                window_start=start.astimezone(UTC),
                                window_end=end.astimezone(UTC),
                                usage_start=datetime(2024, 1, 1, tzinfo=UTC) if never else None,
                            ),
                        )
                    )
    return result


def _periods(start: datetime, anchor: datetime, until: datetime, tz: ZoneInfo) -> list[Any]:
    return billing_periods(start, until, anchor, 1, BillingPeriod.MONTHLY, tz)


_TOKEN_VALUES: list[Any] = [
    0,
    1,
    7,
    42,
    -3,
    1000,
    Literal("1.50"),
    Literal("1E+3"),
    Literal("2.5e-3"),
    Literal("-0.0"),
    Literal("12.250"),
    Literal("0.1"),
    Literal("100e-2"),
    "12.5",
    "+4",
    ".5",
    "7.",
    "2e3",
    " 3",
    "abc",
    "1_000",
    "NaN",
    "0.1",
    "1000",
    "1.00",
    True,
    False,
    None,
    {"tokens": 9},
    [1, 2],
    Literal("3.0"),
]
_MODELS: list[Any] = [
    "gpt-4",
    "o1",
    "GPT-4",
    200,
    Literal("1e16"),
    Literal("200.0"),
    "200",
    Literal("1.50"),
    True,
    None,
    "gpt-4 ",
]


def _properties(rng: random.Random) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if rng.random() < 0.3:
        props["meta"] = {"tokens": rng.choice([5, Literal("2.50")]), "model": "nested"}
    if rng.random() < 0.9:
        props["tokens"] = rng.choice(_TOKEN_VALUES)
    if rng.random() < 0.85:
        props["model"] = rng.choice(_MODELS)
    if rng.random() < 0.7:
        props["region"] = rng.choice(["eu", "us", "EU"])
    if rng.random() < 0.2:
        props["gb"] = rng.choice([1, Literal("2.75"), "3"])
    keys = list(props)
    rng.shuffle(keys)
    return {key: props[key] for key in keys}


def properties_text(properties: dict[str, Any], compact: bool) -> str:
    """JSON text with Literal numbers written verbatim."""
    comma, colon = (",", ":") if compact else (", ", ": ")

    def encode(value: Any) -> str:
        if isinstance(value, Literal):
            return str(value)
        if isinstance(value, dict):
            return "{" + comma.join(json.dumps(k) + colon + encode(v) for k, v in value.items()) + "}"
        return json.dumps(value)

    return encode(properties)


def events(seed: int, count: int, edges: Sequence[datetime]) -> list[dict[str, Any]]:
    """Raw event versions (dicts with ``properties_text`` and parsed ``properties``), re-sends included."""
    rng = random.Random(seed)
    base = datetime(2024, 1, 25, tzinfo=UTC)
    span = int((datetime(2024, 4, 5, tzinfo=UTC) - base).total_seconds())
    rows: list[dict[str, Any]] = []
    ingested = datetime(2024, 4, 10, tzinfo=UTC)
    for n in range(count):
        tenant_id, environment_id = rng.choice(TENANTS)
        if rng.random() < 0.25:
            timestamp = rng.choice(edges)
        else:
            timestamp = base + timedelta(
                seconds=rng.randrange(span), microseconds=rng.choice([0, 1, 999_999])
            )
        ingested += timedelta(microseconds=rng.randrange(1, 5_000_000))
        rows.append(
            _version(rng, tenant_id, environment_id, f"ev{n}", timestamp, ingested, rng.choice(CUSTOMERS))
        )
    # re-sent ids: a later version may move in time, rename, change customer or properties
    for original in rng.sample(rows, k=count // 5):
        ingested += timedelta(microseconds=rng.randrange(1, 5_000_000))
        moved = original["timestamp"] + timedelta(
            days=rng.choice([0, 0, 1, -3, 20]), hours=rng.choice([0, 5])
        )
        rows.append(
            _version(
                rng,
                original["tenant_id"],
                original["environment_id"],
                original["event_id"],
                rng.choice([original["timestamp"], moved, rng.choice(edges)]),
                ingested,
                rng.choice([original["external_customer_id"], rng.choice(CUSTOMERS)]),
            )
        )
    rng.shuffle(rows)
    return rows


def _version(
    rng: random.Random,
    tenant_id: str,
    environment_id: str,
    event_id: str,
    timestamp: datetime,
    ingested_at: datetime,
    customer: str,
) -> dict[str, Any]:
    text = properties_text(_properties(rng), compact=rng.random() < 0.7)
    return {
        "tenant_id": tenant_id,
        "environment_id": environment_id,
        "event_id": event_id,
        "event_name": rng.choice(
            ["api_call", "api_call", "api_call", " api_call\t", "storage", "other", "Api_call"]
        ),
        "external_customer_id": customer,
        "customer_id": rng.choice([None, f"cust_{customer}"]),
        "timestamp": timestamp,
        "source": rng.choice([None, "sdk"]),
        "properties_text": text,
        "properties": json.loads(text, parse_float=Decimal),
        "ingested_at": ingested_at,
    }


def arrow_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """The event versions as a raw_events Arrow table."""
    instant = pa.timestamp("us", tz="UTC")

    def micros(values: Sequence[datetime]) -> pa.Array:
        return pa.array([(v - _EPOCH) // timedelta(microseconds=1) for v in values], pa.int64()).cast(instant)

    def text(column: str) -> pa.Array:
        return pa.array([row[column] for row in rows], pa.string())

    return pa.Table.from_arrays(
        [
            text("tenant_id"),
            text("environment_id"),
            text("event_id"),
            text("event_name"),
            text("external_customer_id"),
            text("customer_id"),
            micros([row["timestamp"] for row in rows]),
            text("source"),
            text("properties_text"),
            micros([row["ingested_at"] for row in rows]),
        ],
        names=[
            "tenant_id",
            "environment_id",
            "event_id",
            "event_name",
            "external_customer_id",
            "customer_id",
            "timestamp",
            "source",
            "properties",
            "ingested_at",
        ],
    )


def reference_events(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Latest version of every id, per (tenant, environment), in the shape billing/meters.py reads."""
    result: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for scope in TENANTS:
        versions = [
            {
                key: value
                for key, value in row.items()
                if key not in {"properties_text", "tenant_id", "environment_id"}
            }
            for row in rows
            if (row["tenant_id"], row["environment_id"]) == scope
        ]
        result[scope] = deduplicate(versions)
    return result
