"""Tax rates named by code, as Flexprice names them (tax associations, a customer's tax_rate_overrides)."""

from __future__ import annotations

from flexprice_pipelines.catalog import CatalogSession, InvalidArgument, NotFound
from flexprice_pipelines.catalog.models import TaxRate


def active_rate_by_code(catalog: CatalogSession, code: str, field: str) -> TaxRate:
    """The caller's tax rate with this ``code``: 404 naming ``field`` when there is none, 400 when it is
    not ACTIVE (Flexprice refuses inactive rates there too)."""
    rate = catalog.repo(TaxRate).find_one(code=code)
    if rate is None:
        raise NotFound("tax rate", code, field=field)
    if rate.tax_rate_status != "ACTIVE":
        raise InvalidArgument("names a tax rate that is not ACTIVE", field=field)
    return rate
