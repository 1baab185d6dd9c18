"""Flexprice Pipelines: usage-based billing as a Dagster-orchestrated batch pipeline."""

__version__ = "0.1.0"
