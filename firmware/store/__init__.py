"""Record store adapter: the device identity (key file) and the append-only signed record log."""
