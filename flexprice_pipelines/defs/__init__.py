"""Dagster definitions of the billing pipeline, one folder per domain (see README.md)."""

from __future__ import annotations

import dagster as dg

from flexprice_pipelines.defs.billing.assets import ALL_BILLING_ASSETS
from flexprice_pipelines.defs.jobs import billing_job, credit_grants_job, credit_grants_schedule
from flexprice_pipelines.defs.resources import build_resources
from flexprice_pipelines.defs.usage_consistency import usage_read_model_check
from flexprice_pipelines.settings import Settings


def pipeline_definitions(settings: Settings | None = None) -> dg.Definitions:
    """The billing pipeline alone: assets, the usage read-model check, jobs, sensors and resources."""
    from sensors import ALL_SENSORS  # sensors/ imports the jobs and resources defined here

    return dg.Definitions(
        assets=ALL_BILLING_ASSETS,
        asset_checks=[usage_read_model_check],
        jobs=[billing_job, credit_grants_job],
        schedules=[credit_grants_schedule],
        sensors=ALL_SENSORS,
        resources=build_resources(settings),
    )


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """Everything: the pipeline merged with the integrations (PDFs, Stripe, HubSpot, webhooks), from ``settings``."""
    from flexprice_pipelines.defs.integrations.definitions import integration_definitions

    chosen = settings or Settings()
    return dg.Definitions.merge(pipeline_definitions(chosen), integration_definitions(chosen))
