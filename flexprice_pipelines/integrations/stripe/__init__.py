"""Stripe: invoice sync (our finalized invoices → Stripe invoices) and the payment-status webhook.

Modules: ``tables`` (connections and processed webhook events), ``connections`` (per-scope keys),
``keys`` (idempotency keys), ``payloads`` (Stripe params from our rows), ``sync``
(``sync_invoices_to_stripe``), ``webhooks`` (verify + apply events). The Dagster asset factory is
``flexprice_pipelines/defs/integrations/stripe.py``. The local Stripe HTTP stub for tests and the benchmark is ``tests/support/stripe_stub.py``. See the README.
"""
