"""``fieldcheck-device identity init|show``: provision the device key and show its public half."""

import argparse
import dataclasses
import json
import shlex
from pathlib import Path

from firmware import config
from firmware.app.wiring import Wiring
from firmware.errors import StoreError
from firmware.store.identity import DeviceIdentity, key_path


def add_data_dir_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--config``, shared with the ``records`` command."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the unit's data directory (default: device.data_dir of the config)")
    parser.add_argument("--config", type=Path, default=None,
                        help="config file to take device.data_dir from (default "
                        f"{config.DEFAULT_PATH} if it exists, else the embedded default)")


def wiring_of(args: argparse.Namespace) -> Wiring:
    """The wiring of the command's config, ``--data-dir`` applied.

    Only [device], [store] and the other essentials must be valid (safe mode's rule), so a
    technician can still read a unit whose check-in settings are broken.
    """
    validation = config.validate(config.chosen_path(args.config))
    essentials = validation.essentials()
    if args.data_dir is not None:
        device = dataclasses.replace(essentials.device, data_dir=Path(args.data_dir))
        essentials = dataclasses.replace(essentials, device=device)
    return Wiring(essentials)


def data_dir_of(args: argparse.Namespace) -> Path:
    """The data directory the arguments name."""
    return wiring_of(args).data_dir


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
    wiring = wiring_of(args)
    existed = key_path(wiring.data_dir).exists()
    with wiring.lock("fieldcheck-device identity init"):
        identity = wiring.identity(create=True)
    note = "kept the existing device key" if existed else "created a new device key"
    _print(identity, args.json, note)
    return 0


def _show(args: argparse.Namespace) -> int:
    wiring = wiring_of(args)
    path = key_path(wiring.data_dir)
    if not path.exists() and not path.is_symlink():
        raise StoreError(f"no device key at {path}",
                         f"provision the unit: `{init_command(args)}`")
    _print(wiring.identity(), args.json, "device identity")
    return 0


def init_command(args: argparse.Namespace) -> str:
    """The ``identity init`` command for the same unit: the --data-dir/--config given here."""
    words = ["fieldcheck-device", "identity", "init"]
    for flag, value in (("--data-dir", args.data_dir), ("--config", args.config)):
        if value is not None:
            words += [flag, str(value)]
    return shlex.join(words)
