"""``flexprice demo`` end to end: a small run (20k events) twice in one home, with the clock frozen."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexprice_pipelines.catalog import Repository, Scope, db
from flexprice_pipelines.catalog.models import Customer, Invoice, InvoiceLineItem, Subscription
from flexprice_pipelines.cli import app
from flexprice_pipelines.demo.runner import DemoResult, run_demo
from flexprice_pipelines.demo.scenario import demo_months
from flexprice_pipelines.demo.summary import money, summary_table
from flexprice_pipelines.warehouse import make_warehouse

NOW = datetime(2025, 11, 21, 12, tzinfo=UTC)
EVENTS = 20_000


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, DemoResult]:
    home = tmp_path_factory.mktemp("demo") / "home"
    first = run_demo(home, NOW, events=EVENTS, engine="python")
    second = run_demo(home, NOW, events=EVENTS, engine="python")
    return first, second


@pytest.fixture(scope="module")
def invoices(runs: tuple[DemoResult, DemoResult]) -> dict[str, list[tuple[Invoice, Subscription]]]:
    """The second run's invoices per customer external id, with their subscription."""
    result = runs[1]
    engine = db.make_engine(f"sqlite:///{result.home / 'catalog.db'}")
    with db.session_factory(engine)() as session:
        scope = Scope(result.tenant_id, result.environment_id)
        customers = {c.id: c.external_id for c in Repository(session, scope, Customer).list(limit=100).items}
        subs = {s.id: s for s in Repository(session, scope, Subscription).list(limit=100).items}
        found: dict[str, list[tuple[Invoice, Subscription]]] = defaultdict(list)
        for inv in session.scalars(Repository(session, scope, Invoice).select()):
            assert inv.subscription_id is not None
            found[customers[inv.customer_id]].append((inv, subs[inv.subscription_id]))
        session.expunge_all()
    engine.dispose()
    return found


def test_every_partition_succeeds_and_every_event_lands(runs: tuple[DemoResult, DemoResult]) -> None:
    for result in runs:
        assert [p.success for p in result.partitions] == [True, True, True]
        assert result.months == [m.key for m in demo_months(NOW)] == ["2025-08", "2025-09", "2025-10"]
        assert result.events_sent == result.events_inserted
        assert result.events_distinct == EVENTS
    # The second run wiped the first one's home, so only its own warehouse is left to read.
    result = runs[1]
    store = make_warehouse(f"duckdb:///{result.home / 'warehouse.duckdb'}")
    [(tenants, versions, distinct, latest)] = store.query(
        "select count(distinct tenant_id), count(*), count(distinct event_id), "
        "(select count(*) from raw_events_latest) from raw_events"
    )
    store.close()
    assert tenants == 1 and versions == result.events_sent
    assert distinct == latest == EVENTS < versions  # re-sent ids are extra versions of the same events


def test_each_subscription_has_a_cycle_invoice_in_each_month(
    invoices: dict[str, list[tuple[Invoice, Subscription]]],
) -> None:
    months = {m.key for m in demo_months(NOW)}
    assert set(invoices) == {"acme", "globex", "initech", "hooli", "umbrella"}
    for customer, rows in invoices.items():
        billed = {
            f"{inv.period_end.astimezone(UTC):%Y-%m}"
            for inv, _ in rows
            if inv.billing_reason == "SUBSCRIPTION_CYCLE"
        }
        assert months <= billed, customer


def test_numbers_are_gapless_in_the_finalization_month(runs: tuple[DemoResult, DemoResult]) -> None:
    for result in runs:
        numbers = sorted(r.number for r in result.rows if r.number)
        finalized = [r for r in result.rows if r.status == "FINALIZED"]
        assert len(numbers) == len(finalized) > 10
        assert numbers == [f"INV-202511-{n:05d}" for n in range(1, len(numbers) + 1)]


def test_the_jpy_invoices_have_no_decimals(invoices: dict[str, list[tuple[Invoice, Subscription]]]) -> None:
    rows = [inv for inv, _ in invoices["initech"] if inv.invoice_status == "FINALIZED"]
    assert rows and all(inv.currency == "jpy" for inv in rows)
    for inv in rows:
        for amount in (inv.subtotal, inv.total_tax, inv.total):
            assert amount == amount.to_integral_value() and amount.as_tuple().exponent >= 0
            assert "." not in money(amount, inv.currency)
        assert inv.total_tax > 0


