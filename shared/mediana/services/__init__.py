"""Services: what the handlers call (aggregate, ingest, read, refresh, schedule) and the
API's edges (authentication, tenant-scoped credentials, response schemas, OpenAPI)."""
