"""Tests of the device CLI: options, hints and output as a technician reads them."""
