"""Adapters to the outside world: invoice PDFs, the object store, Stripe, HubSpot, webhooks."""
