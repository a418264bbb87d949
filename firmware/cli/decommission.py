"""``fieldcheck-device decommission [--force]``: final upload, signed last record, then erase.

Refused while records are unacknowledged (it says how many) unless ``--force``. The signed
``decommissioned`` event goes to the server last; the server retires the unit and refuses its
key from then on. Then the device key, the face template and its key, the review images, the
records and the unit's state files are erased, and each is named. The daemon must be stopped.
"""

import argparse
import json
import random
import sys
from pathlib import Path

from firmware import config
from firmware.app.wiring import Wiring
from firmware.cli.identity import add_data_dir_arguments, wiring_of
from firmware.errors import StoreError
from firmware.services.command_state import STATE_FILE
from firmware.services.decommission import Erasable, Report, Upload, decommission
from firmware.services.remote_policy import OVERLAY_FILE
from firmware.services.schedule import CheckinSettings
from firmware.services.schedule_book import BOOK_FILE
from firmware.services.sync_loop import SyncLoop
from firmware.store.base import RecordStore
from firmware.store.identity import DeviceIdentity

#: Upper bound on batches in the final upload (256 records each by default).
MAX_BATCHES = 10_000


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``decommission`` command."""
    parser = sub.add_parser("decommission", help="final upload, signed decommissioned record, "
                            "then erase the key, template, review images and records")
    add_data_dir_arguments(parser)
    parser.add_argument("--force", action="store_true", help="erase even when records are "
                        "unacknowledged or the server cannot be reached (they are lost)")
    parser.add_argument("--yes", action="store_true", help="do not ask for the device id")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=_decommission)


def _decommission(args: argparse.Namespace) -> int:
    wiring = wiring_of(args)
    settings = config.validate(config.chosen_path(args.config)).built.get("checkin")
    checkin = settings if isinstance(settings, CheckinSettings) else CheckinSettings()
    with wiring.lock("fieldcheck-device decommission"):
        identity = wiring.identity()
        if not args.yes:
            _confirm(identity.device_id)
        store = wiring.existing_store()
        stopped = False

        def stop_store() -> None:
            nonlocal stopped
            store.stop()
            stopped = True

        try:
            ledger = wiring.ledger(store, identity)
            report = decommission(store, ledger, _upload(wiring, store, identity),
                                  erasables(wiring, identity, checkin), args.force, stop_store)
        finally:
            if not stopped:
                store.stop()
    _print(report, args.json)
    return 0


def _confirm(device_id: str) -> None:
    hint = "type the device id when asked, or pass --yes"
    if not sys.stdin.isatty():
        raise StoreError("decommissioning erases this unit and needs confirmation", hint)
    answer = input(f"This erases unit {device_id} for good. Type its device id to go on: ")
    if answer.strip() != device_id:
        raise StoreError("the device id typed does not match; nothing was done", hint)


def _upload(wiring: Wiring, store: RecordStore, identity: DeviceIdentity) -> Upload | None:
    if not wiring.syncing:
        return None
    section = wiring.config.sync
    transport = section.module.create(section.config, signer=identity, clock=wiring.clock)

    def upload() -> bool:
        transport.start()
        try:
            SyncLoop(store, transport, random.SystemRandom()).drain(MAX_BATCHES)
        finally:
            transport.stop()
        return store.status().pending == 0

    return upload


def erasables(wiring: Wiring, identity: DeviceIdentity,
              checkin: CheckinSettings) -> list[Erasable]:
    """What decommissioning erases, by name, inside the unit's data directory."""
    data = wiring.data_dir
    db = data / str(getattr(wiring.config.store.config, "filename", "records.sqlite3"))
    return [
        Erasable("device key", (identity.path,)),
        Erasable("face template and its key", (data / checkin.template_file,
                                               data / checkin.key_file)),
        Erasable("review images", (data / checkin.review_dir,)),
        Erasable("records", (db, Path(f"{db}-wal"), Path(f"{db}-shm"))),
        Erasable("schedule, command guard and remote policy",
                 (data / BOOK_FILE, data / STATE_FILE, data / OVERLAY_FILE)),
    ]


def _print(report: Report, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"device_id": report.device_id, "unsent": report.unsent,
                          "final_seq": report.final_seq,
                          "final_acknowledged": report.final_acknowledged,
                          "erased": dict(report.erased)}))
        return
    if report.unsent:
        print(f"forced: {report.unsent} record(s) were never acknowledged and are erased")
    else:
        print("final upload: every record acknowledged by the server")
    seq = "" if report.final_seq is None else f" seq {report.final_seq}"
    if report.final_acknowledged:
        print(f"decommissioned record{seq} acknowledged: the server has "
              f"retired {report.device_id} and refuses its key from now on")
    else:
        print("forced: the server did not get the decommissioned record; refuse the unit "
              f"there with `fieldcheck device revoke --dir DIR --id {report.device_id} --reason "
              "decommissioned`")
    for what, files in report.erased:
        print(f"erased {what}: {files} file(s)")