def test_the_trial_is_free_and_the_first_paid_period_is_billed_at_trial_end(
    runs: tuple[DemoResult, DemoResult], invoices: dict[str, list[tuple[Invoice, Subscription]]]
) -> None:
    hooli = invoices["hooli"]
    [(create, sub)] = [(i, s) for i, s in hooli if i.billing_reason == "SUBSCRIPTION_CREATE"]
    assert sub.trial_end is not None
    assert create.invoice_status == "SKIPPED" and create.invoice_number is None
    assert create.subtotal == create.total == Decimal(0)
    [trial] = [
        i for i, s in hooli if i.billing_reason == "SUBSCRIPTION_CYCLE" and i.period_end == s.trial_end
    ]
    assert (trial.period_end - trial.period_start).days == 14
    result = runs[1]
    engine = db.make_engine(f"sqlite:///{result.home / 'catalog.db'}")
    with db.session_factory(engine)() as session:
        scope = Scope(result.tenant_id, result.environment_id)
        lines = list(session.scalars(Repository(session, scope, InvoiceLineItem).select()))
    engine.dispose()
    trial_lines = [ln for ln in lines if ln.invoice_id == trial.id]
    # Nothing of the trial window is billed: only the first paid period's ADVANCE fee, at trial end.
    assert trial_lines and trial.subtotal > 0
    assert all(ln.price_type == "FIXED" and ln.period_start == sub.trial_end for ln in trial_lines)
    assert sum(ln.amount for ln in trial_lines) == trial.subtotal


def test_coupon_tax_and_prepaid_credits_show_up(
    invoices: dict[str, list[tuple[Invoice, Subscription]]],
) -> None:
    def finalized(customer: str) -> list[Invoice]:
        return [inv for inv, _ in invoices[customer] if inv.invoice_status == "FINALIZED"]

    assert any(inv.total_discount > 0 for inv in finalized("globex"))
    assert all(
        inv.total_discount == 0 for c in ("acme", "initech", "hooli", "umbrella") for inv in finalized(c)
    )
    assert all(inv.total_tax > 0 for c in ("acme", "globex", "initech") for inv in finalized(c))
    assert all(inv.total_tax == 0 for c in ("hooli", "umbrella") for inv in finalized(c))
    # The 150-credit top-up and the 25-credit monthly grant pay part of acme's invoices, nobody else's.
    acme_credits = sum((inv.total_prepaid_credits_applied for inv in finalized("acme")), Decimal(0))
    assert Decimal(150) < acme_credits <= Decimal(150) + 4 * Decimal(25)
    assert all(
        inv.total_prepaid_credits_applied == 0
        for c in ("globex", "hooli", "umbrella")
        for inv in finalized(c)
    )
    for c in invoices:
        for inv in finalized(c):
            assert (
                inv.total
                == inv.subtotal - inv.total_discount + inv.total_tax - inv.total_prepaid_credits_applied
            )


def test_a_pdf_is_written_for_every_finalized_invoice(runs: tuple[DemoResult, DemoResult]) -> None:
    result = runs[1]
    finalized = [r for r in result.rows if r.status == "FINALIZED"]
    assert result.pdfs_written == len(finalized)
    for row in finalized:
        assert row.pdf is not None and row.pdf.startswith("file://")
        path = Path(row.pdf.removeprefix("file://"))
        assert path.is_relative_to(result.pdf_dir) and path.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        sample = next(r for r in finalized if r.customer == "initech")
        text = subprocess.run(
            ["pdftotext", "-layout", sample.pdf.removeprefix("file://"), "-"],  # type: ignore[union-attr]
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert sample.number in text and money(sample.total, sample.currency) in text  # type: ignore[operator]


def test_a_second_run_in_the_same_home_gives_the_same_summary(runs: tuple[DemoResult, DemoResult]) -> None:
    first, second = runs
    assert first.tenant_id != second.tenant_id  # the home was wiped and seeded again
    assert [r.comparable() for r in first.rows] == [r.comparable() for r in second.rows]
    assert len(first.rows) >= 15
    assert summary_table(second.rows).row_count == len(second.rows)


def test_the_demo_refuses_to_wipe_a_directory_it_did_not_create(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")

    result = CliRunner().invoke(
        app, ["demo", "--home", str(tmp_path), "--events", "1000", "--now", NOW.isoformat()]
    )

    assert result.exit_code == 2
    assert "refusing to wipe" in result.output
    assert (tmp_path / "precious.txt").read_text() == "keep me"
