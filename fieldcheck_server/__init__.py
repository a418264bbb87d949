"""The ingest server (`fieldcheck server`): verifies, dedupes and stores signed device records."""
