"""The ledger: every write that moves money or issues a document, each in the caller's transaction.

- ``operations``: the atomic steps — gapless invoice numbers, wallet credits and debits (row-locked,
  idempotent per key), credit grant applications (once per grant period).
- ``invoices``: a partition's invoices — draft rewrite, finalization (wallet debit + number +
  ``invoice.update.finalized``), void (refund + ``invoice.update.voided``) and void-and-replace.
- ``settle``: one environment's computed drafts applied to the ledger (bulk path and per-invoice path).
- ``grants``: due credit grants applied to the customers' prepaid wallets.
- ``wallets``: opening a wallet and topping it up (the API and the demo).
- ``events``: system events recorded with their webhook deliveries, in the same transaction.
- ``terms``: one environment's billing terms read from the catalog (what ``settle`` and ``grants`` bill with).

It imports only ``billing`` and ``catalog`` (``tests/test_package_layering.py``): the Dagster assets in
``defs/`` and the API's routes both call down into it, so a void through either is the same write.
"""
