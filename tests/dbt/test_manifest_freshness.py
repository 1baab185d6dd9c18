"""The pipeline re-parses the dbt project when its manifest is older than a project file."""

from __future__ import annotations

import os
from pathlib import Path

from flexprice_pipelines.defs.usage_dbt import _manifest_is_stale


def _touch(path: Path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (mtime, mtime))


def test_missing_older_and_fresh_manifests(tmp_path: Path) -> None:
    manifest = tmp_path / "target" / "manifest.json"
    _touch(tmp_path / "dbt_project.yml", 1_000)
    _touch(tmp_path / "models" / "staging" / "stg_events.sql", 1_000)
    assert _manifest_is_stale(manifest, tmp_path)  # a fresh clone: no manifest yet

    _touch(manifest, 2_000)
    assert not _manifest_is_stale(manifest, tmp_path)

    _touch(tmp_path / "models" / "staging" / "stg_event_versions.sql", 3_000)  # a model added since
    assert _manifest_is_stale(manifest, tmp_path)

    _touch(manifest, 4_000)
    _touch(tmp_path / "macros" / "partition.sql", 5_000)  # a macro edited since
    assert _manifest_is_stale(manifest, tmp_path)
