"""A stream of usage events with 10% re-sent ids (some with new timestamps) and its expected billed totals."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any


@dataclass
class Stream:
    """Batches to ingest, plus the latest version of every id (what billing must see)."""

    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    latest: dict[str, Decimal] = field(default_factory=dict)
    resent: int = 0
    moved: int = 0

    @property
    def expected(self) -> tuple[int, Decimal]:
        return len(self.latest), sum(self.latest.values(), Decimal(0))


def usage_stream(now: datetime, *, events: int, batch_size: int, seed: int, prefix: str = "e") -> Stream:
    """Unique events in batches; about every tenth item re-sends an earlier id (half with a new timestamp)."""
    rng = random.Random(seed)
    stream = Stream()
    sent: dict[str, dict[str, Any]] = {}
    batch: list[dict[str, Any]] = []
    for i in range(events):
        if sent and rng.random() < 0.1:
            event_id = rng.choice(list(sent))
            item = dict(sent[event_id])
            stream.resent += 1
            if rng.random() < 0.5:
                item["timestamp"] = (now - timedelta(minutes=rng.randint(0, 60 * 24 * 30))).isoformat()
                item["properties"] = {"amount": Decimal(rng.randint(1, 99_999)) / 100}
                stream.moved += 1
        else:
            event_id = f"{prefix}{i}"
            item = {
                "event_id": event_id,
                "event_name": "api_call",
                "external_customer_id": f"cust-{rng.randint(1, 25)}",
                "timestamp": (now - timedelta(minutes=rng.randint(0, 60 * 24 * 30))).isoformat(),
                "properties": {"amount": Decimal(rng.randint(1, 99_999)) / 100, "region": "eu"},
            }
        sent[event_id] = item
        stream.latest[event_id] = item["properties"]["amount"]
        batch.append(item)
        if len(batch) == batch_size:
            stream.batches.append(batch)
            batch = []
    if batch:
        stream.batches.append(batch)
    return stream
