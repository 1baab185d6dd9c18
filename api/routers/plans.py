"""``/v1/plans``: plans with their prices and entitlements."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, status

from api.crud import PageDep, filters, whole_list
from api.deps import CatalogDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Id, ListResponse, Pagination, SuccessResponse, Text
from api.schemas.creditgrants import CreditGrantPublic
from api.schemas.entitlements import EntitlementPublic
from api.schemas.plans import PlanCreate, PlanPublic, PlanUpdate
from api.search import NotYet, SearchField, SearchSpec, Shortcut, add_search_route
from api.services.plans import create_plan as build_plan
from api.services.plans import plans_public
from flexprice_pipelines.catalog.models import CreditGrant, Entitlement, Plan

router = domain_router("/v1/plans", "plans")
IdPath = Annotated[Id, Path(description="Plan id (plan_…).")]

SEARCH = SearchSpec(
    "plans",
    Plan,
    {
        "id": SearchField("string"),
        "status": SearchField("string"),
        "created_at": SearchField("date"),
        "updated_at": SearchField("date"),
        "name": SearchField("string"),
        "lookup_key": SearchField("string"),
    },
    shortcuts={"plan_ids": Shortcut("id", "in"), "lookup_key": Shortcut("lookup_key")},
    expandable=frozenset({"prices", "entitlements"}),
    not_yet={"metadata": NotYet(dict[str, str], ({},))},
)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PlanPublic)
def create_plan(body: PlanCreate, catalog: WriteCatalogDep) -> PlanPublic:
    """Create a plan with its prices and entitlements in one transaction; any invalid part rejects all."""
    plan = build_plan(catalog, body)
    catalog.commit()
    return plans_public(catalog, [plan])[0]


@router.get("", response_model=ListResponse[PlanPublic])
def list_plans(
    catalog: CatalogDep, page: PageDep, lookup_key: Annotated[Text | None, Query()] = None
) -> ListResponse[PlanPublic]:
    """Plans with their prices and entitlements, oldest first; filter by ``lookup_key``."""
    rows = catalog.repo(Plan).list(limit=page.limit, offset=page.offset, **filters(lookup_key=lookup_key))
    return ListResponse[PlanPublic](
        items=plans_public(catalog, rows.items),
        pagination=Pagination(total=rows.total, limit=rows.limit, offset=rows.offset),
    )


add_search_route(router, SEARCH, PlanPublic, lambda catalog, rows, body, now: plans_public(catalog, rows))


@router.get("/{id}", response_model=PlanPublic)
def get_plan(id: IdPath, catalog: CatalogDep) -> PlanPublic:
    """One plan with its prices and entitlements."""
    return plans_public(catalog, [catalog.repo(Plan).get(id)])[0]


@router.get("/{id}/entitlements", response_model=ListResponse[EntitlementPublic])
def get_plan_entitlements(id: IdPath, catalog: CatalogDep) -> ListResponse[EntitlementPublic]:
    """All the plan's live entitlements, oldest first, in one unpaged list (Flexprice's
    ``ListEntitlementsResponse``); 404 for a plan outside the caller's scope."""
    plan = catalog.repo(Plan).get(id)
    rows = list(catalog.repo(Entitlement).each(entity_type="PLAN", entity_id=plan.id))
    return whole_list(EntitlementPublic, rows)


@router.get("/{id}/creditgrants", response_model=ListResponse[CreditGrantPublic])
def get_plan_credit_grants(id: IdPath, catalog: CatalogDep) -> ListResponse[CreditGrantPublic]:
    """All the plan's live credit grants, oldest first, in one unpaged list (Flexprice's
    ``ListCreditGrantsResponse``); 404 for a plan outside the caller's scope."""
    plan = catalog.repo(Plan).get(id)
    rows = list(catalog.repo(CreditGrant).each(plan_id=plan.id))
    return whole_list(CreditGrantPublic, rows)


@router.put("/{id}", response_model=PlanPublic)
def update_plan(id: IdPath, body: PlanUpdate, catalog: WriteCatalogDep) -> PlanPublic:
    """Change name, description, lookup key or metadata (prices are managed under ``/v1/prices``)."""
    plan = catalog.repo(Plan).update(id, **body.set_fields())
    catalog.commit()
    return plans_public(catalog, [plan])[0]


@router.delete("/{id}", response_model=SuccessResponse)
def delete_plan(id: IdPath, catalog: WriteCatalogDep) -> SuccessResponse:
    """Soft-delete a plan; existing subscriptions keep running."""
    catalog.repo(Plan).delete(id)
    catalog.commit()
    return SuccessResponse(message="plan deleted successfully")
