"""Rating + invoicing one (tenant, month) partition with N subscriptions: seconds and peak memory.

    .venv/bin/python bench/bench_rating.py               # 10,000 subscriptions, pure stages + catalog writes
    .venv/bin/python bench/bench_rating.py --subs 1000 --no-write
    .venv/bin/python bench/bench_rating.py --postgres postgresql+psycopg2://postgres@127.0.0.1:5432/postgres

Each subscription has a tiered API-call price (with included units), a package storage price, a
flat email price and a fixed monthly fee billed in advance, plus a coupon and a tax. Usage rows are
synthetic (the usage model is benchmarked in bench_period_usage.py). Stages timed:
plan (windows), rate (priced lines), assemble (coupons, credit, tax), and with --write the ledger
writes of ``settle_environment`` into a fresh catalog (finalization with numbering): SQLite in tmp, or
with ``--postgres`` a throwaway database created next to the given one (dropped afterwards).
Peak memory: tracemalloc peak of the pure stages, and the process max RSS.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from flexprice_pipelines.billing.enums import BillingPeriod
from flexprice_pipelines.billing.invoicing import Coupon, TaxRate
from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.billing.pricing import Price
from flexprice_pipelines.billing.rating import (
    CouponTerms,
    LineItemTerms,
    SubscriptionTerms,
    UsageRow,
    assemble_invoices,
    plan_partition,
    rate_partition,
)

MONTH = YearMonth(2026, 2)
NOW = datetime(2026, 3, 1, tzinfo=UTC)
GRACE = timedelta(hours=2)


def _prices() -> dict[str, Price]:
    common = {"currency": "usd", "billing_period": "MONTHLY"}
    return {
        "api": Price.model_validate(
            {
                **common,
                "id": "price_api",
                "type": "USAGE",
                "billing_model": "TIERED",
                "tier_mode": "SLAB",
                "invoice_cadence": "ARREAR",
                "meter_id": "meter_api",
                "tiers": [
                    {"up_to": 1000, "unit_amount": "0.01"},
                    {"up_to": 5000, "unit_amount": "0.008"},
                    {"up_to": None, "unit_amount": "0.005"},
                ],
            }
        ),
        "storage": Price.model_validate(
            {
                **common,
                "id": "price_storage",
                "type": "USAGE",
                "billing_model": "PACKAGE",
                "amount": "5",
                "transform_quantity": {"divide_by": 10},
                "invoice_cadence": "ARREAR",
                "meter_id": "meter_storage",
            }
        ),
        "emails": Price.model_validate(
            {
                **common,
                "id": "price_emails",
                "type": "USAGE",
                "billing_model": "FLAT_FEE",
                "amount": "0.002",
                "invoice_cadence": "ARREAR",
                "meter_id": "meter_emails",
            }
        ),
        "fee": Price.model_validate(
            {
                **common,
                "id": "price_fee",
                "type": "FIXED",
                "billing_model": "FLAT_FEE",
                "amount": "49",
                "invoice_cadence": "ADVANCE",
            }
        ),
    }


def build_subscriptions(
    n: int, tenant: str = "tenant_bench", env: str = "env_bench"
) -> list[SubscriptionTerms]:
    """N monthly subscriptions with anniversaries spread over January (all end one period in February)."""
    prices = _prices()
    coupon = CouponTerms(
        coupon=Coupon(id="coupon_ten", type="percentage", percentage_off=Decimal(10), cadence="forever")
    )
    tax = TaxRate(id="tax_ny", name="NY", percentage_value=Decimal("8.875"))
    subs = []
    for i in range(n):
        start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=(i * 37) % (28 * 24 * 60))
        items = tuple(
            LineItemTerms(
                line_item_id=f"li_{i}_{key}",
                price=price,
                display_name=key,
                included_units=Decimal(100) if key == "api" else None,
            )
            for key, price in prices.items()
        )
        subs.append(
            SubscriptionTerms(
                tenant_id=tenant,
                environment_id=env,
                subscription_id=f"subs_{i:06d}",
                customer_id=f"cust_{i:06d}",
                external_customer_id=f"c{i}",
                plan_id="plan_bench",
                currency="usd",
                start=start,
                billing_period=BillingPeriod.MONTHLY,
                line_items=items,
                coupons=(coupon,),
                tax_rates=(tax,),
            )
        )
    return subs


def run_pure(subs: list[SubscriptionTerms]) -> tuple[object, list[object], dict[str, float]]:
    rng = random.Random(7)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    plan = plan_partition(subs, MONTH, NOW, GRACE)
    timings["plan"] = time.perf_counter() - t
    usage = {
        w.window_id: UsageRow(window_id=w.window_id, quantity=Decimal(rng.randint(0, 20_000)))
        for w in plan.windows
    }
    by_id = {s.subscription_id: s for s in subs}
    t = time.perf_counter()
    lines = rate_partition(plan, by_id, usage, {})
    timings["rate"] = time.perf_counter() - t
    t = time.perf_counter()
    drafts = assemble_invoices(plan, by_id, lines, {})
    timings["assemble"] = time.perf_counter() - t
    return plan, drafts, timings


def _fresh_database(postgres: str | None) -> str:
    if postgres is None:
        return f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_rating"))
        conn.execute(text("CREATE DATABASE bench_rating"))
    admin.dispose()
    return make_url(postgres).set(database="bench_rating").render_as_string(hide_password=False)


def run_writes(subs: list[SubscriptionTerms], drafts: list[object], postgres: str | None = None) -> float:
    """Seed a catalog with the subscriptions' rows, then time ``settle_environment`` (the whole partition write)."""
    from flexprice_pipelines.catalog import Scope, db
    from flexprice_pipelines.catalog.models import Customer, Meter, Plan, Subscription
    from flexprice_pipelines.catalog.models import Price as PriceRow
    from flexprice_pipelines.catalog.tenancy import create_tenant
    from flexprice_pipelines.ledger.settle import settle_environment
    from flexprice_pipelines.ledger.terms import EnvironmentTerms

    url = _fresh_database(postgres)
    db.migrate(url)
    sessions = db.session_factory(db.make_engine(url))
    with sessions() as session:
        tenant, env, _ = create_tenant(session, "bench")
        scope = Scope(tenant.id, env.id)
        stamp = {"tenant_id": scope.tenant_id, "environment_id": scope.environment_id}
        session.add(Plan(id="plan_bench", name="Bench", **stamp))
        for meter in ("meter_api", "meter_storage", "meter_emails"):
            session.add(Meter(id=meter, event_name=meter, name=meter, aggregation={"type": "COUNT"}, **stamp))
        for key, price in _prices().items():
            session.add(
                PriceRow(
                    id=price.id,
                    currency="usd",
                    type=price.type.value,
                    billing_model=price.billing_model.value,
                    billing_period="MONTHLY",
                    invoice_cadence=price.invoice_cadence.value,
                    lookup_key=key,
                    **stamp,
                )
            )
        session.flush()
        for s in subs:
            session.add(
                Customer(id=s.customer_id, external_id=s.external_customer_id, name=s.customer_id, **stamp)
            )
            session.add(
                Subscription(
                    id=s.subscription_id,
                    customer_id=s.customer_id,
                    plan_id="plan_bench",
                    currency="usd",
                    billing_anchor=s.start,
                    start_date=s.start,
                    current_period_start=s.start,
                    current_period_end=s.start,
                    billing_period="MONTHLY",
                    **stamp,
                )
            )
        session.commit()
    bench_subs = [_rescope(s, scope) for s in subs]
    _, scoped_drafts, _ = run_pure(bench_subs)
    terms = EnvironmentTerms(
        scope=scope,
        invoice_prefix="INV",
        grace=GRACE,
        timezone="UTC",
        subscriptions=tuple(bench_subs),
        meters={},
    )
    t = time.perf_counter()
    with db.write_session(sessions) as session:
        summary = settle_environment(session, terms, scoped_drafts, now=NOW)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - t
    print(
        f"  settled: finalized={summary.finalized} skipped={summary.skipped} numbers up to {summary.numbers[-1]}"
    )
    t = time.perf_counter()
    with db.write_session(sessions) as session:
        again = settle_environment(session, terms, scoped_drafts, now=NOW)  # type: ignore[arg-type]
    print(
        f"  re-run of the finalized partition: {time.perf_counter() - t:.2f}s, unchanged={again.unchanged_final}"
    )
    return elapsed


def _rescope(sub: SubscriptionTerms, scope: object) -> SubscriptionTerms:
    from dataclasses import replace

    return replace(sub, tenant_id=scope.tenant_id, environment_id=scope.environment_id)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subs", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true", help="skip the catalog writes")
    parser.add_argument("--postgres", help="PostgreSQL URL to create the throwaway bench database from")
    args = parser.parse_args()
    subs = build_subscriptions(args.subs)
    tracemalloc.start()
    plan, drafts, timings = run_pure(subs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Timings again without tracemalloc's overhead.
    _, _, timings = run_pure(subs)
    pure = sum(timings.values())
    print(f"{args.subs} subscriptions → {len(plan.invoices)} invoices, {len(plan.charges)} charges")  # type: ignore[attr-defined]
    print("  " + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()) + f"; rating + invoicing {pure:.2f}s")
    print(f"  peak traced memory (pure stages) {peak / 2**20:.1f} MiB")
    if not args.no_write:
        elapsed = run_writes(subs, drafts, args.postgres)
        print(f"  ledger writes (drafts → finalized, numbered, lines) {elapsed:.2f}s")
        print(f"  whole partition (rating + invoicing + ledger writes) {pure + elapsed:.2f}s")
    print(f"  process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
