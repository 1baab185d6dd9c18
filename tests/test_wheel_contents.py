"""The wheel ships runtime code only: no test servers, stubs or fixtures, nothing from tests/ or bench/.

It builds the real wheel (``pip wheel --no-deps --no-build-isolation``, offline, with the venv's
setuptools) from a copy of the sources — including ``tests/`` and ``bench/``, so that a packaging rule broad
enough to pick them up would show here — and lists what is inside.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "flexprice_pipelines", "api", "sensors", "tests", "bench")
# The modules that moved to tests/support (issue 12), under their old and new names.
TEST_MODULES = {
    "chdb_http",
    "README_chdb_http",
    "testing",
    "local_stub",
    "stripe_stub",
    "hubspot_stub",
    "conftest",
}


def offending(names: list[str]) -> list[str]:
    """The wheel entries that are test code."""
    bad = []
    for name in names:
        path = PurePosixPath(name)
        if (
            path.parts[0] in {"tests", "bench"}
            or "support" in path.parts[:-1]
            or path.stem in TEST_MODULES
            or path.name.startswith("test_")
            or path.stem.endswith("_test")
        ):
            bad.append(name)
    return bad


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", ".hypothesis")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=ignore)
        else:
            shutil.copy2(source, src / name)
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "wheel", str(src)]
    command += ["--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(work / "dist")]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    (wheel,) = (work / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_holds_the_runtime_packages(wheel_names: list[str]) -> None:
    assert {
        "flexprice_pipelines/billing/money.py",
        "flexprice_pipelines/catalog/services/subscriptions.py",
        "flexprice_pipelines/demo/catalog.yaml",
        "api/app.py",
        "sensors/period_end.py",
    } <= set(wheel_names)


def test_the_wheel_holds_no_test_code(wheel_names: list[str]) -> None:
    assert offending(wheel_names) == []


def test_test_code_is_recognised() -> None:
    names = [
        "flexprice_pipelines/warehouse/chdb_http.py",
        "flexprice_pipelines/warehouse/README_chdb_http.md",
        "flexprice_pipelines/integrations/stripe/testing.py",
        "flexprice_pipelines/integrations/hubspot/local_stub.py",
        "tests/support/stripe_stub.py",
        "bench/bench_rating.py",
        "api/conftest.py",
        "flexprice_pipelines/test_things.py",
        "flexprice_pipelines/billing/money.py",
        "flexprice_pipelines/integrations/stripe/sync.py",
    ]
    assert offending(names) == names[:-2]
