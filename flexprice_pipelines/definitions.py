"""The one Dagster ``Definitions`` object; ``workspace.yaml`` loads it.

It only assembles: each domain under ``flexprice_pipelines/defs/`` owns its assets, checks, jobs and
resources; resources are chosen from ``Settings`` (``FLEXPRICE_*`` environment variables).
"""

from __future__ import annotations

from flexprice_pipelines.defs import build_definitions

defs = build_definitions()
