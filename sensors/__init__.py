"""Dagster sensors of the billing pipeline (imported by ``flexprice_pipelines.defs``).

- ``new_tenants_sensor``: catalog tenants → ``tenants`` dynamic partitions;
- ``period_end_sensor``: billing periods that ended (+ grace) → runs of their (tenant, month) partition;
- ``late_events_sensor``: events ingested since the last tick → re-runs of partitions with affected drafts.

Each keeps a JSON cursor (``sensors.cursor``) and emits deterministic ``run_key``s, so a tick that is
evaluated twice requests nothing twice.
"""

from sensors.late_events import late_events_sensor
from sensors.new_tenants import new_tenants_sensor
from sensors.period_end import period_end_sensor

ALL_SENSORS = [new_tenants_sensor, period_end_sensor, late_events_sensor]

__all__ = ["ALL_SENSORS", "late_events_sensor", "new_tenants_sensor", "period_end_sensor"]
