"""Sync backends; vendor HTTP clients are imported only here."""
