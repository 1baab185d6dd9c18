"""Settings resolution: defaults that depend on other settings."""

from __future__ import annotations

from pathlib import Path

from flexprice_pipelines.settings import Settings


def test_catalog_defaults_to_sqlite_under_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'catalog.db'}"
    assert settings.resolved_warehouse_url == f"duckdb:///{tmp_path.resolve() / 'warehouse.duckdb'}"


def test_checks_run_on_the_event_loop_for_sqlite_only_unless_set(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).resolved_api_inline_checks is True
    postgres = "postgresql+psycopg://127.0.0.1/flexprice"
    assert Settings(database_url=postgres).resolved_api_inline_checks is False
    assert Settings(database_url=postgres, api_inline_checks=True).resolved_api_inline_checks is True
    assert Settings(home=tmp_path, api_inline_checks=False).resolved_api_inline_checks is False


def test_inline_checks_read_from_the_environment(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FLEXPRICE_API_INLINE_CHECKS", "false")
    assert Settings(home=tmp_path).resolved_api_inline_checks is False
