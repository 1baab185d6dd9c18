"""``/v1/coupons``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, status

from api.crud import PageDep, filters, page_of
from api.deps import CatalogDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Id, ListResponse, SuccessResponse, Text
from api.schemas.coupons import CouponCreate, CouponPublic, CouponUpdate
from api.search import NotYet, SearchField, SearchSpec, Shortcut, add_search_route
from flexprice_pipelines.billing.errors import BillingError
from flexprice_pipelines.billing.invoicing import Coupon as BillingCoupon
from flexprice_pipelines.billing.invoicing import CouponCadence, CouponType
from flexprice_pipelines.billing.pricing import repath
from flexprice_pipelines.catalog import NotFound
from flexprice_pipelines.catalog.models import Coupon

router = domain_router("/v1/coupons", "coupons")
IdPath = Annotated[Id, Path(description="Coupon id (coupon_…).")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CouponPublic)
def create_coupon(body: CouponCreate, catalog: WriteCatalogDep) -> Coupon:
    """Create a coupon: ``fixed`` needs ``amount_off`` + ``currency``, ``percentage`` a ``percentage_off`` ≤ 100.

    A ``coupon_code`` already held by a live coupon of the environment is a 409 naming it."""
    values = body.model_dump(exclude={"type", "rules"})  # rules: neutral, always empty
    values["cadence"] = body.cadence.value
    descriptive = {"metadata", "coupon_code"}
    try:
        BillingCoupon(id="new", type=body.type, **{k: v for k, v in values.items() if k not in descriptive})
    except BillingError as exc:
        raise repath(exc, "body") from None
    coupon = catalog.repo(Coupon).create(**values, coupon_type=body.type.value)
    catalog.commit()
    return coupon


@router.get("", response_model=ListResponse[CouponPublic])
def list_coupons(
    catalog: CatalogDep,
    page: PageDep,
    type: Annotated[CouponType | None, Query()] = None,
    cadence: Annotated[CouponCadence | None, Query()] = None,
) -> ListResponse[CouponPublic]:
    """Coupons, oldest first; filter by ``type`` or ``cadence``."""
    chosen = filters(coupon_type=type.value if type else None, cadence=cadence.value if cadence else None)
    return page_of(CouponPublic, catalog.repo(Coupon).list(limit=page.limit, offset=page.offset, **chosen))


SEARCH = SearchSpec(
    "coupons",
    Coupon,
    {
        "id": SearchField("string"),
        "status": SearchField("string"),
        "created_at": SearchField("date"),
        "updated_at": SearchField("date"),
        "name": SearchField("string"),
        "type": SearchField("string", column="coupon_type"),
        "cadence": SearchField("string"),
        "currency": SearchField("string"),
        "duration_in_periods": SearchField("number"),
        "max_redemptions": SearchField("number"),
        "total_redemptions": SearchField("number"),
        "redeem_after": SearchField("date"),
        "redeem_before": SearchField("date"),
    },
    shortcuts={"coupon_ids": Shortcut("id", "in")},
    not_yet={"coupon_codes": NotYet(list[Text], ([],))},
)
add_search_route(router, SEARCH, CouponPublic)


@router.get("/code/{code}", response_model=CouponPublic)
def get_coupon_by_code(
    code: Annotated[Text, Path(description="The coupon's coupon_code.")], catalog: CatalogDep
) -> Coupon:
    """The live coupon with this ``coupon_code`` in the caller's scope (404 otherwise, another tenant's too)."""
    coupon = catalog.repo(Coupon).find_one(coupon_code=code)
    if coupon is None:
        raise NotFound("coupon", code)
    return coupon


@router.get("/{id}", response_model=CouponPublic)
def get_coupon(id: IdPath, catalog: CatalogDep) -> Coupon:
    """One coupon."""
    return catalog.repo(Coupon).get(id)


@router.put("/{id}", response_model=CouponPublic)
def update_coupon(id: IdPath, body: CouponUpdate, catalog: WriteCatalogDep) -> Coupon:
    """Rename a coupon or change its metadata (its discount is fixed once created)."""
    coupon = catalog.repo(Coupon).update(id, **body.set_fields())
    catalog.commit()
    return coupon


@router.delete("/{id}", response_model=SuccessResponse)
def delete_coupon(id: IdPath, catalog: WriteCatalogDep) -> SuccessResponse:
    """Soft-delete a coupon."""
    catalog.repo(Coupon).delete(id)
    catalog.commit()
    return SuccessResponse(message="Coupon deleted successfully")
