"""Dagster sensors: new tenants, period ends, late events."""
