"""The pure billing core: money, prices, periods, meters, invoice math and entitlements.

No I/O and no framework imports (a test enforces it). See README.md in this folder.
"""
