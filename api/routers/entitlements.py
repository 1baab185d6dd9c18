"""``/v1/entitlements``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path, Query, status
from sqlalchemy import ColumnElement

from api.crud import PageDep, filters, page_of
from api.deps import CatalogDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Id, ListResponse, SuccessResponse
from api.schemas.entitlements import EntitlementCreate, EntitlementPublic, EntitlementUpdate
from api.search import NotYet, SearchField, SearchRequest, SearchSpec, Shortcut, add_search_route
from api.services.plans import create_entitlement as attach_entitlement
from flexprice_pipelines.billing.entitlements import FeatureType
from flexprice_pipelines.billing.errors import InvalidEntitlement
from flexprice_pipelines.catalog.models import Entitlement

router = domain_router("/v1/entitlements", "entitlements")
IdPath = Annotated[Id, Path(description="Entitlement id (ent_…).")]

SEARCH = SearchSpec(
    "entitlements",
    Entitlement,
    {
        "id": SearchField("string"),
        "status": SearchField("string"),
        "created_at": SearchField("date"),
        "updated_at": SearchField("date"),
        "entity_type": SearchField("string"),
        "entity_id": SearchField("string"),
        "feature_id": SearchField("string"),
        "feature_type": SearchField("string"),
        "usage_limit": SearchField("number"),
        "usage_reset_period": SearchField("string"),
    },
    shortcuts={
        "plan_ids": Shortcut("entity_id", "in", {"entity_type": "PLAN"}),
        "entity_type": Shortcut("entity_type"),
        "entity_ids": Shortcut("entity_id", "in"),
        "feature_ids": Shortcut("feature_id", "in"),
        "feature_type": Shortcut("feature_type"),
    },
    flags={"is_enabled": None},
    not_yet={"has_grant_config": NotYet(bool, (False,), why="Entitlements have no grant config here.")},
)


def _enabled(body: SearchRequest, now: datetime) -> list[ColumnElement[bool]]:
    flag = getattr(body, "is_enabled", None)
    return [] if flag is None else [Entitlement.is_enabled.is_(flag)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EntitlementPublic)
def create_entitlement(body: EntitlementCreate, catalog: WriteCatalogDep) -> Entitlement:
    """Give a plan (or subscription) a feature; one entitlement per (entity, feature), else 409.

    The owner is ``entity_type`` + ``entity_id`` or ``plan_id``; a ``feature_type`` must be the feature's.
    """
    entity_type, entity_id = body.owner()
    entitlement = attach_entitlement(catalog, body, entity_type, entity_id, "body")
    catalog.commit()
    return entitlement


@router.get("", response_model=ListResponse[EntitlementPublic])
def list_entitlements(
    catalog: CatalogDep,
    page: PageDep,
    entity_type: Annotated[Literal["PLAN", "SUBSCRIPTION"] | None, Query()] = None,
    entity_id: Annotated[Id | None, Query()] = None,
    feature_id: Annotated[Id | None, Query()] = None,
    feature_type: Annotated[FeatureType | None, Query()] = None,
) -> ListResponse[EntitlementPublic]:
    """Entitlements, oldest first, filtered by owner or feature."""
    chosen = filters(
        entity_type=entity_type,
        entity_id=entity_id,
        feature_id=feature_id,
        feature_type=feature_type.value if feature_type else None,
    )
    return page_of(
        EntitlementPublic, catalog.repo(Entitlement).list(limit=page.limit, offset=page.offset, **chosen)
    )


add_search_route(router, SEARCH, EntitlementPublic, extra=_enabled)


@router.get("/{id}", response_model=EntitlementPublic)
def get_entitlement(id: IdPath, catalog: CatalogDep) -> Entitlement:
    """One entitlement."""
    return catalog.repo(Entitlement).get(id)


@router.put("/{id}", response_model=EntitlementPublic)
def update_entitlement(id: IdPath, body: EntitlementUpdate, catalog: WriteCatalogDep) -> Entitlement:
    """Change limits or values; a usage limit on a non-metered feature is a 400."""
    entitlements = catalog.repo(Entitlement)
    entitlement = entitlements.get(id)
    changes = body.set_fields()
    if changes.get("usage_limit") is not None and entitlement.feature_type != FeatureType.METERED.value:
        raise InvalidEntitlement("only metered features have a usage limit", field="body.usage_limit")
    for flag in ("is_enabled", "is_soft_limit"):
        if flag in changes and changes[flag] is None:
            raise InvalidEntitlement("must be true or false", field=f"body.{flag}")
    entitlement = entitlements.update(entitlement, **changes)
    catalog.commit()
    return entitlement


@router.delete("/{id}", response_model=SuccessResponse)
def delete_entitlement(id: IdPath, catalog: WriteCatalogDep) -> SuccessResponse:
    """Soft-delete an entitlement."""
    catalog.repo(Entitlement).delete(id)
    catalog.commit()
    return SuccessResponse(message="entitlement deleted successfully")
