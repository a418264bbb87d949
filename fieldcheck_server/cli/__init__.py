"""`fieldcheck server|device|records|alerts|admin`: run the server and work with what it holds.

One module per command group; each adds its sub-commands to the parser it is given.
"""

import argparse

from fieldcheck_server.cli import admin, casework, data, device, records, server
from fieldcheck_server.cli.common import DATABASE_ENV, DB_FILE, DEFAULT_DIR, open_db

__all__ = ["DATABASE_ENV", "DB_FILE", "DEFAULT_DIR", "open_db", "register"]


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the server, device, records, alerts and admin commands."""
    server.register(subparsers.add_parser("server", help="the ingest server"))
    device.register(subparsers.add_parser("device", help="the device registry (technicians)"))
    records.register(
        subparsers.add_parser("records", help="records received from devices (officers)")
    )
    records.register_alerts(
        subparsers.add_parser("alerts", help="refusals and evidence needing a person")
    )
    admin.register(
        subparsers.add_parser("admin", help="operator accounts, API tokens and the audit log")
    )
    casework.register(subparsers)  # person, review, webhook
    data.register(subparsers.add_parser("retention", help="delete what is past its age"))
