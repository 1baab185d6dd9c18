"""Wallets through the API: the request bodies as domain values for ``ledger.wallets``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import or_

from api.schemas.wallets import TopUpRequest, WalletCreate
from flexprice_pipelines.billing.wallets import NewWallet, TopUp
from flexprice_pipelines.catalog import CatalogSession
from flexprice_pipelines.catalog.models import Wallet, WalletTransaction
from flexprice_pipelines.ledger import wallets as catalog_service

# What the ledger opens a wallet from; the request's neutral fields are at their "none" values.
NEW_WALLET_FIELDS = {
    "currency", "customer_id", "external_customer_id", "name", "description", "conversion_rate",
    "wallet_type", "initial_credits_to_load", "metadata",
}  # fmt: skip


def create_wallet(catalog: CatalogSession, body: WalletCreate, now: datetime) -> Wallet:
    """Open a wallet (409 if the customer already has an active one in this currency), then load credits."""
    return catalog_service.create_wallet(
        catalog, NewWallet(**body.model_dump(include=NEW_WALLET_FIELDS)), now
    )


def top_up(catalog: CatalogSession, wallet_id: str, body: TopUpRequest, now: datetime) -> WalletTransaction:
    """Add credits (row-locked, idempotent per ``idempotency_key``)."""
    return catalog_service.top_up(catalog, wallet_id, TopUp(**body.model_dump()), now)


def available_credits(catalog: CatalogSession, wallet_id: str, at: datetime) -> Decimal:
    """Unconsumed credits of the wallet's credit transactions that have not expired at ``at``.

    Summed in SQL, exactly (``Repository.total``), over every transaction: a wallet may have any number.
    """
    unexpired = or_(WalletTransaction.expiry_date.is_(None), WalletTransaction.expiry_date > at)
    return catalog.repo(WalletTransaction).total(
        "credits_available", unexpired, wallet_id=wallet_id, type="credit"
    )
