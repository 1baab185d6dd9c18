"""``/v1/wallets``: prepaid credit wallets, top-ups, transactions and balances."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, status

from api.crud import PageDep, filters, page_of
from api.deps import CatalogDep, NowDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Currency, Id, ListResponse
from api.schemas.wallets import (
    TopUpRequest,
    TopUpResponse,
    WalletBalance,
    WalletCreate,
    WalletPublic,
    WalletTransactionPublic,
    WalletUpdate,
)
from api.search import NotYet, Number, SearchField, SearchSpec, Shortcut, add_search_route
from api.services import wallets as service
from flexprice_pipelines.catalog.models import Wallet, WalletTransaction

router = domain_router("/v1/wallets", "wallets")
IdPath = Annotated[Id, Path(description="Wallet id (wallet_…).")]


@router.post("", status_code=status.HTTP_200_OK, response_model=WalletPublic)
def create_wallet(body: WalletCreate, catalog: WriteCatalogDep, now: NowDep) -> Wallet:
    """Open a wallet for a customer, optionally loaded with ``initial_credits_to_load``.

    Answers 200, as Flexprice documents for this create (its other creates answer 201)."""
    wallet = service.create_wallet(catalog, body, now)
    catalog.commit()
    return catalog.repo(Wallet).get(wallet.id)


@router.get("", response_model=ListResponse[WalletPublic])
def list_wallets(
    catalog: CatalogDep,
    page: PageDep,
    customer_id: Annotated[Id | None, Query()] = None,
    currency: Annotated[Currency | None, Query()] = None,
    wallet_status: Annotated[Literal["active", "frozen", "closed"] | None, Query()] = None,
) -> ListResponse[WalletPublic]:
    """Wallets, oldest first, filtered by customer, currency or status."""
    chosen = filters(customer_id=customer_id, currency=currency, wallet_status=wallet_status)
    return page_of(WalletPublic, catalog.repo(Wallet).list(limit=page.limit, offset=page.offset, **chosen))


SEARCH = SearchSpec(
    "wallets",
    Wallet,
    {
        "id": SearchField("string"),
        "status": SearchField("string"),
        "created_at": SearchField("date"),
        "updated_at": SearchField("date"),
        "customer_id": SearchField("string"),
        "name": SearchField("string"),
        "currency": SearchField("string"),
        "wallet_type": SearchField("string"),
        "wallet_status": SearchField("string"),
    },
    shortcuts={"wallet_ids": Shortcut("id", "in")},
    customer_column="customer_id",
    sort_as_string=True,
    status_column="wallet_status",
    status_values=("active", "frozen", "closed"),
    not_yet={"alert_enabled": NotYet(bool, (False,), why="Wallet alerts are not built yet.")},
)
add_search_route(router, SEARCH, WalletPublic)

TRANSACTION_SEARCH = SearchSpec(
    "wallet_transactions",
    WalletTransaction,
    {
        "id": SearchField("string"),
        "status": SearchField("string"),
        "created_at": SearchField("date"),
        "updated_at": SearchField("date"),
        "wallet_id": SearchField("string"),
        "customer_id": SearchField("string"),
        "type": SearchField("string"),
        "currency": SearchField("string"),
        "transaction_status": SearchField("string"),
        "transaction_reason": SearchField("string"),
        "reference_type": SearchField("string"),
        "reference_id": SearchField("string"),
        "priority": SearchField("number"),
        "expiry_date": SearchField("date"),
    },
    shortcuts={
        "id": Shortcut("id"),
        "type": Shortcut("type"),
        "transaction_status": Shortcut("transaction_status"),
        "transaction_reason": Shortcut("transaction_reason"),
        "reference_type": Shortcut("reference_type"),
        "reference_id": Shortcut("reference_id"),
        "created_by": Shortcut("created_by"),
        "priority": Shortcut("priority", kind="integer"),
        "expiry_date_before": Shortcut("expiry_date", "lte", kind="date"),
        "expiry_date_after": Shortcut("expiry_date", "gte", kind="date"),
    },
    customer_column="customer_id",
    newest_first=True,
    not_yet={"credits_available_gt": NotYet(Number, why="Money is not filterable yet.")},
)
add_search_route(router, TRANSACTION_SEARCH, WalletTransactionPublic, path="/transactions/search")


@router.get("/{id}", response_model=WalletPublic)
def get_wallet(id: IdPath, catalog: CatalogDep) -> Wallet:
    """One wallet."""
    return catalog.repo(Wallet).get(id)


@router.put("/{id}", response_model=WalletPublic)
def update_wallet(id: IdPath, body: WalletUpdate, catalog: WriteCatalogDep) -> Wallet:
    """Change name, description or metadata (balances change only through top-ups and invoices)."""
    wallet = catalog.repo(Wallet).update(id, **body.set_fields())
    catalog.commit()
    return wallet


@router.post("/{id}/top-up", response_model=TopUpResponse)
def top_up_wallet(id: IdPath, body: TopUpRequest, catalog: WriteCatalogDep, now: NowDep) -> TopUpResponse:
    """Add credits: ``{wallet, wallet_transaction}`` as Flexprice answers; a repeated ``idempotency_key``
    adds nothing and answers the wallet with the first top-up's transaction."""
    transaction = service.top_up(catalog, id, body, now)
    catalog.commit()
    return TopUpResponse(
        wallet=WalletPublic.model_validate(catalog.repo(Wallet).get(id)),
        wallet_transaction=WalletTransactionPublic.model_validate(transaction),
    )


@router.get("/{id}/transactions", response_model=ListResponse[WalletTransactionPublic])
def list_wallet_transactions(
    id: IdPath,
    catalog: CatalogDep,
    page: PageDep,
    type: Annotated[Literal["credit", "debit"] | None, Query()] = None,
) -> ListResponse[WalletTransactionPublic]:
    """The wallet's transactions, newest first."""
    wallet = catalog.repo(Wallet).get(id)
    rows = catalog.repo(WalletTransaction).list(
        limit=page.limit, offset=page.offset, newest_first=True, **filters(wallet_id=wallet.id, type=type)
    )
    return page_of(WalletTransactionPublic, rows)


@router.get("/{id}/balance", response_model=WalletBalance)
def get_wallet_balance(id: IdPath, catalog: CatalogDep, now: NowDep) -> WalletBalance:
    """Balance in credits and in the wallet's currency, and the credits usable right now."""
    wallet = catalog.repo(Wallet).get(id)
    return WalletBalance(
        wallet_id=wallet.id,
        currency=wallet.currency,
        balance=wallet.balance,
        credit_balance=wallet.credit_balance,
        conversion_rate=wallet.conversion_rate,
        available_credits=service.available_credits(catalog, wallet.id, now),
        balance_updated_at=wallet.updated_at,
    )
