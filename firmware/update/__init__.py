"""Signed bundle updates on the unit: A/B slots, the installer, health check and rollback."""
