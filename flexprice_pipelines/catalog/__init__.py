"""The catalog and ledger store: models, scoped repositories, atomic ledger operations, migrations.

See README.md in this folder for grain, scoping and idempotency.
"""

from __future__ import annotations

from flexprice_pipelines.catalog.errors import (
    CatalogError,
    Conflict,
    InsufficientBalance,
    InvalidArgument,
    NotFound,
)
from flexprice_pipelines.catalog.repository import CatalogSession, Page, Repository
from flexprice_pipelines.catalog.scope import Scope

__all__ = [
    "CatalogError",
    "CatalogSession",
    "Conflict",
    "InsufficientBalance",
    "InvalidArgument",
    "NotFound",
    "Page",
    "Repository",
    "Scope",
]
