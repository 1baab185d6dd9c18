"""The production warehouse path end to end: billing assets + dbt-clickhouse against a ClickHouse server.

The server is ``chdb_http`` (the real ClickHouse engine behind its HTTP interface) in a subprocess, so
no chdb data path is opened in the test process. Resources come from ``Settings`` exactly as in
``dagster dev``: ``FLEXPRICE_WAREHOUSE_URL=clickhouse://127.0.0.1:PORT/db`` picks the ClickHouse
warehouse adapter and the dbt ``clickhouse`` target.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.catalog import db
from flexprice_pipelines.defs.billing.assets import ALL_BILLING_ASSETS
from flexprice_pipelines.defs.partitions import billing_partition_key
from flexprice_pipelines.defs.resources import build_resources
from flexprice_pipelines.defs.usage_dbt import DbtUsageResource
from flexprice_pipelines.settings import Settings
from tests.pipeline.conftest import Billing, invoice_by_reason, monthly_usage_plan, utc, worked_example_events


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def clickhouse_url(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "tests.support.chdb_http"]
    server = subprocess.Popen(
        [*command, "--path", str(tmp_path / "chdb"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(__file__)
        .resolve()
        .parents[2],  # the server lives in tests/support, importable from the root
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"chdb_http did not start: {server.stdout.read() if server.stdout else ''}"
                )
            time.sleep(0.2)
        yield f"clickhouse://127.0.0.1:{port}/billing"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_worked_example_on_clickhouse_to_the_cent(
    tmp_path: Path, clickhouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database_url = f"sqlite:///{tmp_path / 'catalog.db'}"
    db.migrate(database_url)
    monkeypatch.setenv("FLEXPRICE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FLEXPRICE_DATABASE_URL", database_url)
    monkeypatch.setenv("FLEXPRICE_WAREHOUSE_URL", clickhouse_url)
    settings = Settings()
    resources = build_resources(settings, frozen_at=utc(2026, 2, 1, 3).isoformat(), usage_engine="dbt")
    dbt_usage = resources["dbt_usage"]
    assert isinstance(dbt_usage, DbtUsageResource)
    assert dbt_usage.profile_env()["FLEXPRICE_DBT_TARGET"] == "clickhouse"

    with dg.instance_for_test() as instance:
        billing = Billing(database_url, settings.resolved_warehouse_url, tmp_path / "io", instance)
        scope = billing.tenant("acme-corp")
        ids = monthly_usage_plan(billing, scope)
        worked_example_events(billing, scope)  # lands the events through the ClickHouse adapter
        result = dg.materialize(
            ALL_BILLING_ASSETS,
            partition_key=billing_partition_key(scope.tenant_id, YearMonth(2026, 2)),
            resources=resources,
            instance=instance,
        )

    assert result.success
    usage_meta = result.asset_materializations_for_node("period_usage")[0].metadata
    assert (usage_meta["engine"].value, usage_meta["events_counted"].value) == ("dbt", 1600 + 2 + 250)
    inv = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", utc(2026, 2, 1))
    # The same invoice as the DuckDB worked example (test_invoice_worked_example.py), to the cent.
    assert (
        inv.invoice_number,
        inv.subtotal,
        inv.total_discount,
        inv.total_prepaid_credits_applied,
        inv.total_tax,
        inv.total,
    ) == (
        "INV-202602-00001",
        Decimal("78.50"),
        Decimal("7.85"),
        Decimal("25.00"),
        Decimal("6.27"),
        Decimal("51.92"),
    )
    lines = {line.display_name: (line.quantity, line.amount) for line in billing.lines(scope, inv.id)}
    assert lines == {
        "API calls": (Decimal(1500), Decimal("14.00")),
        "Storage": (Decimal("25.5"), Decimal("15.00")),
        "Emails": (Decimal(250), Decimal("0.50")),
        "Platform fee": (Decimal(1), Decimal("49.00")),
    }
    assert billing.wallet_balance(scope, ids["wallet"]) == Decimal(0)
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["raw_events_counted_into_usage"] and all(checks.values()), checks
