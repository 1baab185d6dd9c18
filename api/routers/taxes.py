"""``/v1/taxes/rates`` and ``/v1/taxes/associations``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, status

from api.crud import PageDep, filters, page_of
from api.deps import CatalogDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Id, ListResponse, Name
from api.schemas.taxes import (
    TaxAssociationCreate,
    TaxAssociationPublic,
    TaxAssociationUpdate,
    TaxRateCreate,
    TaxRatePublic,
    TaxRateUpdate,
)
from flexprice_pipelines.billing.errors import BillingError, InvalidInvoice
from flexprice_pipelines.billing.invoicing import TaxRate as BillingTaxRate
from flexprice_pipelines.billing.invoicing import TaxRateType
from flexprice_pipelines.billing.pricing import repath
from flexprice_pipelines.catalog import NotFound
from flexprice_pipelines.catalog.models import TaxAssociation, TaxRate

rates = domain_router("/v1/taxes/rates", "taxes")
associations = domain_router("/v1/taxes/associations", "taxes")
RateId = Annotated[Id, Path(description="Tax rate id (taxrate_…).")]
AssociationId = Annotated[Id, Path(description="Tax association id (taxassoc_…).")]


@rates.post("", status_code=status.HTTP_201_CREATED, response_model=TaxRatePublic)
def create_tax_rate(body: TaxRateCreate, catalog: WriteCatalogDep) -> TaxRate:
    """Create a tax rate: ``percentage`` (0–100) or ``fixed`` (with currency); a taken ``code`` is a 409."""
    try:
        BillingTaxRate(
            id="new",
            name=body.name,
            tax_rate_type=body.tax_rate_type,
            percentage_value=body.percentage_value,
            fixed_value=body.fixed_value,
            currency=body.currency,
        )
    except BillingError as exc:
        raise repath(exc, "body") from None
    if body.tax_rate_type is TaxRateType.FIXED and body.currency is None:
        raise InvalidInvoice("is required for fixed tax rates", field="body.currency")
    if body.tax_rate_type is TaxRateType.PERCENTAGE and body.fixed_value is not None:
        raise InvalidInvoice("only fixed tax rates have a fixed_value", field="body.fixed_value")
    if body.tax_rate_type is TaxRateType.FIXED and body.percentage_value is not None:
        raise InvalidInvoice(
            "only percentage tax rates have a percentage_value", field="body.percentage_value"
        )
    rate = catalog.repo(TaxRate).create(**body.model_dump(mode="json", exclude={"percentage_value", "fixed_value"}),
                                        percentage_value=body.percentage_value, fixed_value=body.fixed_value)  # fmt: skip
    catalog.commit()
    return rate


@rates.get("", response_model=ListResponse[TaxRatePublic])
def list_tax_rates(
    catalog: CatalogDep,
    page: PageDep,
    code: Annotated[Name | None, Query()] = None,
    tax_rate_type: Annotated[TaxRateType | None, Query()] = None,
    tax_rate_status: Annotated[Literal["ACTIVE", "INACTIVE"] | None, Query()] = None,
) -> ListResponse[TaxRatePublic]:
    """Tax rates, oldest first, filtered by ``code``, type or status."""
    chosen = filters(
        code=code,
        tax_rate_type=tax_rate_type.value if tax_rate_type else None,
        tax_rate_status=tax_rate_status,
    )
    return page_of(TaxRatePublic, catalog.repo(TaxRate).list(limit=page.limit, offset=page.offset, **chosen))


@rates.get("/{id}", response_model=TaxRatePublic)
def get_tax_rate(id: RateId, catalog: CatalogDep) -> TaxRate:
    """One tax rate."""
    return catalog.repo(TaxRate).get(id)


@rates.put("/{id}", response_model=TaxRatePublic)
def update_tax_rate(id: RateId, body: TaxRateUpdate, catalog: WriteCatalogDep) -> TaxRate:
    """Rename, re-code, (de)activate; the rate itself is immutable."""
    rate = catalog.repo(TaxRate).update(id, **body.set_fields())
    catalog.commit()
    return rate


@rates.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_tax_rate(id: RateId, catalog: WriteCatalogDep) -> None:
    """Soft-delete a tax rate."""
    catalog.repo(TaxRate).delete(id)
    catalog.commit()


@associations.post("", status_code=status.HTTP_201_CREATED, response_model=TaxAssociationPublic)
def create_tax_association(body: TaxAssociationCreate, catalog: WriteCatalogDep) -> TaxAssociation:
    """Apply a tax rate to a customer, subscription, invoice or the whole tenant."""
    if body.entity_type == "TENANT" and body.entity_id != catalog.scope.tenant_id:
        raise NotFound("tenant", body.entity_id, field="body.entity_id")
    if body.start_date and body.end_date and body.end_date <= body.start_date:
        raise InvalidInvoice("must be after start_date", field="body.end_date")
    try:
        association = catalog.repo(TaxAssociation).create(**body.model_dump())
    except NotFound as exc:
        raise NotFound(exc.entity, exc.id, field=f"body.{exc.field}") from exc
    catalog.commit()
    return association


@associations.get("", response_model=ListResponse[TaxAssociationPublic])
def list_tax_associations(
    catalog: CatalogDep,
    page: PageDep,
    tax_rate_id: Annotated[Id | None, Query()] = None,
    entity_type: Annotated[Literal["CUSTOMER", "SUBSCRIPTION", "INVOICE", "TENANT"] | None, Query()] = None,
    entity_id: Annotated[Id | None, Query()] = None,
) -> ListResponse[TaxAssociationPublic]:
    """Tax associations, oldest first, filtered by rate or entity."""
    chosen = filters(tax_rate_id=tax_rate_id, entity_type=entity_type, entity_id=entity_id)
    return page_of(
        TaxAssociationPublic,
        catalog.repo(TaxAssociation).list(limit=page.limit, offset=page.offset, **chosen),
    )


@associations.get("/{id}", response_model=TaxAssociationPublic)
def get_tax_association(id: AssociationId, catalog: CatalogDep) -> TaxAssociation:
    """One tax association."""
    return catalog.repo(TaxAssociation).get(id)


@associations.put("/{id}", response_model=TaxAssociationPublic)
def update_tax_association(
    id: AssociationId, body: TaxAssociationUpdate, catalog: WriteCatalogDep
) -> TaxAssociation:
    """Change priority, auto-apply, end date or metadata."""
    association = catalog.repo(TaxAssociation).update(id, **body.set_fields())
    catalog.commit()
    return association


@associations.delete("/{id}", response_model=TaxAssociationPublic)
def delete_tax_association(id: AssociationId, catalog: WriteCatalogDep) -> TaxAssociation:
    """Soft-delete a tax association; 200 with the association as deleted (Flexprice documents
    ``dto.TaxAssociationResponse``)."""
    repo = catalog.repo(TaxAssociation)
    association = repo.get(id)
    repo.delete(association)
    catalog.commit()
    return association
