"""A deterministic usage stream for the demo: request bodies as clients send them, in 1,000-event batches.

Customers send a random stream (API calls, completions, GPU jobs, sessions) spread over the demo months
in proportion to their weight, plus regular snapshots (seats, replicas, storage, IPs, vector storage)
that feed the AVG, MIN, bucketed MAX, LATEST and WEIGHTED_SUM meters. About 1 % of the items re-send an
earlier item with the same ``event_id`` (a client retry); the warehouse counts each id once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flexprice_pipelines.demo.scenario import DemoCustomer

BATCH_SIZE = 1000
RESEND_RATE = 0.01
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ENDPOINTS = ("/v1/chat", "/v1/embed", "/v1/files", "/v1/models")
_MODELS = ("nimbus-large", "nimbus-small")
# (event name, share of the random stream); generate_items builds the properties by this order.
_STREAM = (("api_request", 50), ("llm_completion", 30), ("user_session", 15), ("gpu_job", 5))
# (event name, interval between snapshots)
_SNAPSHOTS = (
    ("seat_snapshot", timedelta(hours=6)),
    ("cluster_snapshot", timedelta(hours=6)),
    ("storage_snapshot", timedelta(hours=3)),
    ("ip_inventory", timedelta(days=1)),
    ("vector_storage", timedelta(days=1)),
)


@dataclass(frozen=True, slots=True)
class Span:
    """The half-open time range ``[start, end)`` a customer sends events in."""

    start: datetime
    end: datetime


def rfc3339(moment: datetime) -> str:
    """``2025-08-01T10:00:00.123456+00:00``: an RFC 3339 timestamp as clients send it."""
    return moment.astimezone(UTC).isoformat()


def customer_spans(customers: list[DemoCustomer], start: datetime, end: datetime) -> dict[str, Span]:
    """Each customer sends from the later of its subscription start and ``start`` until ``end``."""
    return {c.external_id: Span(max(c.start, start), end) for c in customers}


def _snapshots(
    customer: DemoCustomer, span: Span, rng: random.Random
) -> list[tuple[str, datetime, dict[str, Any]]]:
    found: list[tuple[str, datetime, dict[str, Any]]] = []
    base = max(3, customer.users // 40)
    for name, every in _SNAPSHOTS:
        moment = span.start + timedelta(minutes=rng.randrange(1, 59))
        while moment < span.end:
            found.append((name, moment, _snapshot_properties(name, base, rng)))
            moment += every
    return found


def _snapshot_properties(name: str, base: int, rng: random.Random) -> dict[str, Any]:
    if name == "seat_snapshot":
        return {"seats": base + rng.randrange(0, 5)}
    if name == "cluster_snapshot":
        return {"replicas": 2 + rng.randrange(0, 4), "cluster": "prod"}
    if name == "storage_snapshot":
        return {"gb": Decimal(base * 40 + rng.randrange(0, 400)) / 4}
    if name == "ip_inventory":
        return {"count": 1 + rng.randrange(0, 6)}
    return {"gb_delta": Decimal(rng.randrange(-20, 60)) / 10}


def _slots(weights: list[int]) -> list[int]:
    """Index table for weighted picks: index ``i`` appears ``weights[i]`` times."""
    return [i for i, weight in enumerate(weights) for _ in range(weight)]


def generate_items(
    customers: list[DemoCustomer], spans: dict[str, Span], total: int, seed: int
) -> Iterator[dict[str, Any]]:
    """``total`` unique events: first the snapshots, then the random stream in no particular time order.

    The loop is the demo's hottest code (a million iterations): weighted picks come from index tables and
    ``random()`` rather than ``choices``/``randrange``, and timestamps are formatted by ``isoformat``.
    """
    rng = random.Random(seed)
    rand = rng.random
    snapshots = [
        (c, name, moment, props)
        for c in customers
        for name, moment, props in _snapshots(c, spans[c.external_id], rng)
    ][:total]
    counter = 0
    for customer, name, moment, props in snapshots:
        counter += 1
        yield _item(counter, customer.external_id, name, rfc3339(moment), props)
    who = _slots([c.weight for c in customers])
    what = _slots([share for _, share in _STREAM])
    names = [name for name, _ in _STREAM]
    starts = [int((spans[c.external_id].start - _EPOCH) / _MICROSECOND) for c in customers]
    lengths = [int((spans[c.external_id].end - spans[c.external_id].start) / _MICROSECOND) for c in customers]
    users = [c.users for c in customers]
    ids = [c.external_id for c in customers]
    n_who, n_what = len(who), len(what)
    for _ in range(total - len(snapshots)):
        c = who[int(rand() * n_who)]
        kind = what[int(rand() * n_what)]
        moment = _EPOCH + timedelta(microseconds=starts[c] + int(rand() * lengths[c]))
        if kind == 0:
            properties: dict[str, Any] = {"endpoint": _ENDPOINTS[int(rand() * 4)], "status": 200}
        elif kind == 1:
            properties = {"tokens": 50 + int(rand() * 3950), "model": _MODELS[int(rand() * 2)]}
        elif kind == 2:
            properties = {"user_id": f"user-{int(rand() * users[c])}"}
        else:
            properties = {"duration_ms": 1_000 + int(rand() * 59_000), "gpu": "h100"}
        counter += 1
        yield _item(counter, ids[c], names[kind], moment.isoformat(), properties)


def _item(counter: int, customer: str, name: str, timestamp: str, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"evt_demo_{counter:08d}",
        "event_name": name,
        "external_customer_id": customer,
        "timestamp": timestamp,
        "source": "demo",
        "properties": props,
    }


def batches(
    items: Iterator[dict[str, Any]], seed: int, batch_size: int = BATCH_SIZE
) -> Iterator[list[dict[str, Any]]]:
    """Batches of ``batch_size`` items; about ``RESEND_RATE`` of them re-send an item of the previous batch."""
    rng = random.Random(seed + 1)
    previous: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    for item in items:
        if previous and rng.random() < RESEND_RATE:
            current.append(previous[rng.randrange(len(previous))])
            if len(current) == batch_size:
                previous, current = current, []
                yield previous
        current.append(item)
        if len(current) == batch_size:
            previous, current = current, []
            yield previous
    if current:
        yield current
