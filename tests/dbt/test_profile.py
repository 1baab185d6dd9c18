"""dbt gets its warehouse through ``DbtCliResource`` arguments (a written profile and ``--target``), never by
changing ``os.environ`` for the whole process."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from flexprice_pipelines.dbt_project import connection_profile
from flexprice_pipelines.defs.usage_dbt import DBT_DIR, DbtUsageResource


def _profile(directory: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((directory / "profiles.yml").read_text())
    return loaded


def test_duckdb_profile_is_written_without_touching_the_environment(tmp_path: Path) -> None:
    before = dict(os.environ)
    resource = DbtUsageResource(warehouse_url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    cli = resource.cli()
    assert dict(os.environ) == before
    assert (cli.target, cli.project_dir) == ("duckdb", str(DBT_DIR))
    directory = Path(cli.profiles_dir or "")
    assert directory == resource.profiles_dir()  # one per process and URL
    output = _profile(directory)["flexprice"]["outputs"]["duckdb"]  # type: ignore[index]
    assert output["path"] == str(tmp_path / "warehouse.duckdb")
    # Everything but the connection stays as dbt/profiles.yml has it.
    assert (output["type"], output["threads"], output["settings"]) == ("duckdb", 1, {"TimeZone": "UTC"})
    assert output["schema"] == "{{ env_var('FLEXPRICE_DBT_SCHEMA', 'main') }}"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "profiles.yml").stat().st_mode) == 0o600


def test_clickhouse_profile_carries_the_url_connection() -> None:
    before = dict(os.environ)
    resource = DbtUsageResource(warehouse_url="clickhouse://billing:s3cret@ch.internal:8124/usage")
    cli = resource.cli()
    assert dict(os.environ) == before
    assert cli.target == "clickhouse"
    profile = _profile(Path(cli.profiles_dir or ""))["flexprice"]
    assert profile["target"] == "clickhouse"  # type: ignore[index]
    output = profile["outputs"]["clickhouse"]  # type: ignore[index]
    assert (output["host"], output["port"], output["user"], output["password"], output["schema"]) == (
        "ch.internal",
        8124,
        "billing",
        "s3cret",
        "usage",
    )
    assert (output["driver"], output["secure"], output["send_receive_timeout"]) == ("http", False, 3600)


def test_a_value_that_looks_like_jinja_stays_text() -> None:
    values = {"FLEXPRICE_CLICKHOUSE_PASSWORD": "a{{b}}c", "FLEXPRICE_CLICKHOUSE_PORT": "8123"}
    output = connection_profile("clickhouse", values)["flexprice"]["outputs"]["clickhouse"]
    assert output["password"] == "{% raw %}a{{b}}c{% endraw %}"
    with pytest.raises(ValueError, match="endraw"):
        connection_profile("clickhouse", {"FLEXPRICE_CLICKHOUSE_PASSWORD": "{% endraw %}"})
