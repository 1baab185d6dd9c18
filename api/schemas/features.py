"""Feature bodies (Flexprice ``/features``)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from api.schemas.common import (
    AuditPublic,
    Id,
    InputModel,
    LongText,
    Metadata,
    MetadataOut,
    Name,
    Text,
    metadata_out,
    neutral,
)
from api.schemas.meters import MeterCreate, MeterPublic
from flexprice_pipelines.billing.entitlements import FeatureType


class FeatureCreate(InputModel):
    name: Name
    type: FeatureType
    lookup_key: Text | None = Field(default=None, description="Unique per environment.")
    description: LongText | None = None
    meter_id: Id | None = Field(
        default=None, description="Metered features: an existing meter, or send ``meter`` instead."
    )
    meter: MeterCreate | None = Field(
        default=None,
        description="Metered features: a new meter, created with the feature (all or nothing).",
    )
    unit_singular: Text | None = None
    unit_plural: Text | None = None
    metadata: Metadata = Field(default_factory=dict)
    group_id: Id | None = neutral(description="A feature group.")
    alert_settings: dict[str, Any] | None = neutral({}, description="Usage alerts on the feature.")
    reporting_unit: dict[str, Any] | None = neutral({}, description="A unit usage is reported in.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "API calls", "type": "metered", "lookup_key": "api_calls", "meter_id": "meter_01J…"}
            ]
        },
    )


class FeatureUpdate(InputModel):
    name: Name | None = None
    lookup_key: Text | None = None
    description: LongText | None = None
    unit_singular: Text | None = None
    unit_plural: Text | None = None
    metadata: Metadata | None = None
    group_id: Text | None = neutral("", description="A feature group (Flexprice: an empty string clears it).")
    alert_settings: dict[str, Any] | None = neutral({}, description="Usage alerts on the feature.")
    reporting_unit: dict[str, Any] | None = neutral({}, description="A unit usage is reported in.")
    filters: list[dict[str, Any]] | None = neutral(
        [], description="The meter's event filters; change the meter (PUT /v1/meters/{id}) instead."
    )


class FeaturePublic(AuditPublic):
    name: str
    type: str
    lookup_key: str | None
    description: str | None
    meter_id: str | None
    unit_singular: str | None
    unit_plural: str | None
    metadata: MetadataOut = metadata_out()
    meter: MeterPublic | None = Field(
        default=None, description="The meter, in the answer to a create that made one inline."
    )
