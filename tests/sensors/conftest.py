"""The pipeline tests' embedded deployment (SQLite catalog, DuckDB warehouse, Dagster instance in tmp)."""

from tests.pipeline.conftest import billing

__all__ = ["billing"]
