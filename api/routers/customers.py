"""``/v1/customers``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, status

from api.crud import PageDep, filters, page_of
from api.deps import CatalogDep, NowDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Id, ListResponse, Name, Text
from api.schemas.customers import CustomerCreate, CustomerPublic, CustomerUpdate, InvoiceSummaries
from api.search import NotYet, SearchField, SearchSpec, Shortcut, add_search_route
from api.services.invoices import invoice_summaries
from api.services.taxes import active_rate_by_code
from flexprice_pipelines.catalog import InvalidArgument, NotFound
from flexprice_pipelines.catalog.models import Customer, TaxAssociation

router = domain_router("/v1/customers", "customers")
IdPath = Annotated[Id, Path(description="Customer id (cust_…).")]

SEARCH = SearchSpec(
    "customers",
    Customer,
    {
        "id": SearchField("string"),
        "status": SearchField("string"),
        "created_at": SearchField("date"),
        "updated_at": SearchField("date"),
        "external_id": SearchField("string"),
        "name": SearchField("string"),
        "email": SearchField("string"),
        "address_city": SearchField("string"),
        "address_country": SearchField("string"),
    },
    shortcuts={
        "customer_ids": Shortcut("id", "in"),
        "external_id": Shortcut("external_id"),
        "external_ids": Shortcut("external_id", "in"),
        "email": Shortcut("email"),
    },
    not_yet={"metadata": NotYet(dict[str, str], ({},))},
)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CustomerPublic)
def create_customer(body: CustomerCreate, catalog: WriteCatalogDep) -> Customer:
    """Create a customer; a live customer with the same ``external_id`` is a 409. Its
    ``tax_rate_overrides`` become tax associations of the customer, in the same transaction."""
    overrides = body.tax_rate_overrides
    rates = [
        active_rate_by_code(catalog, o.tax_rate_code, f"body.tax_rate_overrides.{i}.tax_rate_code")
        for i, o in enumerate(overrides)
    ]
    customer = catalog.repo(Customer).create(
        **body.model_dump(exclude={"tax_rate_overrides", *body.neutral_names()})
    )
    for override, rate in zip(overrides, rates, strict=True):
        catalog.repo(TaxAssociation).create(
            tax_rate_id=rate.id,
            entity_type="CUSTOMER",
            entity_id=customer.id,
            **override.model_dump(include={"currency", "auto_apply", "priority", "metadata"}),
        )
    catalog.commit()
    return customer


@router.get("", response_model=ListResponse[CustomerPublic])
def list_customers(
    catalog: CatalogDep,
    page: PageDep,
    external_id: Annotated[Text | None, Query()] = None,
    email: Annotated[Text | None, Query()] = None,
) -> ListResponse[CustomerPublic]:
    """Customers, oldest first; filter by ``external_id`` or ``email``."""
    rows = catalog.repo(Customer).list(
        limit=page.limit, offset=page.offset, **filters(external_id=external_id, email=email)
    )
    return page_of(CustomerPublic, rows)


add_search_route(router, SEARCH, CustomerPublic)


@router.put("", response_model=CustomerPublic)
def update_customer_by_query(
    body: CustomerUpdate,
    catalog: WriteCatalogDep,
    id: Annotated[Id | None, Query(description="Customer id; wins over external_customer_id.")] = None,
    external_customer_id: Annotated[Name | None, Query(description="Your external_id.")] = None,
) -> Customer:
    """Flexprice's ``PUT /customers?id=`` (the SDK's ``update_customer``): the customer named by ``id``
    or ``external_customer_id`` (one is required, else 422 naming ``query.id``); same rules as
    ``PUT /v1/customers/{id}``."""
    repo = catalog.repo(Customer)
    if id is not None:
        customer = repo.get(id)
    elif external_customer_id is not None:
        found = repo.find_one(external_id=external_customer_id)
        if found is None:
            raise NotFound("customer", external_customer_id, field="query.external_customer_id")
        customer = found
    else:
        raise InvalidArgument("id or external_customer_id is required", field="query.id")
    customer = repo.update(customer, **body.set_fields())
    catalog.commit()
    return customer


@router.get("/external/{external_id}", response_model=CustomerPublic)
def get_customer_by_external_id(external_id: Annotated[Name, Path()], catalog: CatalogDep) -> Customer:
    """The customer with your ``external_id``."""
    customer = catalog.repo(Customer).find_one(external_id=external_id)
    if customer is None:
        raise NotFound("customer", external_id)
    return customer


@router.get("/{id}", response_model=CustomerPublic)
def get_customer(id: IdPath, catalog: CatalogDep) -> Customer:
    """One customer."""
    return catalog.repo(Customer).get(id)


@router.get("/{id}/invoices/summary", response_model=InvoiceSummaries)
def get_customer_invoice_summary(id: IdPath, catalog: CatalogDep, now: NowDep) -> InvoiceSummaries:
    """Flexprice's per-currency invoice summary of a customer: its FINALIZED invoices (drafts, voided and
    skipped ones are not counted), unpaid = payment not SUCCEEDED / OVERPAID / REFUNDED, overdue = unpaid
    with a ``due_date`` before now. Sums are exact, in SQL."""
    customer = catalog.repo(Customer).get(id)
    return invoice_summaries(catalog, customer.id, now)


@router.put("/{id}", response_model=CustomerPublic)
def update_customer(id: IdPath, body: CustomerUpdate, catalog: WriteCatalogDep) -> Customer:
    """Change the fields given; a taken ``external_id`` is a 409."""
    customer = catalog.repo(Customer).update(id, **body.set_fields())
    catalog.commit()
    return customer


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_customer(id: IdPath, catalog: WriteCatalogDep) -> None:
    """Soft-delete a customer (its ``external_id`` becomes free again)."""
    catalog.repo(Customer).delete(id)
    catalog.commit()
