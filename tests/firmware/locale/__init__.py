"""Tests of the wearer catalogues."""
