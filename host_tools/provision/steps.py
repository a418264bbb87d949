"""The provisioning steps, in order, as a declared table; each says what it did.

files -> bundle -> key -> register -> config -> selftest -> label. Every step is idempotent: it
compares what it would write with what is there and changes nothing when they agree. A step
that would *replace* something different refuses unless ``--force-step NAME`` asks for it. What
is done is remembered on the unit in ``ETC/provision.json``.
"""

import hashlib
import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from host_tools.provision import label, unit_config
from host_tools.provision.target import ProvisionError, Target

logger = logging.getLogger(__name__)

STATE_FILE = "provision.json"
DEVICES_PATH = "/api/v1/devices"


@dataclass(frozen=True)
class Plan:
    """Everything the technician asked for (host paths are read on this machine)."""

    target: Target
    device_command: tuple[str, ...]
    etc: Path
    data_dir: Path
    server: str
    server_cert: Path
    token: str
    label_text: str
    label_out: Path
    command_key: Path | None = None
    bundle: Path | None = None
    root_key: Path | None = None
    slots_root: Path = Path("/opt/fieldcheck")
    slot_setup: str = "venv"
    base: unit_config.Sections = field(default_factory=dict)
    per_day: int | None = None
    language: str | None = None
    gps_wait_s: float = 20.0
    force: frozenset[str] = frozenset()


@dataclass
class Progress:
    """What earlier steps learnt, and the state kept on the unit."""

    done: dict[str, str]
    device_id: str = ""
    public_key_hex: str = ""
    say: Callable[[str], None] = print


def sha256(data: bytes) -> str:
    """Hex sha256."""
    return hashlib.sha256(data).hexdigest()


def _device(plan: Plan, *args: str) -> list[str]:
    return [*plan.device_command, *args]


def _run_json(plan: Plan, *args: str) -> Any:
    ran = plan.target.run(_device(plan, *args))
    if ran.code not in (0, 1):
        raise ProvisionError(f"`fieldcheck-device {' '.join(args[:2])}` failed: "
                             f"{(ran.err.strip() or ran.out.strip())[-500:]}",
                             "read the unit's message above; fix it, then run provision again")
    try:
        return json.loads(ran.out.strip().splitlines()[-1])
    except (ValueError, IndexError) as err:
        raise ProvisionError(f"`fieldcheck-device {' '.join(args[:2])}` printed no JSON",
                             "check --device-command names fieldcheck-device") from err


def _put(plan: Plan, path: Path, data: bytes, mode: int, step: str) -> str:
    """Write a file on the unit unless it already holds these bytes; refuse to replace other
    bytes unless ``step`` is forced. Returns what happened."""
    existing = plan.target.read(path)
    if existing == data:
        return f"{path} unchanged"
    if existing is not None and step not in plan.force:
        raise ProvisionError(f"{path} exists with other contents",
                             f"to replace it run provision again with --force-step {step}")
    plan.target.write(path, data, mode)
    return f"{path} {'replaced' if existing is not None else 'written'}"


def files(plan: Plan, progress: Progress) -> str:
    """The server certificate, command key and bundle root key, copied to ETC."""
    wanted = [("server.crt", plan.server_cert), ("command.pub", plan.command_key),
              ("bundle-root.pub", plan.root_key)]
    done = [_put(plan, plan.etc / name, source.read_bytes(), 0o644, "files")
            for name, source in wanted if source is not None]
    return "; ".join(done)


def bundle(plan: Plan, progress: Progress) -> str:
    """The signed bundle, installed into a slot by the unit's own installer."""
    if plan.bundle is None:
        return "skipped: no --bundle given (the unit keeps the software it has)"
    if plan.root_key is None:
        raise ProvisionError("--bundle needs --root-key", "give the root public key from "
                             "`fieldcheck bundle keygen` (PREFIX-root.pub)")
    data = plan.bundle.read_bytes()
    digest = sha256(data)
    if progress.done.get("bundle") == digest and "bundle" not in plan.force:
        return f"unchanged: bundle {digest[:12]} is installed"
    remote = plan.etc / "incoming.bundle"
    plan.target.write(remote, data, 0o600)
    result = _run_json(plan, "update", "install", str(remote), "--no-health-check", "--root",
                       str(plan.slots_root), "--root-key", str(plan.etc / "bundle-root.pub"),
                       "--service", "none", "--setup", plan.slot_setup, "--json")
    if result.get("outcome") != "installed":
        raise ProvisionError(f"the bundle was not installed: {result.get('detail')}",
                             "`fieldcheck-device update status` on the unit says why")
    progress.done["bundle"] = digest
    return f"installed {result.get('version')} in slot {result.get('slot')}"


def key(plan: Plan, progress: Progress) -> str:
    """The device key, made on the unit (kept when it exists); only its public half leaves."""
    shown = _run_json(plan, "identity", "init", "--data-dir", str(plan.data_dir), "--json")
    progress.device_id = str(shown["device_id"])
    progress.public_key_hex = str(shown["public_key_hex"])
    return f"{shown['note']}: device id {progress.device_id}"


