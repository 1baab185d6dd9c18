"""Business rules behind the routers: small pure functions plus the catalog writes they drive."""
