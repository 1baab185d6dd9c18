"""``/v1/meters``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, status

from api.crud import PageDep, filters, page_of
from api.deps import CatalogDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Id, ListResponse, SuccessResponse, Text
from api.schemas.meters import MeterCreate, MeterPublic, MeterUpdate
from api.services.meters import create_meter as create_meter_row
from api.services.validation import validate_meter
from flexprice_pipelines.catalog.models import Meter

router = domain_router("/v1/meters", "meters")
IdPath = Annotated[Id, Path(description="Meter id (meter_…).")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MeterPublic)
def create_meter(body: MeterCreate, catalog: WriteCatalogDep) -> Meter:
    """Create a meter; its aggregation and filters are checked against §2 (field, multiplier, bucket size)."""
    row = create_meter_row(catalog, body)
    catalog.commit()
    return row


@router.get("", response_model=ListResponse[MeterPublic])
def list_meters(
    catalog: CatalogDep, page: PageDep, event_name: Annotated[Text | None, Query()] = None
) -> ListResponse[MeterPublic]:
    """Meters, oldest first; filter by ``event_name``."""
    rows = catalog.repo(Meter).list(limit=page.limit, offset=page.offset, **filters(event_name=event_name))
    return page_of(MeterPublic, rows)


@router.get("/{id}", response_model=MeterPublic)
def get_meter(id: IdPath, catalog: CatalogDep) -> Meter:
    """One meter."""
    return catalog.repo(Meter).get(id)


@router.put("/{id}", response_model=MeterPublic)
def update_meter(id: IdPath, body: MeterUpdate, catalog: WriteCatalogDep) -> Meter:
    """Rename a meter or replace its filters (event name and aggregation are fixed, as in Flexprice)."""
    meters = catalog.repo(Meter)
    meter = meters.get(id)
    changes: dict[str, object] = {}
    if body.name is not None:
        changes["name"] = body.name
    if body.filters is not None:
        checked = validate_meter(
            MeterCreate.model_validate(
                {
                    "event_name": meter.event_name,
                    "name": meter.name,
                    "aggregation": meter.aggregation,
                    "filters": body.filters,
                }
            )
        )
        changes["filters"] = [{"key": f.key, "values": list(f.values)} for f in checked.filters]
    meter = meters.update(meter, **changes)
    catalog.commit()
    return meter


@router.delete("/{id}", response_model=SuccessResponse)
def delete_meter(id: IdPath, catalog: WriteCatalogDep) -> SuccessResponse:
    """Soft-delete a meter."""
    catalog.repo(Meter).delete(id)
    catalog.commit()
    return SuccessResponse(message="Meter deleted successfully")