def _tls(pem: bytes) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # the pin is the certificate itself (as on the unit)
    context.load_verify_locations(cadata=pem.decode("ascii"))
    return context


def register(plan: Plan, progress: Progress) -> str:
    """The public key registered with the server (technician token, the pinned certificate)."""
    body = {"device_id": progress.device_id, "public_key": progress.public_key_hex,
            "label": plan.label_text}
    try:
        with httpx.Client(verify=_tls(plan.server_cert.read_bytes()), timeout=20.0) as client:
            answer = client.post(plan.server.rstrip("/") + DEVICES_PATH, json=body,
                                 headers={"Authorization": f"Bearer {plan.token}"})
    except httpx.HTTPError as err:
        raise ProvisionError(f"cannot reach {plan.server}: {err}",
                             "check the server URL and that --server-cert is the server's "
                             "server.crt") from err
    if answer.status_code in (401, 403):
        raise ProvisionError(f"the server refused the token (HTTP {answer.status_code})",
                             "use a technician's token: `fieldcheck admin token create "
                             "--username NAME --name provision` on the server")
    if answer.status_code == 503:
        raise ProvisionError(f"the server cannot register units yet: {answer.text[:300]}",
                             "on the server make the first admin (`fieldcheck admin create`), "
                             "then a technician and their token")
    if answer.status_code != 200:
        raise ProvisionError(f"the server refused the registration (HTTP "
                             f"{answer.status_code}): {answer.text[:300]}",
                             "see `fieldcheck device list` on the server")
    again = progress.done.get("register") == progress.device_id
    progress.done["register"] = progress.device_id
    return f"{'already registered' if again else 'registered'} {progress.device_id}"


def _sections(plan: Plan) -> unit_config.Sections:
    sync = {"type": "https", "url": plan.server, "server_cert": str(plan.etc / "server.crt"),
            "fingerprint": certificate_fingerprint(plan.server_cert.read_bytes())}
    if plan.command_key is not None:
        sync["command_key"] = str(plan.etc / "command.pub")
    overrides: dict[str, dict[str, Any]] = {"device": {"data_dir": str(plan.data_dir)},
                                            "sync": sync}
    if plan.per_day is not None:
        overrides["checkin"] = {"mode": "windows", "per_day": plan.per_day}
    if plan.language is not None:
        overrides["ui"] = {"language": plan.language}
    return unit_config.merge(plan.base, overrides)


def certificate_fingerprint(pem: bytes) -> str:
    """SHA-256 of the certificate's DER bytes, as the unit pins it."""
    return sha256(ssl.PEM_cert_to_DER_cert(pem.decode("ascii")))


def config(plan: Plan, progress: Progress) -> str:
    """The unit's config (server, pinned keys, schedule, language), checked by the unit."""
    path = plan.etc / "device.toml"
    did = _put(plan, path, unit_config.render(_sections(plan)).encode(), 0o644, "config")
    ran = plan.target.run(_device(plan, "config", "check", str(path)))
    if ran.code != 0:
        raise ProvisionError(f"the unit's config check refused {path}:\n{ran.out}{ran.err}",
                             "fix the base config (--unit-config) and run provision again")
    return f"{did}; config check passed"


def selftest(plan: Plan, progress: Progress) -> str:
    """The unit's self-test on the written config; a failure lists each check and what to do."""
    config_bytes = plan.target.read(plan.etc / "device.toml") or b""
    digest = sha256(config_bytes)
    if progress.done.get("selftest") == digest and "selftest" not in plan.force:
        return "unchanged: passed before on this config (--force-step selftest runs it again)"
    report = _run_json(plan, "selftest", "--config", str(plan.etc / "device.toml"), "--json",
                       "--gps-wait", str(plan.gps_wait_s))
    checks = report.get("checks", [])
    failed = [c for c in checks if c.get("status") == "fail"]
    if failed:
        lines = "\n".join(f"  {c['name']}: {c['found']} -> {c['todo']}" for c in failed)
        raise ProvisionError(f"the self-test failed {len(failed)} of {len(checks)} checks:\n"
                             f"{lines}", "fix each, then run provision again")
    progress.done["selftest"] = digest
    skipped = sum(1 for c in checks if c.get("status") == "skip")
    return f"passed {len(checks) - skipped} checks ({skipped} skipped)"


def label_step(plan: Plan, progress: Progress) -> str:
    """The label: device id and QR code as PNG (on this machine) and in the terminal."""
    data = label.png(progress.device_id)
    existing = plan.label_out.read_bytes() if plan.label_out.is_file() else None
    if existing != data:
        plan.label_out.parent.mkdir(parents=True, exist_ok=True)
        plan.label_out.write_bytes(data)
    progress.say(label.terminal(progress.device_id) + f"  {progress.device_id}  "
                 f"{plan.label_text}")
    return f"{plan.label_out} {'unchanged' if existing == data else 'written'}"


Step = Callable[[Plan, Progress], str]

#: The steps in order; names are what --force-step takes.
STEPS: tuple[tuple[str, Step], ...] = (
    ("files", files), ("bundle", bundle), ("key", key), ("register", register),
    ("config", config), ("selftest", selftest), ("label", label_step),
)
