"""Signed firmware bundles on the technician's machine: keys, root metadata, build and verify."""
