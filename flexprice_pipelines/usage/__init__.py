"""Real-time usage read model and entitlement checks (see README.md in this folder)."""
