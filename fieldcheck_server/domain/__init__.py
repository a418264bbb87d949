"""Server domain: ingest, request verification, the device registry, exports (no HTTP, no SQL)."""
