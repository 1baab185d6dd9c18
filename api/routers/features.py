"""``/v1/features``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, status

from api.crud import PageDep, filters, page_of
from api.deps import CatalogDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Id, ListResponse, SuccessResponse, Text
from api.schemas.features import FeatureCreate, FeaturePublic, FeatureUpdate
from api.schemas.meters import MeterPublic
from api.search import SearchField, SearchSpec, Shortcut, add_search_route
from api.services.meters import create_meter
from flexprice_pipelines.billing.entitlements import FeatureType
from flexprice_pipelines.billing.errors import InvalidEntitlement
from flexprice_pipelines.catalog import NotFound
from flexprice_pipelines.catalog.models import Feature

router = domain_router("/v1/features", "features")
# What a feature row holds of a create (the inline meter is a row of its own; neutral fields none).
FEATURE_COLUMNS = {
    "name", "type", "lookup_key", "description", "meter_id", "unit_singular", "unit_plural", "metadata"
}  # fmt: skip
IdPath = Annotated[Id, Path(description="Feature id (feat_…).")]

SEARCH = SearchSpec(
    "features",
    Feature,
    {
        "id": SearchField("string"),
        "status": SearchField("string"),
        "created_at": SearchField("date"),
        "updated_at": SearchField("date"),
        "name": SearchField("string"),
        "lookup_key": SearchField("string"),
        "type": SearchField("string"),
        "meter_id": SearchField("string"),
    },
    shortcuts={
        "feature_ids": Shortcut("id", "in"),
        "lookup_key": Shortcut("lookup_key"),
        "lookup_keys": Shortcut("lookup_key", "in"),
        "meter_ids": Shortcut("meter_id", "in"),
        "name_contains": Shortcut("name", "contains"),
    },
)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FeaturePublic)
def create_feature(body: FeatureCreate, catalog: WriteCatalogDep) -> FeaturePublic:
    """Create a feature; ``metered`` features need a meter: ``meter_id``, or ``meter`` to create one
    with the feature in the same transaction (the SDK's way). Other types must have neither."""
    if body.meter is not None and body.meter_id is not None:
        raise InvalidEntitlement("send meter or meter_id, not both", field="body.meter")
    if body.type is FeatureType.METERED and body.meter_id is None and body.meter is None:
        raise InvalidEntitlement("is required for metered features (or meter)", field="body.meter_id")
    if body.type is not FeatureType.METERED:
        for name in ("meter_id", "meter"):
            if getattr(body, name) is not None:
                raise InvalidEntitlement("only metered features have a meter", field=f"body.{name}")
    meter = None if body.meter is None else create_meter(catalog, body.meter, "body.meter")
    columns = body.model_dump(mode="json", include=FEATURE_COLUMNS)
    if meter is not None:
        columns["meter_id"] = meter.id
    try:
        feature = catalog.repo(Feature).create(**columns)
    except NotFound as exc:
        raise NotFound("meter", str(body.meter_id), field="body.meter_id") from exc
    catalog.commit()
    public = FeaturePublic.model_validate(feature)
    return public if meter is None else public.model_copy(update={"meter": MeterPublic.model_validate(meter)})


@router.get("", response_model=ListResponse[FeaturePublic])
def list_features(
    catalog: CatalogDep,
    page: PageDep,
    lookup_key: Annotated[Text | None, Query()] = None,
    type: Annotated[FeatureType | None, Query()] = None,
    meter_id: Annotated[Id | None, Query()] = None,
) -> ListResponse[FeaturePublic]:
    """Features, oldest first; filter by ``lookup_key``, ``type`` or ``meter_id``."""
    chosen = filters(lookup_key=lookup_key, type=type.value if type else None, meter_id=meter_id)
    return page_of(FeaturePublic, catalog.repo(Feature).list(limit=page.limit, offset=page.offset, **chosen))


add_search_route(router, SEARCH, FeaturePublic)


@router.get("/{id}", response_model=FeaturePublic)
def get_feature(id: IdPath, catalog: CatalogDep) -> Feature:
    """One feature."""
    return catalog.repo(Feature).get(id)


@router.put("/{id}", response_model=FeaturePublic)
def update_feature(id: IdPath, body: FeatureUpdate, catalog: WriteCatalogDep) -> Feature:
    """Change the fields given (type and meter are fixed); a taken ``lookup_key`` is a 409."""
    feature = catalog.repo(Feature).update(id, **body.set_fields())
    catalog.commit()
    return feature


@router.delete("/{id}", response_model=SuccessResponse)
def delete_feature(id: IdPath, catalog: WriteCatalogDep) -> SuccessResponse:
    """Soft-delete a feature."""
    catalog.repo(Feature).delete(id)
    catalog.commit()
    return SuccessResponse(message="feature deleted successfully")
