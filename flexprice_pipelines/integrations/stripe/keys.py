"""Stripe idempotency keys, derived only from our ids.

The same object always gets the same key, so a re-run or a retry after a crash half-way replays
Stripe's stored response instead of creating a second object (Stripe keeps keys for 24 hours; the
integration mappings cover anything older).
"""

from __future__ import annotations

from flexprice_pipelines.catalog.scope import Scope


def _prefix(scope: Scope) -> str:
    return f"fp:{scope.tenant_id}:{scope.environment_id}"


def customer_key(scope: Scope, customer_id: str) -> str:
    """Key of the Stripe customer of our customer (one per customer, shared by all its invoices)."""
    return f"{_prefix(scope)}:{customer_id}:customer"


def invoice_key(scope: Scope, invoice_id: str) -> str:
    """Key of the draft Stripe invoice of our invoice."""
    return f"{_prefix(scope)}:{invoice_id}:invoice"


def item_key(scope: Scope, invoice_id: str, item_id: str) -> str:
    """Key of the Stripe invoice item of one of our lines (or tax lines)."""
    return f"{_prefix(scope)}:{invoice_id}:item:{item_id}"


def finalize_key(scope: Scope, invoice_id: str) -> str:
    """Key of the finalization of the Stripe invoice."""
    return f"{_prefix(scope)}:{invoice_id}:finalize"
