"""The billing core stays pure: no I/O frameworks are imported by any module under billing/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BILLING = Path(__file__).resolve().parents[1] / "flexprice_pipelines" / "billing"
FORBIDDEN = {
    "dagster",
    "fastapi",
    "sqlalchemy",
    "duckdb",
    "clickhouse_connect",
    "chdb",
    "psycopg",
    "psycopg2",
    "confluent_kafka",
    "requests",
    "httpx",
    "boto3",
    "stripe",
    "typst",
    "starlette",
    "socket",
    "sqlite3",
    "subprocess",
    "urllib",
    "http",
    "os",
    "shutil",
    "pathlib",
    "io",
}
ALLOWED_THIRD_PARTY = {"pydantic", "pydantic_core", "typing_extensions"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


MODULES = sorted(BILLING.rglob("*.py"))


def test_billing_package_has_modules() -> None:
    names = {p.relative_to(BILLING).as_posix() for p in MODULES}
    # months, ids and subscriptions moved down from rating/, catalog/ and api/services, and the rating
    # engine itself became billing/rating/ (issue 12).
    assert {"money.py", "errors.py", "months.py", "ids.py", "subscriptions.py"} <= names
    assert {"rating/windows.py", "rating/rate.py", "rating/assemble.py"} <= names


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.relative_to(BILLING).as_posix())
def test_billing_module_imports_only_stdlib_and_pydantic(module: Path) -> None:
    import sys

    imported = _imports(module)
    bad = imported & FORBIDDEN
    assert not bad, f"{module.name} imports {sorted(bad)}"
    third_party = {
        name for name in imported if name not in sys.stdlib_module_names and name != "flexprice_pipelines"
    }
    assert third_party <= ALLOWED_THIRD_PARTY, (
        f"{module.name} imports {sorted(third_party - ALLOWED_THIRD_PARTY)}"
    )


def test_forbidden_import_is_detected(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import duckdb\nfrom dagster import asset\nfrom . import money\n")
    assert _imports(sample) == {"duckdb", "dagster"}
