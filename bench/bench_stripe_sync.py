"""Stripe sync throughput: invoices/s through the real SDK against the local Stripe stub.

    .venv/bin/python bench/bench_stripe_sync.py [--invoices 300] [--lines 5] [--customers 50]

A temporary SQLite catalog, FINALIZED invoices with ``--lines`` lines each; prints the first sync
(customers, invoices, items, finalization: 2 + lines HTTP calls per invoice plus one per new
customer) and the re-run (mappings only, no HTTP).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import stripe

from flexprice_pipelines.catalog import Repository, Scope, db
from flexprice_pipelines.catalog.models import Customer, Invoice, InvoiceLineItem
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.integrations.stripe.sync import SyncOutcome, sync_invoices_to_stripe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the stubs live in tests/
from tests.support.stripe_stub import StripeStub

NOW = datetime(2025, 3, 10, tzinfo=UTC)


def seed(session: object, scope: Scope, invoices: int, lines: int, customers: int) -> list[Invoice]:
    """Deterministic customers and finalized invoices."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    custs = [
        Repository(session, scope, Customer).create(external_id=f"c{i}", name=f"Customer {i}")
        for i in range(customers)
    ]
    out = []
    for i in range(invoices):
        cust = custs[i % customers]
        amounts = [Decimal(100 + 37 * j + i).scaleb(-2) for j in range(lines)]
        inv = Repository(session, scope, Invoice).create(
            customer_id=cust.id,
            invoice_status="FINALIZED",
            billing_reason="SUBSCRIPTION_CYCLE",
            currency="usd",
            subtotal=sum(amounts),
            total=sum(amounts),
            amount_due=sum(amounts),
            invoice_number=f"INV-202503-{i + 1:05d}",
        )
        for j, amount in enumerate(amounts):
            Repository(session, scope, InvoiceLineItem).create(
                invoice_id=inv.id,
                customer_id=cust.id,
                amount=amount,
                quantity=Decimal(1),
                currency="usd",
                display_name=f"line {j}",
            )
        out.append(inv)
    session.commit()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--lines", type=int, default=5)
    parser.add_argument("--customers", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, StripeStub() as stub:
        url = f"sqlite:///{Path(tmp) / 'catalog.db'}"
        db.migrate(url)
        engine = db.make_engine(url)
        with db.session_factory(engine)() as session:
            tenant, env, _ = create_tenant(session, "bench")
            scope = Scope(tenant.id, env.id)
            invoices = seed(session, scope, args.invoices, args.lines, args.customers)
            client = stripe.StripeClient(
                "sk_test_bench", base_addresses={"api": stub.url}, max_network_retries=0
            )
            for label in ("first sync", "re-run"):
                calls = len(stub.state.requests)
                started = time.perf_counter()
                summary = sync_invoices_to_stripe(session, scope, invoices, client, NOW)
                elapsed = time.perf_counter() - started
                ok = summary.count(SyncOutcome.SYNCED) + summary.count(SyncOutcome.ALREADY_SYNCED)
                assert ok == args.invoices, summary.metadata()
                print(
                    f"{label:>10}: {args.invoices} invoices × {args.lines} lines in {elapsed:.2f}s = "
                    f"{args.invoices / elapsed:,.0f} invoices/s ({len(stub.state.requests) - calls} HTTP calls)"
                )
            print(
                f"stub objects: {stub.count('customers')} customers, {stub.count('invoices')} invoices, "
                f"{stub.count('invoice_items')} items"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
