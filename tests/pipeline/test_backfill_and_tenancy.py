"""A 12-month backfill through the CLI, tenant isolation, and a zero-decimal currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from typer.testing import CliRunner

from flexprice_pipelines.cli import app
from tests.pipeline.conftest import Billing, invoice_by_reason, monthly_usage_plan, utc, worked_example_events

FEB_1 = utc(2026, 2, 1)


@pytest.fixture
def cli_env(billing: Billing, tmp_path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return {
        "FLEXPRICE_DATABASE_URL": billing.database_url,
        "FLEXPRICE_WAREHOUSE_URL": billing.warehouse_url,
        "FLEXPRICE_HOME": str(tmp_path / "home"),
    }


def test_twelve_month_backfill_is_idempotent(billing: Billing, cli_env: dict[str, str]) -> None:
    # A past year, so every monthly partition exists whatever today's date is.
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope, start=utc(2025, 1, 1))
    # 10 API calls in every month (all inside the 100 included units) and 20 GB stored monthly.
    billing.events(
        scope,
        [("acme", "api_call", utc(2025, m, 15, 9, i), {}) for m in range(1, 13) for i in range(10)]
        + [("acme", "storage", utc(2025, m, 3), {"gb": "20"}) for m in range(1, 13)],
    )
    args = [
        "backfill",
        "--tenant",
        "acme-corp",
        "--from",
        "2025-01",
        "--to",
        "2025-12",
        "--now",
        "2026-01-01T03:00:00+00:00",
        "--engine",
        "python",
    ]

    first = CliRunner().invoke(app, args, env=cli_env)
    assert first.exit_code == 0, first.output
    snapshot = billing.snapshot(scope)
    second = CliRunner().invoke(app, args, env=cli_env)
    assert second.exit_code == 0, second.output

    assert billing.snapshot(scope) == snapshot
    assert "12/12 months billed" in second.output
    # One CREATE (January) + 11 cycle invoices ending Feb 1 … Dec 1; the Jan 1 2026 end is 2026-01's.
    assert len(snapshot) == 12
    statuses = {row[2] for row in snapshot}
    assert statuses == {"FINALIZED"}
    numbers = sorted(row[1] for row in snapshot)
    assert numbers == [f"INV-202601-{n:05d}" for n in range(1, 13)]
    # Each cycle: storage 2 packages × 5 = 10 + next month's platform fee 49 = 59 subtotal.
    cycles = [row for row in snapshot if len(row[8]) == 4]
    assert len(cycles) == 11 and {row[3] for row in cycles} == {Decimal("59.00")}


def test_bill_command_prints_the_invoices(billing: Billing, cli_env: dict[str, str]) -> None:
    scope = billing.tenant("acme-corp")
    monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)

    result = CliRunner().invoke(
        app,
        [
            "bill",
            "--tenant",
            scope.tenant_id,
            "--period",
            "2026-02",
            "--now",
            "2026-02-01T03:00:00+00:00",
            "--engine",
            "python",
        ],
        env=cli_env,
    )

    assert result.exit_code == 0, result.output
    assert "INV-202602-00001" in result.output and "FINALIZED" in result.output and "51.92" in result.output


def test_a_tenant_partition_never_sees_another_tenants_data(billing: Billing) -> None:
    a = billing.tenant("tenant-a")
    b = billing.tenant("tenant-b")
    monthly_usage_plan(billing, a)
    monthly_usage_plan(billing, b)  # same external customer id "acme" in both tenants
    worked_example_events(billing, a)
    billing.events(b, [("acme", "api_call", utc(2026, 1, 9), {}) for _ in range(7)])

    assert billing.bill(b, "2026-02", utc(2026, 2, 1, 3)).success

    assert billing.invoices(a) == []
    b_inv = invoice_by_reason(billing, b, "SUBSCRIPTION_CYCLE", FEB_1)
    usage = {line.display_name: line.metadata_["usage"] for line in billing.lines(b, b_inv.id)}
    assert usage == {"API calls": "7", "Storage": "0", "Emails": "0", "Platform fee": None}
    assert b_inv.subtotal == Decimal("49.00")
    # Each tenant numbers its own invoices from 1.
    assert billing.bill(a, "2026-02", utc(2026, 2, 1, 3)).success
    assert invoice_by_reason(billing, a, "SUBSCRIPTION_CYCLE", FEB_1).invoice_number == "INV-202602-00001"
    assert b_inv.invoice_number == "INV-202602-00001"


def test_jpy_invoice_rounds_to_whole_yen(billing: Billing) -> None:
    scope = billing.tenant("tokyo", timezone="Asia/Tokyo", prefix="JP")
    monthly_usage_plan(billing, scope, currency="jpy")
    worked_example_events(billing, scope)

    assert billing.bill(scope, "2026-02", utc(2026, 2, 1, 3)).success

    inv = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)
    amounts = {line.display_name: line.amount for line in billing.lines(scope, inv.id)}
    # No included units: 1,600 calls → 10 + 600 × 0.008 = 14.8 → ¥15; 3 packages × 5 = ¥15;
    # 250 × 0.002 = 0.5 → ¥1 (half away from zero); platform fee ¥4,900.
    assert amounts == {
        "API calls": Decimal(15),
        "Storage": Decimal(15),
        "Emails": Decimal(1),
        "Platform fee": Decimal(4900),
    }
    assert (inv.currency, inv.subtotal, inv.total) == ("jpy", Decimal(4931), Decimal(4931))
    assert str(inv.total) == "4931"
    # Finalized at 03:00 UTC = 12:00 in Tokyo, February, with the tenant's own prefix.
    assert inv.invoice_number == "JP-202602-00001"
