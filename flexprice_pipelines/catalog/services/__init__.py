"""Catalog writes that apply the billing rules to a request: subscribe a customer (opening and topping up
a wallet moves money, so it is ``ledger.wallets``).

They take domain values (``billing.subscriptions.NewSubscription``), write inside the caller's
transaction and raise errors naming the request field. The API's services convert their request bodies
into these values; the demo seeds its tenant through them.
"""
