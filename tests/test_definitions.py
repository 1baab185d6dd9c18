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
