"""Request and response bodies per domain: ``…Create`` / ``…Update`` / ``…Public``."""
