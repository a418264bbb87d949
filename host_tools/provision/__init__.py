"""``fieldcheck provision``: make a unit ready in one idempotent command, locally or over SSH."""
