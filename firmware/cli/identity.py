"""``fieldcheck-device identity init|show``: provision the device key and show its public half."""

import argparse
import json
from pathlib import Path

from firmware import config
from firmware.store.identity import DeviceIdentity, load_identity, load_or_create_identity


def add_data_dir_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--config``, shared with the ``records`` command."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the unit's data directory (default: device.data_dir of the config)")
    parser.add_argument("--config", type=Path, default=None,
                        help="config file to take device.data_dir from (default "
                        f"{config.DEFAULT_PATH} if it exists, else the embedded default)")


def data_dir_of(args: argparse.Namespace) -> Path:
    """The data directory the arguments name."""
    if args.data_dir is not None:
        return Path(args.data_dir)
    path = config.chosen_path(args.config)
    if path is None:
        return Path(config.DeviceSettings().data_dir)
    return config.load(path).device.data_dir


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``identity`` command."""
    parser = sub.add_parser("identity", help="create or show this unit's signing identity")
    cmds = parser.add_subparsers(dest="identity_command", required=True)
    init = cmds.add_parser("init", help="generate the device key if there is none (idempotent)")
    show = cmds.add_parser("show", help="print the device id and public key to register")
    for cmd, func in ((init, _init), (show, _show)):
        add_data_dir_arguments(cmd)
        cmd.add_argument("--json", action="store_true", help="print JSON")
        cmd.set_defaults(func=func)


def _print(identity: DeviceIdentity, as_json: bool, note: str) -> None:
    # Only public material is ever printed: the id and the public key.
    shown = {"device_id": identity.device_id, "public_key_hex": identity.public_key_hex,
             "public_key_b64url": identity.public_key_b64, "key_file": str(identity.path)}
    if as_json:
        print(json.dumps({**shown, "note": note}))
        return
    print(note)
    for name, value in shown.items():
        print(f"{name}: {value}")


def _init(args: argparse.Namespace) -> int:
    identity, created = load_or_create_identity(data_dir_of(args))
    note = "created a new device key" if created else "kept the existing device key"
    _print(identity, args.json, note)
    return 0


def _show(args: argparse.Namespace) -> int:
    _print(load_identity(data_dir_of(args)), args.json, "device identity")
    return 0
