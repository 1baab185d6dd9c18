"""Tax rates and the entities (customer, subscription, tenant …) they apply to."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flexprice_pipelines.catalog.models.base import (
    Metadata,
    ScopedModel,
    metadata_column,
    ref,
    scope_index,
    unique_in_scope,
)


class TaxRate(ScopedModel):
    __tablename__ = "tax_rates"
    __id_prefix__ = "taxrate"
    __entity_name__ = "tax rate"
    __table_args__ = (scope_index("tax_rates"), unique_in_scope("tax_rates", "code"))

    name: Mapped[str]
    code: Mapped[str]
    description: Mapped[str | None] = mapped_column(Text)
    tax_rate_status: Mapped[str] = mapped_column(String(20), default="ACTIVE")  # ACTIVE | INACTIVE
    tax_rate_type: Mapped[str] = mapped_column(String(20))  # percentage | fixed
    scope: Mapped[str] = mapped_column(String(20), default="INTERNAL")  # INTERNAL | EXTERNAL | ONETIME
    # Exactly one of the two is set, according to tax_rate_type.
    percentage_value: Mapped[Decimal | None]
    fixed_value: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    metadata_: Metadata = metadata_column()


class TaxAssociation(ScopedModel):
    __tablename__ = "tax_associations"
    __id_prefix__ = "taxassoc"
    __entity_name__ = "tax association"
    __entity_ref__ = ("entity_type", "entity_id")
    __table_args__ = (
        scope_index("tax_associations"),
        Index("ix_tax_associations_entity", "tenant_id", "environment_id", "entity_type", "entity_id"),
    )

    tax_rate_id: Mapped[str] = mapped_column(String(64), ref("tax_rates"))
    entity_type: Mapped[str] = mapped_column(String(20))  # CUSTOMER | SUBSCRIPTION | INVOICE | TENANT
    entity_id: Mapped[str] = mapped_column(String(64))
    # Lower number wins when several rates could apply.
    priority: Mapped[int] = mapped_column(Integer, default=100)
    auto_apply: Mapped[bool] = mapped_column(Boolean, default=True)
    currency: Mapped[str | None] = mapped_column(String(3))
    start_date: Mapped[datetime | None]
    end_date: Mapped[datetime | None]
    metadata_: Metadata = metadata_column()
