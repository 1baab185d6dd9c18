"""The blocking usage check's raw recount equals the reference's ``matched_events`` window by window."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flexprice_pipelines.billing.meters import Meter
from flexprice_pipelines.billing.rating.rate import UsageRow
from flexprice_pipelines.billing.rating.usage import matched_events
from flexprice_pipelines.billing.rating.windows import UsageWindow, WindowRole
from flexprice_pipelines.defs.billing.checks import count_window_events

START = datetime(2026, 3, 1, tzinfo=UTC)
METERS = {
    "calls": Meter.model_validate(
        {"id": "calls", "event_name": "api_call", "aggregation": {"type": "COUNT"}}
    ),
    "gpt": Meter.model_validate(
        {
            "id": "gpt",
            "event_name": "api_call",
            "aggregation": {"type": "COUNT"},
            "filters": [{"key": "model", "values": ["gpt-4", "200"]}],
        }
    ),
    "storage": Meter.model_validate(
        {"id": "storage", "event_name": "storage", "aggregation": {"type": "SUM", "field": "gb"}}
    ),
}
CUSTOMERS = ["acme", "globex", "initech"]


def _windows(rng: random.Random) -> list[UsageWindow]:
    out = []
    for n in range(40):
        start = START + timedelta(days=rng.randrange(0, 60), seconds=rng.choice([0, 1, 3600]))
        out.append(
            UsageWindow(
                window_id=f"w{n}",
                tenant_id="t",
                environment_id="e",
                period_key="2026-04",
                subscription_id="s",
                line_item_id=f"li{n}",
                price_id="p",
                meter_id=rng.choice(list(METERS)),
                customer_id="c",
                external_customer_id=rng.choice([*CUSTOMERS, "nobody"]),
                window_start=start,
                window_end=start + timedelta(days=rng.choice([0, 1, 30])),
                role=WindowRole.CYCLE,
            )
        )
    return out


def _events(rng: random.Random, windows: list[UsageWindow]) -> list[dict[str, Any]]:
    edges = [w.window_start for w in windows] + [w.window_end for w in windows]
    events: list[dict[str, Any]] = []
    for n in range(3000):
        stamp = (
            rng.choice(edges) if rng.random() < 0.3 else START + timedelta(seconds=rng.randrange(90 * 86400))
        )
        stamp += timedelta(microseconds=rng.choice([0, 0, -1, 1]))
        events.append(
            {
                "event_id": f"e{n}",
                "event_name": rng.choice(["api_call", " api_call\t", "storage", "Api_call", None]),
                "external_customer_id": rng.choice(CUSTOMERS),
                "timestamp": stamp,
                "properties": rng.choice(
                    [{}, {"model": "gpt-4"}, {"model": 200}, {"model": "o1"}, {"gb": 3}]
                ),
                "ingested_at": START,
            }
        )
    return events


@pytest.mark.parametrize("seed", range(5))
def test_indexed_recount_equals_the_reference_per_window(seed: int) -> None:
    rng = random.Random(seed)
    windows = _windows(rng)
    events = _events(rng, windows)
    rows = {w.window_id: UsageRow(window_id=w.window_id, quantity=None, event_count=7) for w in windows}
    counted = count_window_events(windows, METERS, rows, events)
    expected = [
        (
            w.window_id,
            7,
            matched_events(
                METERS[w.meter_id],
                [e for e in events if e["external_customer_id"] == w.external_customer_id],
                w.window_start,
                w.window_end,
            ),
        )
        for w in windows
    ]
    assert counted == expected
    assert sum(raw for _, _, raw in counted) > 0  # the windows hold events: the comparison is not vacuous
