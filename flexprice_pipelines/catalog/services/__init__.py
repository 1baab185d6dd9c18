"""Catalog writes that apply the billing rules to a request: subscribe a customer, open and top up a wallet.

They take domain values (``billing.subscriptions.NewSubscription``, ``billing.wallets.NewWallet`` /
``TopUp``), write inside the caller's transaction and raise errors naming the request field. The API's
services convert their request bodies into these values; the demo seeds its tenant through them.
"""
