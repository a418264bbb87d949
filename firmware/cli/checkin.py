"""``fieldcheck-device checkin now``: one check-in with the configured camera and face engine.

For technicians and bench testers: it captures, verifies against the enrolled (encrypted)
template, commits one signed ``checkin`` record and prints the receipt. There is no GPS here,
so the record says the fix is absent. One process owns the store: beside a running daemon
the single-instance lock refuses it, naming the daemon's pid.
"""

import argparse
import json
from pathlib import Path
from typing import Any

from firmware import config
from firmware.app.face_session import face_session
from firmware.app.wiring import Wiring
from firmware.services.checkin import Receipt


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``checkin`` command."""
    parser = sub.add_parser("checkin", help="run a check-in now and print its receipt")
    cmds = parser.add_subparsers(dest="checkin_command", required=True)
    now = cmds.add_parser("now", help="capture, verify, commit one checkin record, print receipt")
    now.add_argument("--config", type=Path, default=None,
                     help=f"config file (TOML) with [camera], [face] and [checkin]; default "
                     f"{config.DEFAULT_PATH} if it exists, else the embedded defaults")
    now.add_argument("--json", action="store_true", help="print the receipt as JSON")
    now.set_defaults(func=_now)


def _now(args: argparse.Namespace) -> int:
    loaded = config.load(config.chosen_path(args.config))
    receipt = run_once(loaded, show=lambda code, text: print(f"guidance: {code}: {text}"))
    if args.json:
        print(json.dumps(receipt.as_dict()))
    else:
        print(receipt.message)
        for name, value in receipt.as_dict().items():
            print(f"{name}: {value}")
    return 0


def run_once(loaded: config.DeviceConfig, show: Any) -> Receipt:
    """Build the parts from the wiring, run one manual check-in, stop everything."""
    with face_session(Wiring(loaded), "fieldcheck-device checkin now") as parts:
        service = parts.wiring.checkin_service(parts.camera, parts.engine, parts.ledger,
                                               parts.identity.device_id, on_guidance=show,
                                               liveness=parts.liveness)
        return service.run("manual")
