"""``fieldcheck-device checkin now``: one check-in with the configured camera and face engine.

For technicians and bench testers: it captures, verifies against the enrolled (encrypted)
template, commits one signed ``checkin`` record and prints the receipt. There is no GPS here,
so the record says the fix is absent. Stop the daemon first: one process owns the store.
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

from fieldcheck_protocol.clock import SystemClock
from firmware import config
from firmware.services.checkin import CheckinService, Receipt
from firmware.services.checkin_worker import template_store_for
from firmware.services.ledger import Ledger, RecordPolicy
from firmware.store.identity import load_identity


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
    """Build the parts, run one manual check-in, stop everything; returns the receipt."""
    clock = SystemClock()
    data_dir = loaded.device.data_dir
    identity = load_identity(data_dir)
    store = loaded.store.module.create(loaded.store.config, data_dir=data_dir,
                                       identity=identity, clock=clock)
    problems = store.start_and_check()
    camera = loaded.camera.module.create(loaded.camera.config)
    engine = loaded.face.module.create(loaded.face.config)
    try:
        ledger = Ledger(store, identity, clock,
                        RecordPolicy(fix_max_age_s=loaded.policy.fix_max_age_s), model=engine)
        ledger.report(problems)
        camera.start()
        engine.start()
        templates = template_store_for(loaded.checkin, data_dir, identity.device_id)
        service = CheckinService(camera, engine, templates, ledger, loaded.checkin,
                                 sleep=time.sleep, clock=clock, on_guidance=show)
        return service.run("manual")
    finally:
        engine.stop()
        camera.stop()
        store.stop()
