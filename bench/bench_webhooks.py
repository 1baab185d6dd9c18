"""Webhook deliveries/s and HubSpot invoice syncs/s against local stubs on 127.0.0.1.

    .venv/bin/python bench/bench_webhooks.py [--events 2000] [--endpoints 2] [--invoices 500]
        [--concurrency 8] [--database-url postgresql://postgres@127.0.0.1:5432/<db>]

Webhooks: emit (event + fan-out rows), then ``deliver_pending`` — sign, POST, log the attempt, mark
delivered — to a receiver that answers 204. HubSpot: a first sync (company + contact + deal created
per customer/invoice) and a re-run (all PATCHes), through the real hubspot-api-client. The catalog is
a fresh SQLite file unless ``--database-url`` names an empty database.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from hubspot import HubSpot

from flexprice_pipelines.catalog import Repository, Scope, db
from flexprice_pipelines.catalog.models import Customer, Invoice
from flexprice_pipelines.catalog.secrets import SecretBox, generate_key, using
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.integrations.destinations import DestinationPolicy
from flexprice_pipelines.integrations.hubspot import sync_invoices_to_hubspot
from flexprice_pipelines.integrations.webhooks import (
    INVOICE_FINALIZED,
    WebhookEndpoint,
    deliver_pending,
    emit_system_event,
    generate_secret,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the stubs live in tests/
from tests.support.hubspot_stub import running_stub

NOW = datetime(2025, 3, 10, 12, tzinfo=UTC)


@contextmanager
def receiver() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


def bench_webhooks(sessions, scope: Scope, events: int, endpoints: int, concurrency: int) -> None:  # type: ignore[no-untyped-def]
    with receiver() as url, httpx.Client() as http:
        with sessions() as session:
            for _ in range(endpoints):
                Repository(session, scope, WebhookEndpoint).create(
                    url=url, enabled_events=[INVOICE_FINALIZED], secret=generate_secret()
                )
            session.commit()
        started = time.perf_counter()
        with sessions() as session:
            for n in range(events):
                payload = {"invoice_id": f"inv_{n}", "total": Decimal("19.90"), "currency": "usd"}
                emit_system_event(session, scope, INVOICE_FINALIZED, payload, NOW)
            session.commit()
        emitted = time.perf_counter() - started
        started = time.perf_counter()
        with sessions() as session:
            # The receiver is on 127.0.0.1: loopback allowed, as in development.
            loopback = DestinationPolicy(allow_loopback=True)
            summary = deliver_pending(session, http, NOW, concurrency=concurrency, destinations=loopback)
            session.commit()
        delivered = time.perf_counter() - started
    assert summary.delivered == events * endpoints, summary
    print(
        f"webhooks: emitted {events} events × {endpoints} endpoints in {emitted:.2f}s "
        f"({events / emitted:,.0f} events/s)"
    )
    print(f"webhooks: delivered {summary.delivered} (concurrency {concurrency}) in {delivered:.2f}s "
          f"→ {summary.delivered / delivered:,.0f} deliveries/s")  # fmt: skip


def bench_hubspot(sessions, scope: Scope, invoices: int) -> None:  # type: ignore[no-untyped-def]
    with running_stub() as stub, sessions() as session:
        customers = [
            Repository(session, scope, Customer).create(
                external_id=f"cust-{n}", name=f"Customer {n}", email=f"billing{n}@example.test"
            )
            for n in range(max(1, invoices // 2))
        ]
        rows = [
            Repository(session, scope, Invoice).create(
                customer_id=customers[n % len(customers)].id,
                invoice_status="FINALIZED",
                billing_reason="SUBSCRIPTION_CYCLE",
                currency="usd",
                total=Decimal("42.50"),
                finalized_at=NOW,
                invoice_number=f"INV-202503-{n:05d}",
            )
            for n in range(invoices)
        ]
        session.commit()
        client = HubSpot(access_token=stub.access_token, host=stub.url)
        for label in ("first sync (creates)", "re-run (updates)"):
            started = time.perf_counter()
            summary = sync_invoices_to_hubspot(session, scope, rows, client)
            session.commit()
            elapsed = time.perf_counter() - started
            assert summary.synced == invoices and not summary.failures, summary
            calls = sum(summary.created.values()) + sum(summary.updated.values())
            print(f"hubspot {label}: {invoices} invoices, {calls} API calls in {elapsed:.2f}s "
                  f"→ {invoices / elapsed:,.0f} invoices/s, {calls / elapsed:,.0f} calls/s")  # fmt: skip
        assert stub.count("deals") == invoices and stub.count("companies") == len(customers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=2)
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    # Stored secrets are encrypted: a throwaway key for the throwaway catalog.
    with tempfile.TemporaryDirectory() as tmp, using(SecretBox([generate_key()])):
        url = args.database_url or f"sqlite:///{Path(tmp) / 'catalog.db'}"
        db.migrate(url)
        engine = db.make_engine(url)
        sessions = db.session_factory(engine)
        with sessions() as session:
            tenant, env, _ = create_tenant(session, "bench")
            session.commit()
        scope = Scope(tenant.id, env.id)
        print(f"catalog: {engine.dialect.name}")
        bench_webhooks(sessions, scope, args.events, args.endpoints, args.concurrency)
        bench_hubspot(sessions, scope, args.invoices)
        engine.dispose()


if __name__ == "__main__":
    main()
