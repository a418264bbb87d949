"""``fieldcheck-device update install|verify|status|rollback|recover``: bundles into A/B slots."""

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from firmware import config
from firmware.config import DeviceSettings
from firmware.errors import ConfigError
from firmware.update.installer import Installer, InstallResult
from firmware.update.registry import SERVICES, UpdateSettings, installer_for

_DEFAULTS = UpdateSettings()


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``update`` and its verbs."""
    parser = sub.add_parser("update", help="install a signed bundle into the inactive slot, "
                            "health-check it, roll back")
    verbs = parser.add_subparsers(dest="verb", required=True)
    install = verbs.add_parser("install", help="verify, install, restart, commit when healthy")
    install.add_argument("file", type=Path)
    install.add_argument("--no-health-check", action="store_true",
                         help="commit without restarting the daemon (first install while "
                         "provisioning, before the daemon is configured)")
    install.add_argument("--consume", action="store_true",
                         help="delete FILE afterwards, installed or not (the queue of bundles "
                         "offered by the server: fieldcheck-update.path)")
    _options(install)
    install.set_defaults(func=_install)
    verify = verbs.add_parser("verify", help="check a bundle as install would; change nothing")
    verify.add_argument("file", type=Path)
    _options(verify)
    verify.set_defaults(func=_verify)
    for name, func, text in (
            ("status", _status, "slots, the current one, the kept counter, an install under way"),
            ("rollback", _rollback, "go back to the other complete slot (health-checked)"),
            ("recover", _recover, "finish an install that was cut off (run at boot)")):
        verb = verbs.add_parser(name, help=text)
        _options(verb)
        verb.set_defaults(func=func)


def _options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where and how")
    group.add_argument("--config", type=Path, default=None,
                       help=f"unit config whose [device] update_root and bundle_root_key are the "
                       f"defaults of --root and --root-key (default {config.DEFAULT_PATH} if "
                       "it exists)")
    group.add_argument("--root", type=Path, default=None,
                       help=f"slots folder (default: the config's update_root, {_DEFAULTS.root})")
    group.add_argument("--root-key", type=Path, default=None,
                       help="pinned bundle root public key (default: the config's "
                       f"bundle_root_key, {_DEFAULTS.root_key})")
    group.add_argument("--service", choices=SERVICES, default=_DEFAULTS.service,
                       help="how the daemon is restarted (process: a bench without systemd)")
    group.add_argument("--unit", default=_DEFAULTS.unit, help="systemd unit of the daemon")
    group.add_argument("--daemon-command", default=_DEFAULTS.daemon_command,
                       help="--service process: the daemon's command; {current} is the slot")
    group.add_argument("--setup", choices=("venv", "files"), default=_DEFAULTS.setup,
                       help="venv: install the bundle's wheels into the slot's own venv")
    group.add_argument("--extras", default=_DEFAULTS.extras,
                       help="the fieldcheck extra the slot's venv installs ('' for none)")
    group.add_argument("--health-timeout", type=float, default=_DEFAULTS.health_timeout_s,
                       help="seconds the daemon has to come up healthy")
    group.add_argument("--settle", type=float, default=_DEFAULTS.settle_s,
                       help="seconds it must then stay up")
    group.add_argument("--json", action="store_true", help="one JSON object")


def settings_of(args: argparse.Namespace) -> UpdateSettings:
    """The update settings the command line gives; the slots root and root key default to the
    unit config's, so the installer and the daemon (which waits for its journal) agree."""
    device = _device_settings(args.config) if args.root is None or args.root_key is None else None
    root = args.root if args.root is not None else device.update_root if device else _DEFAULTS.root
    root_key = args.root_key if args.root_key is not None else (
        device.bundle_root_key if device else _DEFAULTS.root_key)
    return UpdateSettings(root=root, root_key=root_key, service=args.service,
                          unit=args.unit, daemon_command=args.daemon_command, setup=args.setup,
                          extras=args.extras,
                          health_timeout_s=args.health_timeout, settle_s=args.settle)


def _device_settings(path: Path | None) -> DeviceSettings:
    """The config's ``[device]`` settings; the defaults when it is unreadable or that section is
    invalid (an update or a recovery must not depend on the config being right)."""
    chosen = config.chosen_path(path)
    try:
        built = config.validate(chosen).built.get("device")
    except ConfigError as err:
        print(f"update: {err}; using the default slots root and root key", file=sys.stderr)
        return DeviceSettings()
    if built is None:
        print(f"update: [device] of {chosen} is invalid; using the default slots root and root "
              "key", file=sys.stderr)
        return DeviceSettings()
    return built


def _installer(args: argparse.Namespace) -> Installer:
    def say(step: str) -> None:
        if not args.json:
            print(f"update: {step}", file=sys.stderr, flush=True)

    return installer_for(settings_of(args), say)


def _result(args: argparse.Namespace, result: InstallResult) -> int:
    if args.json:
        print(json.dumps(asdict(result), sort_keys=True))
    elif result.outcome == "installed":
        print(f"installed {result.version} (counter {result.counter}) in slot {result.slot}: "
              f"{result.detail}")
    else:
        back = f"the unit runs slot {result.slot} again" if result.slot else \
            "there is no earlier slot, so nothing runs"
        print(f"ROLLED BACK: {result.version} failed its health check ({result.detail}); "
              f"{back}. Look at `journalctl -u fieldcheck-device` for why it did not come up")
    return 0 if result.outcome == "installed" else 1


def _install(args: argparse.Namespace) -> int:
    try:
        return _result(args, _installer(args).install(args.file, not args.no_health_check))
    finally:
        if args.consume:  # a refused offer must not be retried by the path unit forever
            args.file.unlink(missing_ok=True)


def _verify(args: argparse.Namespace) -> int:
    root, manifest = _installer(args).verify(args.file)
    if args.json:
        print(json.dumps({"version": manifest.version, "counter": manifest.counter,
                          "root_version": root.version, "files": len(manifest.files)}))
    else:
        print(f"ok: {manifest.version}, counter {manifest.counter}, root v{root.version}, "
              f"{len(manifest.files)} files, expires {manifest.expires:%Y-%m-%d}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    return _result(args, _installer(args).rollback())


def _recover(args: argparse.Namespace) -> int:
    done = _installer(args).recover()
    print(done or "nothing to recover")
    return 0


def _status(args: argparse.Namespace) -> int:
    installer = _installer(args)
    slots = installer.slots
    state, journal, current = slots.state(), slots.journal(), slots.current()
    infos = [installer.slot_info(name) for name in ("a", "b")]
    if args.json:
        print(json.dumps({"current": current, "state": asdict(state),
                          "journal": asdict(journal) if journal else None,
                          "slots": [asdict(i) for i in infos]}, sort_keys=True))
        return 0
    print(f"current slot  {current or '(none: never installed)'}")
    print(f"accepted      counter {state.counter}, root v{state.root_version}")
    for info in infos:
        mark = "*" if info.name == current else " "
        what = f"{info.version} (counter {info.counter})" if info.complete else "(empty)"
        print(f"slot {info.name} {mark}     {what}")
    if journal is not None:
        print(f"UNDER WAY     {journal.phase} of {journal.version} into slot {journal.target}: "
              "run `fieldcheck-device update recover`")
    return 0
