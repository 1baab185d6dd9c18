"""Crash soak: events through the real API onto the bus while the sink is SIGKILLed again and again.

    .venv/bin/python bench/soak_sink_crash.py [--events 100000] [--kills 10] [--bus outbox|kafka]
                                              [--seconds 900] [--sink-batch 2000]

A uvicorn API on 127.0.0.1 (a fresh data directory, SQLite catalog, one tenant) takes ``--events`` events
in 1,000-event bulk requests, each with its own ``event_id`` and ``amount``; a request that is not 202 is
re-sent with the same ids, as a client would. Meanwhile the sink (``flexprice sink``) is started, killed
with SIGKILL at a random moment of its drain (after its first batch), and restarted, ``--kills`` times;
then a last ``flexprice sink --once`` drains the rest. The warehouse is then compared with what the API
acknowledged:

- acknowledged: ids the API answered 202 for;
- landed: acknowledged ids present in ``raw_events_latest`` (what billing reads);
- lost: acknowledged ids absent from it;
- doubled: ids counted more than once by ``raw_events_latest`` (redelivered copies in ``raw_events`` are
  expected and reported separately; the view must fold them);
- the billed sum of ``amount`` against the acknowledged sum.

Bounded: ``--events`` at most 1,000,000, ``--kills`` at most 100, the whole run stops at ``--seconds``
(what did not finish is reported as such). Loopback only; the Kafka run starts a local Tansu broker.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import load, start_broker, start_server, stop

from flexprice_pipelines.catalog import db
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.events.kafka import DLQ_TOPIC, EVENTS_TOPIC, ensure_topics
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse

BATCH = 1000


class Client(threading.Thread):
    """Sends the events in bulk requests; remembers what was acknowledged (202)."""

    def __init__(self, port: int, key: str, events: int, deadline: float) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/v1/events/bulk"
        self.headers = {"x-api-key": key, "content-type": "application/json"}
        self.events = events
        self.deadline = deadline
        self.acknowledged: dict[str, Decimal] = {}
        self.retries = 0
        self.error: str | None = None

    def run(self) -> None:
        now = datetime.now(UTC)
        with httpx.Client(timeout=60) as http:
            for start in range(0, self.events, BATCH):
                batch: list[dict[str, Any]] = [
                    {
                        "event_id": f"soak-{n}",
                        "event_name": "api_call",
                        "external_customer_id": f"cust-{n % 97}",
                        "timestamp": (now - timedelta(seconds=n % 3600)).isoformat(),
                        "properties": {"amount": f"{n % 1000}.{n % 100:02d}"},
                    }
                    for n in range(start, min(start + BATCH, self.events))
                ]
                body = orjson.dumps({"events": batch})
                while True:
                    if time.monotonic() > self.deadline:
                        self.error = "deadline reached while sending"
                        return
                    try:
                        response = http.post(self.url, content=body, headers=self.headers)
                    except httpx.TransportError:
                        response = None
                    if response is not None and response.status_code == 202:
                        for item in batch:
                            self.acknowledged[item["event_id"]] = Decimal(item["properties"]["amount"])
                        break
                    if response is not None and response.status_code != 503:
                        self.error = f"{response.status_code}: {response.text[:200]}"
                        return
                    self.retries += 1
                    time.sleep(0.2)


def start_sink(env: dict[str, str], batch: int) -> tuple[subprocess.Popen[str], threading.Event]:
    sink = subprocess.Popen(
        [sys.executable, "-m", "flexprice_pipelines.events.cli", "--batch-size", str(batch)],
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--bus", choices=["outbox", "kafka"], default="outbox")
    parser.add_argument("--seconds", type=float, default=900.0)
    parser.add_argument("--sink-batch", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    if not 0 < args.events <= 1_000_000 or not 0 <= args.kills <= 100:
        parser.error("--events must be 1..1,000,000 and --kills 0..100")
    rng = random.Random(args.seed)
    started = time.monotonic()
    deadline = started + args.seconds
    print(f"soak: {args.events:,} events, {args.kills} kills, {args.bus} bus; {load()}", flush=True)

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        work = Path(tmp)
        database_url = f"sqlite:///{work / 'catalog.db'}"
        db.migrate(database_url)
        with db.session_factory(db.make_engine(database_url))() as session:
            _, _, key = create_tenant(session, "soak")
            session.commit()
        broker = None
        bootstrap = ""
        if args.bus == "kafka":
            broker, bootstrap = start_broker()
            ensure_topics(bootstrap, [EVENTS_TOPIC, DLQ_TOPIC], partitions=6)
        server, port = start_server(work, database_url, args.bus, bootstrap, 1)
        home = work / f"home-{args.bus}-1"  # the data directory start_server gave the API
        warehouse_path = work / "warehouse.duckdb"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLEXPRICE_")}
        env.update(
            FLEXPRICE_HOME=str(home),
            FLEXPRICE_DATABASE_URL=database_url,
            FLEXPRICE_WAREHOUSE_URL=f"duckdb:///{warehouse_path}",
            FLEXPRICE_EVENT_BUS=args.bus,
            FLEXPRICE_KAFKA_BOOTSTRAP_SERVERS=bootstrap,
            FLEXPRICE_KAFKA_SESSION_TIMEOUT_MS="2000",
        )
        client = Client(port, key, args.events, deadline)
        kills = 0
        unfinished: list[str] = []
        try:
            client.start()
            for _ in range(args.kills):
                if time.monotonic() > deadline:
                    unfinished.append(f"only {kills} of {args.kills} kills before the deadline")
                    break
                sink, working = start_sink(env, args.sink_batch)
                if not working.wait(timeout=max(1.0, min(120.0, deadline - time.monotonic()))):
                    sink.kill()
                    sink.wait()
                    unfinished.append("a sink never processed a batch (bus empty?)")
                    break
                time.sleep(rng.uniform(0.0, 1.5))
                sink.send_signal(signal.SIGKILL)
                sink.wait(timeout=30)
                kills += 1
            client.join(timeout=max(0.0, deadline - time.monotonic()))
            if client.is_alive():
                unfinished.append("the client had not sent every event by the deadline")
            drained = "not run"
            try:
                final = subprocess.run(
                    [sys.executable, "-m", "flexprice_pipelines.events.cli", "--once", "--quiet"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=max(30.0, deadline - time.monotonic()),
                )
                drained = final.stdout.strip()
                if final.returncode != 0:
                    unfinished.append(f"final drain exited {final.returncode}: {final.stderr[-300:]}")
            except subprocess.TimeoutExpired:
                # Killed mid-drain like the others: what landed so far is still counted (lost = not yet).
                unfinished.append("the final drain did not finish by the deadline (lost = not yet drained)")
        finally:
            stop(server)
            if broker is not None:
                stop(broker)
        report(warehouse_path, client, kills, time.monotonic() - started, unfinished, drained)


def report(
    warehouse_path: Path, client: Client, kills: int, seconds: float, unfinished: list[str], drained: str
) -> None:
    warehouse = DuckDBWarehouse(warehouse_path)
    latest: dict[str, Any] = {}
    doubled = 0
    for event_id, amount in warehouse.query(
        "SELECT event_id, json_extract_string(properties, '$.amount') FROM raw_events_latest"
    ):
        if event_id in latest:
            doubled += 1
        latest[event_id] = Decimal(amount)
    [(raw_rows,)] = warehouse.query("SELECT count(*) FROM raw_events")
    acknowledged = client.acknowledged
    landed = sum(1 for event_id in acknowledged if event_id in latest)
    billed = sum((latest[e] for e in acknowledged if e in latest), Decimal(0))
    expected = sum(acknowledged.values(), Decimal(0))
    print(f"kills: {kills}; client retries: {client.retries}; client error: {client.error}")
    print(f"events acknowledged: {len(acknowledged):,}")
    print(f"landed:  {landed:,}")
    print(f"lost:    {len(acknowledged) - landed:,}")
    print(f"doubled: {doubled:,} (ids counted twice by raw_events_latest)")
    print(f"unacknowledged ids in the warehouse: {sum(1 for e in latest if e not in acknowledged):,}")
    print(f"raw rows: {raw_rows:,} (redelivered copies: {raw_rows - len(latest):,}, folded by the view)")
    print(
        f"billed amount {billed} vs acknowledged {expected}: {'equal' if billed == expected else 'DIFFERENT'}"
    )
    print(f"final drain: {drained}")
    print(f"elapsed {seconds:.0f} s; {load()}")
    for line in unfinished:
        print(f"UNFINISHED: {line}")


if __name__ == "__main__":
    main()
