"""Meters through the API: created on their own (``POST /v1/meters``) or inline with a feature."""

from __future__ import annotations

from api.schemas.meters import MeterCreate, aggregation_json
from api.services.validation import validate_meter
from flexprice_pipelines.catalog import CatalogSession
from flexprice_pipelines.catalog.models import Meter


def create_meter(catalog: CatalogSession, body: MeterCreate, prefix: str = "body") -> Meter:
    """Check the meter against §2 (errors named under ``prefix``) and add it; the caller commits."""
    meter = validate_meter(body, prefix)
    return catalog.repo(Meter).create(
        event_name=meter.event_name,
        name=body.name,
        aggregation=aggregation_json(body.aggregation),
        filters=[{"key": f.key, "values": list(f.values)} for f in meter.filters],
        reset_usage=meter.reset_usage.value,
    )
