"""``fieldcheck-device checkin now``: one check-in with the configured camera and face engine.

For technicians and bench testers: it captures, verifies against the enrolled (encrypted)
template, commits one signed ``checkin`` record and prints the receipt. There is no GPS here,
so the record says the fix is absent. Stop the daemon first: one process owns the store.
"""

import argparse
import dataclasses
import json
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from firmware import config
from firmware.camera.registry import BACKENDS as CAMERA_BACKENDS
from firmware.core.clock import SystemClock
from firmware.core.settings import SettingsError, build
from firmware.errors import ConfigError
from firmware.face.registry import BACKENDS as FACE_BACKENDS
from firmware.services.checkin import CheckinService, Receipt
from firmware.services.checkin_worker import template_store_for
from firmware.services.recorder import Recorder, RecordPolicy
from firmware.services.schedule import CheckinSettings
from firmware.store.identity import load_identity

#: The sections this command needs: (name, registry or None for plain settings, default backend).
SECTIONS = (("camera", CAMERA_BACKENDS, "picamera2"), ("face", FACE_BACKENDS, "tflite"),
            ("checkin", None, ""))


@dataclasses.dataclass(frozen=True)
class CheckinConfig:
    """The device config plus the camera, face and check-in sections."""

    device: config.DeviceConfig
    camera: config.Section
    face: config.Section
    checkin: CheckinSettings


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


def load(path: Path | None) -> CheckinConfig:
    """The device config and the sections this command needs, validated."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError as err:
            raise ConfigError(f"config file {path} not found",
                              "create it or pass --config") from err
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"config file {path} is not valid TOML: {err}") from err
    # Until the daemon's config knows these sections, they are read here and kept from it.
    known = {f.name for f in dataclasses.fields(config.DeviceConfig)}
    ours = {name for name, _, _ in SECTIONS} - known
    rest = {k: v for k, v in data.items() if k not in ours}
    device = config.from_mapping(rest, str(path or "<embedded defaults>"))
    parts = {name: getattr(device, name) if name in known else _section(data, name)
             for name, _, _ in SECTIONS}
    return CheckinConfig(device=device, **parts)


def _section(data: Mapping[str, Any], name: str) -> Any:
    backends, default = next((b, d) for n, b, d in SECTIONS if n == name)
    try:
        if backends is None:
            return build(CheckinSettings, data.get(name, {}), name)
        return config.resolve(backends, data.get(name, {}), name, default)
    except SettingsError as err:
        raise ConfigError(str(err)) from err


def _now(args: argparse.Namespace) -> int:
    path = args.config
    if path is None and config.DEFAULT_PATH.exists():
        path = config.DEFAULT_PATH
    loaded = load(path)
    receipt = run_once(loaded, show=lambda code, text: print(f"guidance: {code}: {text}"))
    if args.json:
        print(json.dumps(receipt.as_dict()))
    else:
        print(receipt.message)
        for name, value in receipt.as_dict().items():
            print(f"{name}: {value}")
    return 0


def run_once(loaded: CheckinConfig, show: Any) -> Receipt:
    """Build the parts, run one manual check-in, stop everything; returns the receipt."""
    clock = SystemClock()
    data_dir = loaded.device.device.data_dir
    identity = load_identity(data_dir)
    store = loaded.device.store.module.create(loaded.device.store.config, data_dir=data_dir,
                                              identity=identity, clock=clock)
    store.report(store.start_and_check())
    camera = loaded.camera.module.create(loaded.camera.config)
    engine = loaded.face.module.create(loaded.face.config)
    try:
        camera.start()
        engine.start()
        recorder = Recorder(store, clock,
                            RecordPolicy(fix_max_age_s=loaded.device.policy.fix_max_age_s))
        templates = template_store_for(loaded.checkin, data_dir, identity.device_id)
        service = CheckinService(camera, engine, templates, recorder, store, loaded.checkin,
                                 sleep=time.sleep, clock=clock, on_guidance=show)
        return service.run("manual")
    finally:
        engine.stop()
        camera.stop()
        store.stop()
