"""Sync adapter: deliver signed records to the ingest server in bounded batches (HTTPS backend)."""
