"""``/v1/creditgrants``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, status

from api.crud import PageDep, filters, page_of
from api.deps import CatalogDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Id, ListResponse, SuccessResponse
from api.schemas.creditgrants import CreditGrantCreate, CreditGrantPublic, CreditGrantUpdate
from flexprice_pipelines.billing.errors import BillingError
from flexprice_pipelines.catalog import NotFound
from flexprice_pipelines.catalog.models import CreditGrant

router = domain_router("/v1/creditgrants", "creditgrants")
IdPath = Annotated[Id, Path(description="Credit grant id (cg_…).")]


def _check(body: CreditGrantCreate) -> None:
    owner = "plan_id" if body.scope == "PLAN" else "subscription_id"
    other = "subscription_id" if body.scope == "PLAN" else "plan_id"
    if getattr(body, owner) is None:
        raise BillingError(f"is required when scope is {body.scope}", field=f"body.{owner}")
    if getattr(body, other) is not None:
        raise BillingError(f"must be empty when scope is {body.scope}", field=f"body.{other}")
    if body.cadence == "RECURRING" and body.period is None:
        raise BillingError("is required for RECURRING grants", field="body.period")
    if body.expiration_type == "DURATION" and (
        body.expiration_duration is None or body.expiration_duration_unit is None
    ):
        missing = "expiration_duration" if body.expiration_duration is None else "expiration_duration_unit"
        raise BillingError("is required when expiration_type is DURATION", field=f"body.{missing}")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CreditGrantPublic)
def create_credit_grant(body: CreditGrantCreate, catalog: WriteCatalogDep) -> CreditGrant:
    """Grant credits to every subscription of a plan, or to one subscription, once or every period."""
    _check(body)
    values = body.model_dump()
    if body.cadence == "RECURRING" and body.period_count is None:
        values["period_count"] = 1
    try:
        grant = catalog.repo(CreditGrant).create(**values)
    except NotFound as exc:
        raise NotFound(exc.entity, exc.id, field=f"body.{exc.field}") from exc
    catalog.commit()
    return grant


@router.get("", response_model=ListResponse[CreditGrantPublic])
def list_credit_grants(
    catalog: CatalogDep,
    page: PageDep,
    plan_id: Annotated[Id | None, Query()] = None,
    subscription_id: Annotated[Id | None, Query()] = None,
    scope: Annotated[Literal["PLAN", "SUBSCRIPTION"] | None, Query()] = None,
) -> ListResponse[CreditGrantPublic]:
    """Credit grants, oldest first, filtered by plan, subscription or scope."""
    chosen = filters(plan_id=plan_id, subscription_id=subscription_id, scope=scope)
    return page_of(
        CreditGrantPublic, catalog.repo(CreditGrant).list(limit=page.limit, offset=page.offset, **chosen)
    )


@router.get("/{id}", response_model=CreditGrantPublic)
def get_credit_grant(id: IdPath, catalog: CatalogDep) -> CreditGrant:
    """One credit grant."""
    return catalog.repo(CreditGrant).get(id)


@router.put("/{id}", response_model=CreditGrantPublic)
def update_credit_grant(id: IdPath, body: CreditGrantUpdate, catalog: WriteCatalogDep) -> CreditGrant:
    """Rename a grant or change its metadata."""
    grant = catalog.repo(CreditGrant).update(id, **body.set_fields())
    catalog.commit()
    return grant


@router.delete("/{id}", response_model=SuccessResponse)
def delete_credit_grant(id: IdPath, catalog: WriteCatalogDep) -> SuccessResponse:
    """Soft-delete a grant; applications already made stay."""
    catalog.repo(CreditGrant).delete(id)
    catalog.commit()
    return SuccessResponse(message="credit grant deleted successfully")
