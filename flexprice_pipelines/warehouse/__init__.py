"""The warehouse: ``raw_events`` in DuckDB (embedded) or ClickHouse (production) behind one small protocol."""

from flexprice_pipelines.warehouse.base import RAW_EVENT_COLUMNS, Warehouse, make_warehouse

__all__ = ["RAW_EVENT_COLUMNS", "Warehouse", "make_warehouse"]
