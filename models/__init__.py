"""Model build scripts and the manifest the firmware reads (build time only, never on a device)."""
