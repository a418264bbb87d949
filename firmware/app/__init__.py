"""The unit's application: the composition root (wiring) and the daemon's run loop."""
