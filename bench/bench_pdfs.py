"""Invoice PDFs per second: render 1,000 varied invoices (and store them in a local object store).

    .venv/bin/python bench/bench_pdfs.py [--count 1000] [--workers N]

Prints one process and a process pool (one Typst compiler per worker); target ≥ 100 PDFs/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from flexprice_pipelines.integrations.object_store import LocalObjectStore
from flexprice_pipelines.integrations.pdf import (
    Adjustment,
    DocumentLine,
    InvoiceDocument,
    Party,
    TierRow,
    render_invoice_pdf,
)

CURRENCIES = ("usd", "eur", "jpy", "kwd", "inr")
START, END = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)


def invoice(i: int) -> InvoiceDocument:
    """A deterministic invoice with 1–12 lines, some tiered, with coupons and taxes on some."""
    currency = CURRENCIES[i % len(CURRENCIES)]
    lines = []
    for j in range(1 + i % 12):
        qty = Decimal(1000 + 137 * j)
        tiers = (
            TierRow(
                tier_index=0,
                from_quantity=Decimal(0),
                up_to=Decimal(1000),
                quantity=Decimal(1000),
                unit_amount=Decimal("0.02"),
                flat_amount=Decimal(0),
                amount=Decimal(20),
            ),
            TierRow(
                tier_index=1,
                from_quantity=Decimal(1000),
                up_to=None,
                quantity=qty - 1000,
                unit_amount=Decimal("0.01"),
                flat_amount=Decimal(0),
                amount=(qty - 1000) * Decimal("0.01"),
            ),
        )
        amount = sum((t.amount for t in tiers), Decimal(0))
        lines.append(
            DocumentLine(
                display_name=f"Meter {j}", price_type="USAGE", quantity=qty, amount=amount, tiers=tiers
            )
        )
    subtotal = sum((line.amount for line in lines), Decimal(0))
    discount = (subtotal / 10).quantize(Decimal("0.01")) if i % 3 == 0 else Decimal(0)
    tax = ((subtotal - discount) * Decimal("0.08")).quantize(Decimal("0.01")) if i % 2 == 0 else Decimal(0)
    total = subtotal - discount + tax
    return InvoiceDocument(
        invoice_id=f"inv_{i:06d}",
        invoice_number=f"INV-202404-{i:05d}",
        status="FINALIZED",
        currency=currency,
        issuer=Party(name="Acme Metering Inc.", address_lines=("1 Market St", "San Francisco, CA")),
        customer=Party(name=f"Customer {i}", email=f"ap{i}@example.test", reference=f"cust-{i}"),
        issued_at=END,
        due_at=datetime(2024, 4, 15, tzinfo=UTC),
        period_start=START,
        period_end=END,
        lines=tuple(lines),
        discounts=(Adjustment(label="SPRING10", amount=discount),) if discount else (),
        taxes=(Adjustment(label="Sales tax", amount=tax, rate=Decimal(8)),) if tax else (),
        subtotal=subtotal,
        total_discount=discount,
        total_tax=tax,
        total=total,
        amount_due=total,
    )


def render_and_store(args: tuple[int, int, str]) -> tuple[int, float]:
    """Render invoices ``[start, stop)`` into the store at ``root``; returns (bytes written, CPU seconds)."""
    start, stop, root = args
    store = LocalObjectStore(root)
    written = 0
    cpu = time.process_time()
    for i in range(start, stop):
        pdf = render_invoice_pdf(invoice(i))
        store.put(f"invoices/bench/inv_{i:06d}.pdf", pdf, "application/pdf")
        written += len(pdf)
    return written, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as root:
        render_invoice_pdf(invoice(0))  # warm up: font loading is a one-off per process
        began = time.perf_counter()
        written, cpu = render_and_store((0, args.count, root))
        single = time.perf_counter() - began
        print(
            f"1 process : {args.count} PDFs in {single:.2f}s = {args.count / single:.0f} PDFs/s wall; "
            f"{cpu / args.count * 1000:.1f} ms CPU per PDF = {args.count / cpu:.0f} PDFs/s per free core "
            f"(avg {written / args.count / 1024:.1f} KiB)"
        )

        chunk = -(-args.count // (args.workers * 4))
        tasks = [(s, min(s + chunk, args.count), root) for s in range(0, args.count, chunk)]
        # spawn, not fork: the parent's Typst compiler owns threads, and a forked child inherits
        # their locks but not the threads, so it deadlocks on its first compile.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.workers, mp_context=spawn) as pool:
            list(pool.map(render_and_store, [(0, 1, root)] * args.workers))  # start workers, load fonts
            began = time.perf_counter()
            results = list(pool.map(render_and_store, tasks))
            pooled = time.perf_counter() - began
        assert sum(r[0] for r in results) == written, "pool output differs from the single-process output"
        files = len(list(Path(root, "invoices", "bench").iterdir()))
        pool_cpu = sum(r[1] for r in results)
        print(
            f"{args.workers} workers: {args.count} PDFs in {pooled:.2f}s = {args.count / pooled:.0f} PDFs/s wall; "
            f"{pool_cpu / args.count * 1000:.1f} ms CPU per PDF ({files} files stored)"
        )
        # Wall figures depend on what else runs; load average says how contended the cores were.
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
