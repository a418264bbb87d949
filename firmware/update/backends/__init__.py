"""Service managers the installer restarts the daemon through (systemd, a plain process)."""
