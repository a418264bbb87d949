"""Supervisor link backends; each imports its vendor library only inside itself."""
