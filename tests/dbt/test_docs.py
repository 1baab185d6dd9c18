"""``flexprice docs`` generates the dbt docs of the built project, every model and key column described."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from typer.testing import CliRunner

from flexprice_pipelines.cli import app
from tests.dbt.dbt_harness import DbtProject

pytestmark = pytest.mark.slow

MODELS = (
    "stg_event_versions",
    "stg_events",
    "int_meter_events",
    "fct_period_usage",
    "fct_period_usage_buckets",
    "fct_meter_usage_daily",
    "fct_customer_feature_usage_monthly",
)


def test_flexprice_docs_generates_catalog_and_descriptions(
    duckdb_project: DbtProject, tmp_path: Path
) -> None:
    # The fixture ran dbt in this process, and dbt-duckdb keeps the file open until its process exits;
    # `flexprice docs` runs dbt in a child, which must be able to open it.
    if DuckDBConnectionManager._ENV is not None:
        DuckDBConnectionManager._ENV.close()
        DuckDBConnectionManager._ENV = None
    result = CliRunner().invoke(
        app,
        ["docs", "--target-path", str(tmp_path)],
        env={"FLEXPRICE_DUCKDB_PATH": duckdb_project.env["FLEXPRICE_DUCKDB_PATH"]},
    )

    assert result.exit_code == 0, result.output
    assert f"dbt docs: {tmp_path / 'index.html'}" in result.output
    assert (tmp_path / "index.html").stat().st_size > 0
    catalog = json.loads((tmp_path / "catalog.json").read_text())["nodes"]
    assert {"quantity", "window_id", "event_count"} <= set(
        catalog["model.flexprice.fct_period_usage"]["columns"]
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())["nodes"]
    for name in MODELS:
        node = manifest[f"model.flexprice.{name}"]
        assert node["description"].strip(), name
        assert node["columns"] and all(
            column["description"].strip() for column in node["columns"].values()
        ), name
