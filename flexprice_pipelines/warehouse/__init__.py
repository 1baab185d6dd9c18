"""The warehouse: ``raw_events`` in DuckDB (embedded) or ClickHouse (production) behind one small protocol.

The names below are imported on first use: ``base`` pulls in pyarrow and pandas (through the events codec),
which the API's start does not need (it opens the warehouse on its first usage read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flexprice_pipelines.warehouse.base import RAW_EVENT_COLUMNS, Warehouse, make_warehouse

__all__ = ["RAW_EVENT_COLUMNS", "Warehouse", "make_warehouse"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from flexprice_pipelines.warehouse import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
