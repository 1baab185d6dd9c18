"""Package layering (docs/architecture.md, import rules), read off every import statement.

The runtime packages never import the REST API: ``api`` sits on top of them, not beside them.
``flexprice_pipelines`` (the pipeline, the demo, the catalog services) and ``sensors`` take domain values;
the request schemas and routers in ``api/`` convert to those values and call down. The one place that
names ``api`` is the ``flexprice`` command table (``flexprice_pipelines/cli.py``), by dotted path, so
``flexprice api`` can start the server; that is a string, never an import.

Dagster has one home: only ``flexprice_pipelines/defs/`` and ``sensors/`` import ``dagster`` or any
``dagster_*`` package (dagster-dbt, dagster-aws, ...). ``integrations/`` keeps clients and sync functions,
``usage/`` the read model, and the API never pays for Dagster's import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flexprice_pipelines", "sensors")


def _imported_roots(path: Path) -> set[str]:
    # Every import statement, including those inside functions (lazy imports count too), and
    # ``importlib.import_module("…")`` / ``__import__("…")`` of a literal name.
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _is_import_call(node.func) and node.args:
            name = node.args[0]
            if (
                isinstance(name, ast.Constant)
                and isinstance(name.value, str)
                and not name.value.startswith(".")
            ):
                found.add(name.value.split(".")[0])
    return found


def _is_import_call(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def _imports_dagster(path: Path) -> set[str]:
    return {root for root in _imported_roots(path) if root.startswith("dagster")}


MODULES = sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))
DAGSTER_HOMES = (ROOT / "flexprice_pipelines" / "defs", ROOT / "sensors")
# Everything that must not import Dagster: the package outside defs/, and the REST API.
OUTSIDE_DEFS = sorted(
    path
    for package in ("flexprice_pipelines", "api")
    for path in (ROOT / package).rglob("*.py")
    if not any(path.is_relative_to(home) for home in DAGSTER_HOMES)
)


def test_the_packages_have_modules() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in MODULES}
    assert {"flexprice_pipelines/demo/seed.py", "sensors/period_end.py"} <= names


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_module_does_not_import_api(module: Path) -> None:
    assert "api" not in _imported_roots(module), f"{module.relative_to(ROOT)} imports api"


def test_an_api_import_is_detected(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from api.schemas.customers import CustomerCreate\n"
        "def later():\n    import api.services.wallets\n"
        "import apis\nfrom . import api\n"
    )
    assert _imported_roots(sample) == {"api", "apis"}


# -- the ledger ----------------------------------------------------------------------------------
# ``flexprice_pipelines/ledger/`` (every write that moves money or issues a document) sits right above
# the catalog: the Dagster assets in ``defs/`` and the API's routes both call down into it, so it may
# import only billing, catalog and itself (plus stdlib and third-party libraries other than Dagster).
# The catalog, below it, never imports it.

LEDGER_MAY_IMPORT = (
    "flexprice_pipelines.billing",
    "flexprice_pipelines.catalog",
    "flexprice_pipelines.ledger",
)
NEVER_IN_LEDGER = ("dagster", "api", "sensors")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.add("<relative import>")
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def ledger_violations(path: Path) -> list[str]:
    """The imports of a ledger module that break the rule above."""
    internal_elsewhere = [
        name
        for name in _imported_modules(path)
        if _within(name, ("flexprice_pipelines",)) and not _within(name, LEDGER_MAY_IMPORT)
    ]
    forbidden = [
        n for n in _imported_modules(path) if n == "<relative import>" or _within(n, NEVER_IN_LEDGER)
    ]
    return sorted(internal_elsewhere + forbidden)


LEDGER_MODULES = sorted((ROOT / "flexprice_pipelines" / "ledger").rglob("*.py"))
CATALOG_MODULES = sorted((ROOT / "flexprice_pipelines" / "catalog").rglob("*.py"))


def test_the_ledger_has_its_modules() -> None:
    names = {path.name for path in LEDGER_MODULES}
    assert {"operations.py", "invoices.py", "settle.py", "grants.py", "events.py", "wallets.py"} <= names


@pytest.mark.parametrize("module", LEDGER_MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_ledger_imports_only_billing_and_catalog(module: Path) -> None:
    assert ledger_violations(module) == [], f"{module.relative_to(ROOT)} imports outside billing + catalog"


@pytest.mark.parametrize("module", CATALOG_MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_catalog_does_not_import_the_ledger(module: Path) -> None:
    assert not any(_within(n, ("flexprice_pipelines.ledger",)) for n in _imported_modules(module))


def test_a_ledger_violation_is_detected(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import decimal\nimport sqlalchemy.orm\nimport dagster as dg\n"
        "from flexprice_pipelines.billing.money import quantum\n"
        "from flexprice_pipelines.catalog import Scope\nfrom flexprice_pipelines.ledger import events\n"
        "from flexprice_pipelines.billing_extra import x\n"
        "def later():\n    from flexprice_pipelines.defs.resources import CatalogResource\n"
        "    import flexprice_pipelines.warehouse.base\n    from api.deps import now\n"
        "from . import invoices\n"
    )
    assert ledger_violations(sample) == [
        "<relative import>",
        "api.deps",
        "dagster",
        "flexprice_pipelines.billing_extra",
        "flexprice_pipelines.defs.resources",
        "flexprice_pipelines.warehouse.base",
    ]


def test_the_dagster_scan_covers_the_packages_and_the_api() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in OUTSIDE_DEFS}
    assert {
        "flexprice_pipelines/integrations/object_store.py",
        "flexprice_pipelines/usage/consistency.py",
        "flexprice_pipelines/pipeline_cli.py",
        "api/app.py",
    } <= names
    assert not any(name.startswith(("flexprice_pipelines/defs/", "sensors/")) for name in names)


@pytest.mark.parametrize("module", OUTSIDE_DEFS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_only_defs_and_sensors_import_dagster(module: Path) -> None:
    found = _imports_dagster(module)
    assert not found, (
        f"{module.relative_to(ROOT)} imports {sorted(found)}: Dagster code lives under flexprice_pipelines/defs/"
    )


def test_the_dagster_homes_do_import_it() -> None:
    # The scan is not vacuous: the definitions and the sensors are where Dagster is imported.
    assert _imports_dagster(ROOT / "flexprice_pipelines" / "defs" / "__init__.py") == {"dagster"}
    assert _imports_dagster(ROOT / "flexprice_pipelines" / "defs" / "usage_dbt.py") == {
        "dagster",
        "dagster_dbt",
    }
    assert "dagster" in _imports_dagster(ROOT / "sensors" / "period_end.py")


def test_a_lazy_dagster_import_is_detected(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import json\n"
        "def open_store(url):\n"
        "    if url.startswith('s3://'):\n"
        "        from dagster_aws.s3 import S3Resource\n"
        "        return S3Resource().get_client()\n"
        "class Later:\n"
        "    def run(self):\n"
        "        import dagster as dg\n"
        "        importlib.import_module('dagster_dbt.cli')\n"
        "        return __import__('dagster_postgres')\n"
        "def relative():\n"
        "    from . import dagster\n"
        "    importlib.import_module('.dagster_like', 'pkg')\n"
    )
    assert _imports_dagster(sample) == {"dagster", "dagster_aws", "dagster_dbt", "dagster_postgres"}
    assert "json" in _imported_roots(sample)
