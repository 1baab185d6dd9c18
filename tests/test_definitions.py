"""workspace.yaml points at a module that loads into a valid Definitions object."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_workspace_loads_the_definitions_module() -> None:
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    module_name = workspace["load_from"][0]["python_module"]["module_name"]
    module = __import__(module_name, fromlist=["defs"])
    assert isinstance(module.defs, dg.Definitions)
    dg.Definitions.validate_loadable(module.defs)


def test_main_definitions_hold_the_pipeline_the_integrations_and_the_usage_check() -> None:
    from flexprice_pipelines.definitions import defs

    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {
        "invoices",
        "invoice_pdfs",
        "stripe_invoice_sync",
        "hubspot_sync",
        "webhook_deliveries",
        "fct_period_usage",
    } <= keys
    checks = {(k.asset_key.to_user_string(), k.name) for k in repo.asset_graph.asset_check_keys}
    assert ("fct_period_usage", "usage_read_model_matches_fct_period_usage") in checks
    assert {s.name for s in repo.sensor_defs} >= {
        "new_tenants_sensor",
        "period_end_sensor",
        "late_events_sensor",
    }
    assert "webhook_deliveries_every_minute" in {s.name for s in repo.schedule_defs}
    assert {"object_store", "stripe_api", "hubspot", "catalog", "clock"} <= set(
        repo.get_top_level_resources()
    )
