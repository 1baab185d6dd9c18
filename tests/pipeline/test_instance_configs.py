"""The example dagster.yaml instance configs (embedded SQLite, production PostgreSQL)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_instance_config_loads_with_infrastructure_only_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(ROOT / "dagster_instances" / "embedded" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert instance.run_retries_enabled
        assert not instance.run_retries_retry_on_asset_or_op_failure


def test_production_instance_config_uses_postgres_with_psycopg2(tmp_path: Path) -> None:
    from dagster._core.instance.config import dagster_instance_config

    shutil.copy(ROOT / "dagster_instances" / "production" / "dagster.yaml", tmp_path / "dagster.yaml")
    loaded, _ = dagster_instance_config(str(tmp_path))
    assert loaded["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"
    assert loaded["run_retries"] == {"enabled": True, "max_retries": 3, "retry_on_asset_or_op_failure": False}
