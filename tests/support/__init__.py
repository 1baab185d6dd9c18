"""Servers and stubs the tests and benchmarks start; never shipped in the wheel (tests/test_wheel_contents.py).

``chdb_http`` (the ClickHouse HTTP interface over chdb), ``stripe_stub`` and ``hubspot_stub`` (local
Stripe and HubSpot APIs the real SDKs talk to over HTTP).
"""
