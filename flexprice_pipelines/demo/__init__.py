"""``flexprice demo``: a seeded tenant, a deterministic usage stream and three billed months (README "Demo")."""

from flexprice_pipelines.demo.runner import DemoResult, run_demo
from flexprice_pipelines.demo.summary import InvoiceRow

__all__ = ["DemoResult", "InvoiceRow", "run_demo"]
