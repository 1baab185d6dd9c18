"""Dagster side of the integrations: one module per integration (its asset, check and resource) and
``definitions.py``, which merges them into the pipeline. The clients and sync functions they call stay
in ``flexprice_pipelines/integrations/``."""
