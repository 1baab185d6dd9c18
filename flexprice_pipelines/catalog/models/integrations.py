"""Mappings between our ids and ids at payment / CRM providers (Stripe, HubSpot)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from flexprice_pipelines.catalog.models.base import (
    Metadata,
    ScopedModel,
    metadata_column,
    scope_index,
    unique_in_scope,
)


class EntityIntegrationMapping(ScopedModel):
    """One of our entities ↔ one provider object, unique in both directions among live rows."""

    __tablename__ = "entity_integration_mappings"
    __id_prefix__ = "eim"
    __entity_name__ = "integration mapping"
    __entity_ref__ = ("entity_type", "entity_id")
    __table_args__ = (
        scope_index("entity_integration_mappings"),
        unique_in_scope(
            "entity_integration_mappings", "entity_type", "entity_id", "provider_type", name="uq_eim_entity"
        ),
        unique_in_scope(
            "entity_integration_mappings",
            "provider_type",
            "provider_entity_id",
            name="uq_eim_provider_entity",
        ),
    )

    entity_type: Mapped[str] = mapped_column(String(30))  # customer | plan | price | subscription | invoice …
    entity_id: Mapped[str] = mapped_column(String(64))
    provider_type: Mapped[str] = mapped_column(String(30))  # stripe | hubspot
    provider_entity_id: Mapped[str]
    metadata_: Metadata = metadata_column()
