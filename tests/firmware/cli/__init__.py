"""Tests of the device commands."""
