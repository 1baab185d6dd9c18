"""The one Dagster ``Definitions`` object; ``workspace.yaml`` loads it.

It only assembles: each domain under ``flexprice_pipelines/defs/`` owns its assets, checks and
resources, and ``sensors/`` owns the sensors. The billing pipeline lands with issue 5.
"""

from __future__ import annotations

import dagster as dg

defs = dg.Definitions()
