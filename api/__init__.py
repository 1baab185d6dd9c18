"""FastAPI app: routers per domain (events, catalog, entitlements, invoices)."""
