"""``/v1/prices``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, status

from api.crud import PageDep, filters, page_of
from api.deps import CatalogDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Currency, Id, ListResponse, SuccessResponse, Text, When
from api.schemas.prices import PriceCreate, PriceDelete, PricePublic, PriceUpdate
from api.search import NotYet, SearchField, SearchSpec, Shortcut, add_search_route
from api.services.plans import create_price as attach_price
from flexprice_pipelines.billing.pricing import BillingPeriod, PriceType
from flexprice_pipelines.catalog import NotFound
from flexprice_pipelines.catalog.models import Price

router = domain_router("/v1/prices", "prices")
IdPath = Annotated[Id, Path(description="Price id (price_…).")]

SEARCH = SearchSpec(
    "prices",
    Price,
    {
        "id": SearchField("string"),
        "status": SearchField("string"),
        "created_at": SearchField("date"),
        "updated_at": SearchField("date"),
        "currency": SearchField("string"),
        "type": SearchField("string"),
        "billing_model": SearchField("string"),
        "billing_period": SearchField("string"),
        "billing_period_count": SearchField("number"),
        "invoice_cadence": SearchField("string"),
        "billing_cadence": SearchField("string"),
        "meter_id": SearchField("string"),
        "entity_type": SearchField("string"),
        "entity_id": SearchField("string"),
        "lookup_key": SearchField("string"),
        "trial_period_days": SearchField("number"),
    },
    shortcuts={
        "price_ids": Shortcut("id", "in"),
        "plan_ids": Shortcut("entity_id", "in", {"entity_type": "PLAN"}),
        "subscription_id": Shortcut("entity_id", "eq", {"entity_type": "SUBSCRIPTION"}),
        "entity_type": Shortcut("entity_type"),
        "entity_ids": Shortcut("entity_id", "in"),
        "meter_ids": Shortcut("meter_id", "in"),
        "billing_periods": Shortcut("billing_period", "in"),
    },
    sort_as_string=True,
    # Prices here have no end date, so none is expired: the flag the SDK always sends changes nothing.
    flags={"allow_expired_prices": False},
    not_yet={
        "parent_price_id": NotYet(Text, why="Prices are not versioned yet."),
        "start_date_lt": NotYet(When, why="Prices have no start date here."),
    },
)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PricePublic)
def create_price(body: PriceCreate, catalog: WriteCatalogDep) -> Price:
    """Create a price on a plan (or subscription); every §3 rule is checked and named on failure."""
    price = attach_price(catalog, body, body.entity_type, body.entity_id, "body")
    catalog.commit()
    return price


@router.get("", response_model=ListResponse[PricePublic])
def list_prices(
    catalog: CatalogDep,
    page: PageDep,
    entity_type: Annotated[Literal["PLAN", "SUBSCRIPTION"] | None, Query()] = None,
    entity_id: Annotated[Id | None, Query(description="E.g. a plan id.")] = None,
    currency: Annotated[Currency | None, Query()] = None,
    type: Annotated[PriceType | None, Query()] = None,
    billing_period: Annotated[BillingPeriod | None, Query()] = None,
    meter_id: Annotated[Id | None, Query()] = None,
    lookup_key: Annotated[Text | None, Query()] = None,
) -> ListResponse[PricePublic]:
    """Prices, oldest first, filtered by owner, currency, type, billing period, meter or lookup key."""
    chosen = filters(
        entity_type=entity_type,
        entity_id=entity_id,
        currency=currency,
        type=type.value if type else None,
        billing_period=billing_period.value if billing_period else None,
        meter_id=meter_id,
        lookup_key=lookup_key,
    )
    return page_of(PricePublic, catalog.repo(Price).list(limit=page.limit, offset=page.offset, **chosen))


add_search_route(router, SEARCH, PricePublic)


@router.get("/lookup/{lookup_key}", response_model=PricePublic)
def get_price_by_lookup_key(
    lookup_key: Annotated[Text, Path(description="The price's lookup_key.")], catalog: CatalogDep
) -> Price:
    """The live price with this ``lookup_key`` in the caller's scope (404 otherwise, another tenant's too)."""
    price = catalog.repo(Price).find_one(lookup_key=lookup_key)
    if price is None:
        raise NotFound("price", lookup_key)
    return price


@router.get("/{id}", response_model=PricePublic)
def get_price(id: IdPath, catalog: CatalogDep) -> Price:
    """One price."""
    return catalog.repo(Price).get(id)


@router.put("/{id}", response_model=PricePublic)
def update_price(id: IdPath, body: PriceUpdate, catalog: WriteCatalogDep) -> Price:
    """Change descriptive fields; amounts and tiers are immutable (create a new price instead)."""
    price = catalog.repo(Price).update(id, **body.set_fields())
    catalog.commit()
    return price


@router.delete("/{id}", response_model=SuccessResponse)
def delete_price(id: IdPath, catalog: WriteCatalogDep, body: PriceDelete | None = None) -> SuccessResponse:
    """Soft-delete a price; running subscriptions keep their line items. The body is optional (the SDK
    sends ``{}``); a future ``end_date`` is refused until prices have end dates."""
    catalog.repo(Price).delete(id)
    catalog.commit()
    return SuccessResponse(message="price deleted successfully")
