"""The runtime packages never import the REST API: ``api`` sits on top of them, not beside them.

``flexprice_pipelines`` (the pipeline, the demo, the catalog services) and ``sensors`` take domain values;
the request schemas and routers in ``api/`` convert to those values and call down. The one place that
names ``api`` is the ``flexprice`` command table (``flexprice_pipelines/cli.py``), by dotted path, so
``flexprice api`` can start the server; that is a string, never an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flexprice_pipelines", "sensors")


def _imported_roots(path: Path) -> set[str]:
    # Every import statement, including those inside functions (lazy imports count too).
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


MODULES = sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


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
