"""``fieldcheck provision (--ssh USER@HOST | --local)``: one command from a fresh OS to a unit
that is registered, configured, self-tested and labelled; run it again and nothing changes."""

import argparse
import json
import os
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from fieldcheck_cli.args import positive_int
from host_tools.provision import unit_config
from host_tools.provision.steps import STATE_FILE, STEPS, Plan, Progress
from host_tools.provision.target import LocalTarget, ProvisionError, SshTarget, Target

TOKEN_ENV = "FIELDCHECK_TOKEN"


def register(subparsers: Any) -> None:
    """Add ``provision``."""
    p = subparsers.add_parser(
        "provision", help="install, key, register, configure, self-test and label a unit",
        description="Each step says what it did; a second run changes nothing unless "
        "--force-step NAME asks. Steps: " + ", ".join(name for name, _ in STEPS))
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--ssh", metavar="USER@HOST", help="the unit, reached with ssh")
    where.add_argument("--local", action="store_true", help="run on the unit itself")
    p.add_argument("--server", required=True, help="server URL, e.g. https://ingest:8443")
    p.add_argument("--server-cert", type=Path, required=True,
                   help="the server's server.crt (pinned by the unit)")
    p.add_argument("--command-key", type=Path, help="the server's command.pub (pinned)")
    p.add_argument("--token-file", type=Path, help=f"a technician's API token (first line); "
                   f"default: ${TOKEN_ENV}")
    p.add_argument("--label", default="", help="free text for the server and the label")
    p.add_argument("--label-out", type=Path, default=None,
                   help="where the label PNG goes on this machine (default DEVICE_ID.png)")
    p.add_argument("--bundle", type=Path, help="signed bundle to install (`fieldcheck bundle "
                   "build`)")
    p.add_argument("--root-key", type=Path, help="the bundle root public key to pin")
    p.add_argument("--unit-config", type=Path, help="base TOML with the unit's hardware "
                   "sections ([gps], [camera], [face], [supervisor], [ui]); provision adds "
                   "[device], [sync] and the schedule")
    p.add_argument("--checkins-per-day", type=positive_int, help="random check-in windows a day")
    p.add_argument("--language", choices=("en", "es", "pt", "ht"), help="the wearer's language")
    p.add_argument("--etc", type=Path, default=Path("/etc/fieldcheck"), help="config folder "
                   "on the unit (default /etc/fieldcheck)")
    p.add_argument("--data-dir", type=Path, default=Path("/var/lib/fieldcheck"),
                   help="the unit's data folder (default /var/lib/fieldcheck)")
    p.add_argument("--slots-root", type=Path, default=Path("/opt/fieldcheck"),
                   help="where the A/B slots live (default /opt/fieldcheck)")
    p.add_argument("--slot-setup", choices=("venv", "files"), default="venv",
                   help="venv: the bundle's wheels go into the slot's own venv (default)")
    p.add_argument("--device-command", default="fieldcheck-device",
                   help="how to run fieldcheck-device on the unit (default: fieldcheck-device)")
    p.add_argument("--gps-wait", type=float, default=20.0, help="self-test wait for a GPS fix")
    p.add_argument("--force-step", action="append", default=[], metavar="NAME",
                   choices=[name for name, _ in STEPS], help="redo this step (repeatable)")
    p.set_defaults(func=_provision)


def _token(path: Path | None) -> str:
    if path is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        if lines and lines[0].strip():
            return lines[0].strip()
        raise ProvisionError(f"{path} is empty", "put the token on its first line")
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ProvisionError("no technician token given",
                             f"pass --token-file FILE or set {TOKEN_ENV} (`fieldcheck admin "
                             "token create --username NAME --name provision` makes one)")
    return token


def plan_of(args: argparse.Namespace) -> Plan:
    """The plan the command line describes."""
    target: Target = LocalTarget() if args.local else SshTarget(args.ssh)
    return Plan(target=target, device_command=tuple(shlex.split(args.device_command)),
                etc=args.etc, data_dir=args.data_dir, server=args.server,
                server_cert=args.server_cert, token=_token(args.token_file),
                label_text=args.label, label_out=args.label_out or Path("unit-label.png"),
                command_key=args.command_key, bundle=args.bundle, root_key=args.root_key,
                slots_root=args.slots_root, slot_setup=args.slot_setup,
                base=unit_config.read_base(args.unit_config),
                per_day=args.checkins_per_day, language=args.language,
                gps_wait_s=args.gps_wait, force=frozenset(args.force_step))


def run(plan: Plan, label_default: bool = False) -> int:
    """Every step in order; the first failure stops and says what to do (exit 2)."""
    state_path = plan.etc / STATE_FILE
    saved = plan.target.read(state_path)
    progress = Progress(done=dict(json.loads(saved)) if saved else {})
    print(f"provisioning {plan.target.describe}")
    for name, step in STEPS:
        if name == "label" and label_default:
            plan = _with_label_path(plan, progress.device_id)
        try:
            did = step(plan, progress)
        except ProvisionError as err:
            return _failed(name, str(err), err.hint)
        except OSError as err:
            return _failed(name, f"{err.filename or ''}: {err.strerror}", "check the path and "
                           "its permissions")
        finally:
            _save(plan.target, state_path, progress.done)
        print(f"[{name}] {did}")
    print(f"unit {progress.device_id} is provisioned")
    return 0


def _failed(name: str, message: str, hint: str) -> int:
    print(f"[{name}] FAILED: {message}\n  -> {hint}", file=sys.stderr)
    return 2


def _save(target: Target, path: Path, done: dict[str, str]) -> None:
    if done:
        target.write(path, json.dumps(done, sort_keys=True).encode(), 0o600)


def _with_label_path(plan: Plan, device_id: str) -> Plan:
    return replace(plan, label_out=Path(f"{device_id}.png"))


def _provision(args: argparse.Namespace) -> int:
    try:
        plan = plan_of(args)
    except ProvisionError as err:
        print(f"fieldcheck provision: error: {err} ({err.hint})", file=sys.stderr)
        return 2
    return run(plan, label_default=args.label_out is None)
