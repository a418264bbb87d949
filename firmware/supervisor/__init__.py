"""Supervisor adapter: the link to the RP2040 that watches the strap, battery, button and the Pi."""
