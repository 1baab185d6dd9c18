"""``/v1/taxes/rates`` and ``/v1/taxes/associations``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, status
from sqlalchemy import ColumnElement

from api.crud import PageDep, filters, page_of
from api.deps import CatalogDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Id, ListResponse, Name, Text, When, neutral_query
from api.schemas.taxes import (
    TaxAssociationCreate,
    TaxAssociationPublic,
    TaxAssociationUpdate,
    TaxEntityType,
    TaxRateCreate,
    TaxRatePublic,
    TaxRateUpdate,
)
from api.services.taxes import active_rate_by_code
from flexprice_pipelines.billing.errors import BillingError, InvalidInvoice
from flexprice_pipelines.billing.invoicing import TaxRate as BillingTaxRate
from flexprice_pipelines.billing.invoicing import TaxRateType
from flexprice_pipelines.billing.pricing import repath
from flexprice_pipelines.catalog import CatalogSession, InvalidArgument, NotFound
from flexprice_pipelines.catalog.models import Customer, TaxAssociation, TaxRate

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


def _comma_list(values: list[str] | None) -> list[str] | None:
    """A Flexprice ``style: form, explode: false`` array (the SDK sends ``a,b``), or repeated keys."""
    if values is None:
        return None
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    return items or None


@rates.get("", response_model=ListResponse[TaxRatePublic])
def list_tax_rates(
    catalog: CatalogDep,
    page: PageDep,
    code: Annotated[Name | None, Query()] = None,
    tax_rate_type: Annotated[TaxRateType | None, Query()] = None,
    tax_rate_status: Annotated[Literal["ACTIVE", "INACTIVE"] | None, Query()] = None,
    taxrate_ids: Annotated[list[Text] | None, Query(description="Comma-separated ids (or repeated).")] = None,
    taxrate_codes: Annotated[
        list[Text] | None, Query(description="Comma-separated codes (or repeated).")
    ] = None,
    scope: Annotated[Literal["INTERNAL", "EXTERNAL", "ONETIME"] | None, Query()] = None,
    status: Annotated[
        Literal["published", "deleted", "archived"] | None,
        Query(description="The row's status; deleted rates are listed only when asked for."),
    ] = None,
    start_time: Annotated[When | None, Query(description="Created at or after (half-open range).")] = None,
    end_time: Annotated[When | None, Query(description="Created before (half-open range).")] = None,
    order: Annotated[Literal["asc", "desc"] | None, Query(description="By creation; default asc.")] = None,
    expand: Annotated[Text | None, neutral_query("", description="Related objects to attach.")] = None,
) -> ListResponse[TaxRatePublic]:
    """Tax rates, oldest first (``order=desc``: newest first), filtered by ``code``, type, status, scope,
    ids or codes, and creation time ``[start_time, end_time)``."""
    if start_time is not None and end_time is not None and end_time <= start_time:
        raise InvalidArgument("must be after start_time", field="query.end_time")
    chosen = filters(
        code=code,
        tax_rate_type=tax_rate_type.value if tax_rate_type else None,
        tax_rate_status=tax_rate_status,
        id=_comma_list(taxrate_ids),
        scope=scope,
        status=status,
    )
    where: list[ColumnElement[bool]] = []
    codes = _comma_list(taxrate_codes)
    if codes is not None:
        where.append(TaxRate.code.in_(codes))
    if start_time is not None:
        where.append(TaxRate.created_at >= start_time)
    if end_time is not None:
        where.append(TaxRate.created_at < end_time)
    rows = catalog.repo(TaxRate).list(
        *where,
        limit=page.limit,
        offset=page.offset,
        newest_first=order == "desc",
        include_deleted=status == "deleted",
        **chosen,
    )
    return page_of(TaxRatePublic, rows)


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
    """Apply a tax rate (``tax_rate_code`` or ``tax_rate_id``) to a customer (``external_customer_id``, or
    ``entity_type`` + ``entity_id``), subscription, invoice or the whole tenant."""
    entity_type, entity_id = _entity(
        catalog, body.entity_type, body.entity_id, body.external_customer_id, "body"
    )
    if entity_type is None:
        raise InvalidArgument("is required (or external_customer_id)", field="body.entity_type")
    if entity_id is None:
        raise InvalidArgument("is required (or external_customer_id)", field="body.entity_id")
    tax_rate_id = body.tax_rate_id
    if body.tax_rate_code is not None:
        rate = active_rate_by_code(catalog, body.tax_rate_code, "body.tax_rate_code")
        if tax_rate_id is not None and tax_rate_id != rate.id:
            raise InvalidArgument("names another tax rate than tax_rate_id", field="body.tax_rate_code")
        tax_rate_id = rate.id
    if tax_rate_id is None:
        raise InvalidArgument("is required (or tax_rate_id)", field="body.tax_rate_code")
    if entity_type == "TENANT" and entity_id != catalog.scope.tenant_id:
        raise NotFound("tenant", entity_id, field="body.entity_id")
    if body.start_date and body.end_date and body.end_date <= body.start_date:
        raise InvalidInvoice("must be after start_date", field="body.end_date")
    columns = body.model_dump(exclude={"tax_rate_code", "external_customer_id", *body.neutral_names()})
    columns.update(tax_rate_id=tax_rate_id, entity_type=entity_type, entity_id=entity_id)
    try:
        association = catalog.repo(TaxAssociation).create(**columns)
    except NotFound as exc:
        raise NotFound(exc.entity, exc.id, field=f"body.{exc.field}") from exc
    catalog.commit()
    return association


def _entity(
    catalog: CatalogSession,
    entity_type: str | None,
    entity_id: str | None,
    external_customer_id: str | None,
    where: str,
) -> tuple[str | None, str | None]:
    """``(entity_type, entity_id)``, upper-cased; an ``external_customer_id`` is resolved, as Flexprice
    does, to CUSTOMER and the customer's id (404 naming it when unknown; a clash with the entity fields
    names it)."""
    entity_type = entity_type.upper() if entity_type else None
    if external_customer_id is None:
        return entity_type, entity_id
    field = f"{where}.external_customer_id"
    customer = catalog.repo(Customer).find_one(external_id=external_customer_id)
    if customer is None:
        raise NotFound("customer", external_customer_id, field=field)
    if entity_type not in (None, "CUSTOMER"):
        raise InvalidArgument("names a customer, but entity_type is not CUSTOMER", field=field)
    if entity_id is not None and entity_id != customer.id:
        raise InvalidArgument("names another customer than entity_id", field=field)
    return "CUSTOMER", customer.id


@associations.get(
    "",
    response_model=ListResponse[TaxAssociationPublic],
    responses={404: {"description": "`not_found`: no customer has this `external_customer_id`."}},
)
def list_tax_associations(
    catalog: CatalogDep,
    page: PageDep,
    tax_rate_id: Annotated[Id | None, Query()] = None,
    entity_type: Annotated[TaxEntityType | None, Query()] = None,
    entity_id: Annotated[Id | None, Query()] = None,
    external_customer_id: Annotated[
        Name | None, Query(description="A customer's external_id: its CUSTOMER associations.")
    ] = None,
) -> ListResponse[TaxAssociationPublic]:
    """Tax associations, oldest first, filtered by rate or entity (or a customer's external_id)."""
    wanted_type, wanted_id = _entity(catalog, entity_type, entity_id, external_customer_id, "query")
    chosen = filters(tax_rate_id=tax_rate_id, entity_type=wanted_type, entity_id=wanted_id)
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
