"""SIGKILL the sink process repeatedly while events flow; afterwards every accepted event is counted exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flexprice_pipelines.catalog.db import migrate
from flexprice_pipelines.events.bus import EventBus
from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.kafka import DLQ_TOPIC, EVENTS_TOPIC, KafkaBus, ensure_topics
from flexprice_pipelines.events.outbox import OutboxBus
from flexprice_pipelines.events.schema import TenantScope
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.warehouse.shared import NOW, billed_totals, raw_row_count

SCOPE = TenantScope("tenant-a", "prod")


class Producer(threading.Thread):
    """Ingests up to 600 batches of 100 (every seventh retried whole, as a client would after a timeout).

    It runs until the kills are done: a sink that drains the backlog faster than the producer fills it must
    still find events to work on when the next one starts.
    """

    def __init__(self, bus: EventBus) -> None:
        super().__init__(daemon=True)
        self.service = IngestService(bus)
        self.stop = threading.Event()
        self.amounts: dict[str, Decimal] = {}
        self.error: BaseException | None = None
        self.published = 0

    def run(self) -> None:
        try:
            batch_no = 0
            while not self.stop.is_set() and batch_no < 600:
                batch = self._batch(batch_no)
                now = NOW + timedelta(seconds=batch_no)
                self.service.ingest(SCOPE, batch, now)
                self.published += len(batch)
                if batch_no % 7 == 0:
                    self.service.ingest(SCOPE, batch, now + timedelta(milliseconds=500))
                    self.published += len(batch)
                batch_no += 1
                time.sleep(0.05)
        except BaseException as exc:
            self.error = exc

    def _batch(self, batch_no: int) -> list[dict[str, Any]]:
        items = []
        for i in range(100):
            event_id = f"b{batch_no}-{i}"
            amount = Decimal(batch_no * 100 + i) / 100
            self.amounts[event_id] = amount
            items.append(
                {
                    "event_id": event_id,
                    "event_name": "api_call",
                    "external_customer_id": f"c{i % 13}",
                    "properties": {"amount": amount},
                }
            )
        return items

    @property
    def expected(self) -> tuple[int, Decimal]:
        return len(self.amounts), sum(self.amounts.values(), Decimal(0))


def _start_sink(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], threading.Event]:
    sink = subprocess.Popen(
        [sys.executable, "-m", "flexprice_pipelines.events.cli", "--batch-size", "300", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    working = threading.Event()

    def watch() -> None:
        assert sink.stderr is not None
        for line in sink.stderr:
            if line.startswith("batch "):
                working.set()

    threading.Thread(target=watch, daemon=True).start()
    return sink, working


def _kill_repeatedly_then_drain(env: dict[str, str], producer: Producer, seed: int, kills: int) -> None:
    rng = random.Random(seed)
    producer.start()
    try:
        for _ in range(kills):
            sink, working = _start_sink(env)
            assert working.wait(timeout=60), "the sink never processed a batch"
            time.sleep(rng.uniform(0.0, 0.3))
            sink.send_signal(signal.SIGKILL)
            assert sink.wait(timeout=10) == -signal.SIGKILL
    finally:
        producer.stop.set()
        producer.join(timeout=30)
    assert producer.error is None, producer.error
    final = subprocess.run(
        [sys.executable, "-m", "flexprice_pipelines.events.cli", "--once", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert final.returncode == 0, final.stderr


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEXPRICE_")}
    env.update(
        FLEXPRICE_HOME=str(tmp_path / "home"),
        FLEXPRICE_WAREHOUSE_URL=f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
    )
    env.update(extra)
    return env


@pytest.mark.slow
def test_outbox_sink_survives_sigkill(tmp_path: Path) -> None:
    env = _env(tmp_path, FLEXPRICE_EVENT_BUS="outbox")
    # The embedded sink also feeds the usage read model in the catalog database: set it up as `flexprice init` does.
    migrate(f"sqlite:///{tmp_path / 'home' / 'catalog.db'}")
    producer = Producer(OutboxBus(tmp_path / "home" / "outbox.db"))
    _kill_repeatedly_then_drain(env, producer, seed=1, kills=4)

    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    assert billed_totals(warehouse) == producer.expected
    assert raw_row_count(warehouse) >= producer.published  # every accepted copy landed; redeliveries add more


@pytest.mark.slow
def test_kafka_sink_survives_sigkill(tmp_path: Path, kafka_bootstrap: str) -> None:
    ensure_topics(kafka_bootstrap, [EVENTS_TOPIC, DLQ_TOPIC], partitions=3)
    env = _env(
        tmp_path,
        FLEXPRICE_EVENT_BUS="kafka",
        FLEXPRICE_KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        FLEXPRICE_KAFKA_SESSION_TIMEOUT_MS="2000",
    )
    bus = KafkaBus(kafka_bootstrap)
    producer = Producer(bus)
    _kill_repeatedly_then_drain(env, producer, seed=2, kills=3)
    bus.close()

    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    assert billed_totals(warehouse) == producer.expected
    assert raw_row_count(warehouse) >= producer.published  # every accepted copy landed; redeliveries add more
