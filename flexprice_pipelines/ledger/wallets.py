"""Wallets: one active prepaid wallet per customer and currency, top-ups through the ledger."""

from __future__ import annotations

from datetime import datetime

from flexprice_pipelines.billing.errors import BillingError
from flexprice_pipelines.billing.wallets import NewWallet, TopUp, credits_for
from flexprice_pipelines.catalog.errors import Conflict
from flexprice_pipelines.catalog.models import Wallet, WalletTransaction
from flexprice_pipelines.catalog.repository import CatalogSession
from flexprice_pipelines.catalog.services.subscriptions import find_customer
from flexprice_pipelines.ledger.operations import credit_wallet


def create_wallet(catalog: CatalogSession, body: NewWallet, now: datetime) -> Wallet:
    """Open a wallet (409 if the customer already has an active one in this currency), then load credits."""
    customer = find_customer(catalog, body.customer_id, body.external_customer_id)
    wallets = catalog.repo(Wallet)
    if wallets.find_one(customer_id=customer.id, currency=body.currency, wallet_status="active") is not None:
        raise Conflict("currency", "the customer already has an active wallet in this currency")
    wallet = wallets.create(
        customer_id=customer.id,
        currency=body.currency,
        name=body.name,
        description=body.description,
        conversion_rate=body.conversion_rate,
        wallet_type=body.wallet_type,
        metadata=dict(body.metadata),
    )
    if body.initial_credits_to_load is not None:
        credit_wallet(
            catalog.session,
            catalog.scope,
            wallet.id,
            body.initial_credits_to_load,
            transaction_reason="FREE_CREDIT_GRANT",
            description="initial credits",
            now=now,
        )
    return wallet


def top_up(catalog: CatalogSession, wallet_id: str, body: TopUp, now: datetime) -> WalletTransaction:
    """Add credits (row-locked, idempotent per ``idempotency_key``)."""
    wallet = catalog.repo(Wallet).get(wallet_id)
    if body.expiry_date is not None and body.expiry_date <= now:
        raise BillingError("must be in the future", field="body.expiry_date")
    return credit_wallet(
        catalog.session,
        catalog.scope,
        wallet.id,
        credits_for(body, wallet.conversion_rate),
        transaction_reason=body.transaction_reason,
        idempotency_key=body.idempotency_key,
        priority=body.priority,
        expiry_date=body.expiry_date,
        description=body.description,
        now=now,
    )
