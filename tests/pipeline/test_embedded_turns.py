"""The embedded default with real processes on one DuckDB file: billing, the sink and the docs server take turns.

Each test runs ``flexprice`` sub-commands as separate processes on one data directory (SQLite catalog, outbox,
DuckDB warehouse), as ``flexprice dev`` and an operator's terminal would. Before the turn protocol, billing
failed with ``WarehouseBusy`` after 60 s (or dbt at once on "Could not set lock on file") whenever another
process had the file: the sink draining a backlog, a second ``flexprice bill`` or ``flexprice docs --serve``.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from flexprice_pipelines.catalog import Scope
from flexprice_pipelines.events.outbox import OutboxBus
from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.warehouse.billing_inputs import ensure_billing_inputs
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.pipeline.conftest import Billing, monthly_usage_plan, worked_example_events

pytestmark = pytest.mark.slow

PERIOD = "2026-02"
BILL_NOW = "2026-02-01T03:00:00+00:00"
# The worked example's February invoice (tests/pipeline/test_backfill_and_tenancy.py prints the same).
INVOICE_NUMBER, INVOICE_TOTAL = "INV-202602-00001", "51.92"
# A bill takes ~15 s on a quiet machine; the bound is for a loaded CI box (startup alone took 160 s at load 11).
BILL_TIMEOUT = 600.0


@dataclass
class Home:
    """One embedded data directory with a billable tenant, and the environment of its processes."""

    billing: Billing
    scope: Scope
    env: dict[str, str]
    path: Path

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "flexprice_pipelines.cli", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def bill(self, engine: str) -> subprocess.Popen[str]:
        return self.start(
            "bill",
            "--tenant",
            self.scope.tenant_id,
            "--period",
            PERIOD,
            "--now",
            BILL_NOW,
            "--engine",
            engine,
        )

    def sink_position(self) -> int:
        with sqlite3.connect(self.path / "outbox.db", timeout=30) as conn:
            row = conn.execute("SELECT seq FROM sink_position WHERE consumer = 'event_sink'").fetchone()
        return int(row[0]) if row else 0

    def backlog(self, count: int) -> None:
        """``count`` events of a customer without a subscription, in March: billing February ignores them."""
        start = datetime(2026, 3, 5, tzinfo=UTC)
        bus = OutboxBus(self.path / "outbox.db")
        try:
            for first in range(0, count, 1000):
                bus.publish(
                    [
                        Event(
                            tenant_id=self.scope.tenant_id,
                            environment_id=self.scope.environment_id,
                            event_id=f"backlog-{i}",
                            event_name="api_call",
                            external_customer_id="not-subscribed",
                            customer_id=None,
                            timestamp=start + timedelta(seconds=i),
                            source="test",
                            properties={},
                            ingested_at=start,
                        )
                        for i in range(first, min(count, first + 1000))
                    ]
                )
        finally:
            bus.close()


@pytest.fixture
def home(billing: Billing, tmp_path: Path) -> Home:
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)
    path = tmp_path / "home"
    path.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env |= {
        "FLEXPRICE_HOME": str(path),
        "FLEXPRICE_DATABASE_URL": billing.database_url,
        "FLEXPRICE_WAREHOUSE_URL": billing.warehouse_url,
        "FLEXPRICE_EVENT_BUS": "outbox",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    return Home(billing, scope, env, path)


def finished(process: subprocess.Popen[str], timeout: float = BILL_TIMEOUT) -> tuple[int, str]:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"{process.args!r} did not finish within {timeout}s:\n{output[-3000:]}")
    return process.returncode, output


@pytest.fixture
def stop_later() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def invoice_rows(output: str) -> list[str]:
    """The rows of the invoice table ``flexprice bill`` prints (not its log lines)."""
    return sorted(line for line in output.splitlines() if line.startswith("│") and "INV-" in line)


def test_billing_succeeds_while_the_sink_drains_a_backlog_and_both_progress(
    home: Home, stop_later: list[subprocess.Popen[str]]
) -> None:
    backlog = 4000
    home.backlog(backlog)
    sink = home.start("sink", "--once", "--batch-size", "200")
    stop_later.append(sink)
    deadline = time.monotonic() + 120
    while home.sink_position() == 0:
        assert sink.poll() is None, sink.communicate()[0]
        assert time.monotonic() < deadline, "the sink committed no batch within 120 s"
        time.sleep(0.05)

    at_start = home.sink_position()
    code, output = finished(home.bill("python"))
    at_end = home.sink_position()

    assert code == 0, output[-4000:]
    assert INVOICE_NUMBER in output and "FINALIZED" in output and INVOICE_TOTAL in output
    # The sink was draining when billing started, and it kept committing batches while billing ran.
    assert at_start < backlog
    assert at_end > at_start, "the sink made no progress while billing ran"
    sink_code, sink_output = finished(sink)
    assert sink_code == 0, sink_output[-3000:]
    assert f"sink done: {backlog} inserted" in sink_output
    [(count,)] = DuckDBWarehouse(home.billing.warehouse_url.removeprefix("duckdb:///")).query(
        "SELECT count(*) FROM raw_events WHERE external_customer_id = 'not-subscribed'"
    )
    assert count == backlog


def test_two_concurrent_bills_of_one_partition_both_succeed_with_the_same_invoices(
    home: Home, stop_later: list[subprocess.Popen[str]]
) -> None:
    first, second = home.bill("dbt"), home.bill("dbt")
    stop_later += [first, second]
    (code_1, out_1), (code_2, out_2) = finished(first), finished(second)

    assert (code_1, code_2) == (0, 0), (out_1[-3000:], out_2[-3000:])
    assert invoice_rows(out_1) == invoice_rows(out_2)
    assert any(INVOICE_NUMBER in row and INVOICE_TOTAL in row for row in invoice_rows(out_1))
    snapshot = home.billing.snapshot(home.scope)
    # Not doubled: the partition's one cycle invoice (January), once, with the first number.
    assert len(invoice_rows(out_1)) == 1
    assert [(row[1], row[2], str(row[7])) for row in snapshot] == [
        (INVOICE_NUMBER, "FINALIZED", INVOICE_TOTAL)
    ]
    code_3, out_3 = finished(home.bill("dbt"))
    assert code_3 == 0, out_3[-3000:]
    assert home.billing.snapshot(home.scope) == snapshot


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_billing_succeeds_while_the_docs_server_runs(
    home: Home, tmp_path: Path, stop_later: list[subprocess.Popen[str]]
) -> None:
    # The dbt models read the billing inputs; a warehouse that was never billed has none yet.
    warehouse = DuckDBWarehouse(home.billing.warehouse_url.removeprefix("duckdb:///"))
    with warehouse.connect() as conn:
        ensure_billing_inputs(conn)
    port = _free_port()
    docs = home.start("docs", "--serve", "--port", str(port), "--target-path", str(tmp_path / "docs"))
    stop_later.append(docs)
    deadline = time.monotonic() + 180
    while True:
        assert docs.poll() is None, docs.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "the docs server did not answer within 180 s"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/index.html", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)

    code, output = finished(home.bill("python"))

    assert code == 0, output[-4000:]
    assert INVOICE_NUMBER in output and INVOICE_TOTAL in output
    assert docs.poll() is None
    assert httpx.get(f"http://127.0.0.1:{port}/catalog.json", timeout=5).status_code == 200
