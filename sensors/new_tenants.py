"""New tenants → ``tenants`` dynamic partitions."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import select

from flexprice_pipelines.catalog.models import Tenant
from flexprice_pipelines.defs.partitions import TENANTS
from flexprice_pipelines.defs.resources import CatalogResource
from sensors.cursor import dump_cursor, load_cursor


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def new_tenants_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource) -> dg.SensorResult:
    """Adds every published catalog tenant missing from the ``tenants`` partitions.

    Cursor ``{"tenants": [...]}``: the tenants already added, so a tenant removed from the partitions by
    hand is not re-added behind the operator's back.
    """
    state = load_cursor(context.cursor)
    added = set(state.get("tenants", []))
    with catalog.read() as session:
        published = sorted(session.scalars(select(Tenant.id).where(Tenant.status == "published")))
    known = set(context.instance.get_dynamic_partitions(TENANTS.name or "tenants"))
    fresh = [t for t in published if t not in known and t not in added]
    return dg.SensorResult(
        dynamic_partitions_requests=[TENANTS.build_add_request(fresh)] if fresh else [],
        cursor=dump_cursor({"tenants": sorted(added | set(fresh))}),
    )
