"""The bench steps in order, each saying what it found; a failure says what to do.

unit-config -> bench-config -> gps -> checkin -> upload -> server, then restore always. The
bench never writes the unit's own config: it writes a bench copy (GPS from the simulator, a
replay camera with the test photo, power always on) into a temporary folder on the unit, and
the last step checks the real config's bytes are what they were and removes that folder.
"""

import json
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldcheck_protocol.record import Kind
from fieldcheck_server.cli.common import open_db
from fieldcheck_server.domain import export
from fieldcheck_server.errors import ServerError
from host_tools.provision import unit_config
from host_tools.provision.target import ProvisionError, Target

logger = logging.getLogger(__name__)

#: Exit code of coreutils ``timeout`` when it stopped the daemon (the expected end of upload).
TIMED_OUT = 124
SERVICE_HINT = "stop the unit's service first (`systemctl stop fieldcheck-device`), then rerun"


class StepFailed(ProvisionError):
    """A bench step failed; ``hint`` says what to do (as a provisioning step's error does)."""


@dataclass(frozen=True)
class Bench:
    """What the technician asked for."""

    target: Target
    device_command: tuple[str, ...]
    etc: Path
    photo: bytes
    server_dir: Path
    database: str | None
    gps_wait_s: float
    upload_s: float
    gps_address: str = "127.0.0.1"
    gps_port: int = 0


@dataclass
class Found:
    """What earlier steps learnt."""

    original: bytes = b""
    device_id: str = ""
    workdir: Path | None = None
    seq: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bench_config(self) -> Path:
        """The bench copy of the config on the unit."""
        if self.workdir is None:
            raise StepFailed("no bench folder on the unit", "see the bench-config step")
        return self.workdir / "device.toml"


def _device(bench: Bench, *args: str) -> list[str]:
    return [*bench.device_command, *args]


def _json_line(out: str, what: str) -> Any:
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError) as err:
        raise StepFailed(f"`fieldcheck-device {what}` printed no JSON: {out.strip()[-300:]}",
                         "check --device-command names fieldcheck-device") from err


def unit_config_step(bench: Bench, found: Found) -> str:
    """The unit's own config exists and names a key (the unit is provisioned)."""
    path = bench.etc / "device.toml"
    original = bench.target.read(path)
    if original is None:
        raise StepFailed(f"{path} does not exist on {bench.target.describe}",
                         "provision the unit first: `fieldcheck provision`")
    found.original = original
    ran = bench.target.run(_device(bench, "identity", "show", "--config", str(path), "--json"))
    if ran.code != 0:
        raise StepFailed(f"the unit has no device key: {(ran.err or ran.out).strip()[-300:]}",
                         "provision the unit first: `fieldcheck provision`")
    found.device_id = str(_json_line(ran.out, "identity show")["device_id"])
    return f"{path} read; device {found.device_id}"


def bench_sections(original: bytes, bench: Bench, camera: Path) -> unit_config.Sections:
    """The unit's config with GPS from the simulator, the replay camera and power always on."""
    try:
        sections = {k: dict(v) for k, v in tomllib.loads(original.decode("utf-8")).items()}
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise StepFailed(f"the unit's config is not TOML: {err}",
                         "rerun `fieldcheck provision --force-step config`") from err
    sections["gps"] = {"type": "tcp", "host": bench.gps_address, "port": bench.gps_port}
    sections["camera"] = {"type": "replay", "folder": str(camera)}
    return unit_config.merge(sections, {"policy": {"power": "always_on"}})


def bench_config_step(bench: Bench, found: Found) -> str:
    """A temporary folder on the unit with the test photo and the bench config, checked."""
    ran = bench.target.run(["mktemp", "-d", "/tmp/fieldcheck-bench.XXXXXX"])
    if ran.code != 0 or not ran.out.strip():
        raise StepFailed(f"cannot make a folder in /tmp on the unit: {ran.err.strip()}",
                         "check the unit's /tmp is writable and not full")
    found.workdir = Path(ran.out.strip())
    camera = found.workdir / "camera"
    bench.target.write(camera / "test-photo.png", bench.photo, 0o644)
    text = unit_config.render(bench_sections(found.original, bench, camera))
    bench.target.write(found.bench_config, text.encode(), 0o600)
    checked = bench.target.run(_device(bench, "config", "check", str(found.bench_config)))
    if checked.code != 0:
        raise StepFailed(f"the unit refused the bench config:\n{checked.out}{checked.err}",
                         "the unit's own config must pass `fieldcheck-device config check`")
    return f"{found.bench_config} written (GPS tcp://{bench.gps_address}:{bench.gps_port})"


def gps_step(bench: Bench, found: Found) -> str:
    """The unit's self-test sees the simulated sentences and a fix."""
    ran = bench.target.run(_device(bench, "selftest", "--config", str(found.bench_config),
                                   "--json", "--gps-wait", str(bench.gps_wait_s)))
    if ran.code not in (0, 1):
        raise StepFailed(f"the self-test did not run: {(ran.err or ran.out).strip()[-300:]}",
                         "run `fieldcheck-device selftest` on the unit and read its message")
    checks = {c.get("name"): c for c in _json_line(ran.out, "selftest").get("checks", [])}
    gps = checks.get("gps", {})
    if gps.get("status") != "pass":
        raise StepFailed(f"GPS: {gps.get('found', 'no gps check in the self-test')}",
                         f"check the unit reaches {bench.gps_address}:{bench.gps_port} "
                         "(--bench-address: this machine's address as the unit sees it; "
                         "a firewall may block it)")
    return f"GPS: {gps.get('found', 'pass')}"


def checkin_step(bench: Bench, found: Found) -> str:
    """One check-in on the test photo, committed as a signed record."""
    ran = bench.target.run(_device(bench, "checkin", "now", "--config",
                                   str(found.bench_config), "--json"))
    if ran.code != 0:
        raise StepFailed(f"the check-in failed: {(ran.err or ran.out).strip()[-300:]}",
                         SERVICE_HINT if "lock" in ran.err.lower() else
                         "run `fieldcheck-device checkin now` on the unit and read its message")
    receipt = _json_line(ran.out, "checkin now")
    if receipt.get("seq") is None:
        raise StepFailed(f"no record was committed: {receipt.get('message')}",
                         "run `fieldcheck-device selftest` on the unit (camera, models)")
    found.seq = int(receipt["seq"])
    return f"record {found.seq} committed (outcome {receipt.get('outcome')})"


def upload_step(bench: Bench, found: Found) -> str:
    """The daemon on the bench config for a while: GPS fixes recorded, everything uploaded."""
    ran = bench.target.run(["timeout", "-s", "TERM", str(bench.upload_s),
                            *_device(bench, "run", "--config", str(found.bench_config))])
    if ran.code not in (0, TIMED_OUT):
        raise StepFailed(f"the daemon stopped with exit {ran.code}: {ran.err.strip()[-300:]}",
                         SERVICE_HINT if "lock" in ran.err.lower() else
                         "read the daemon's message above (`fieldcheck-device run`)")
    return f"the daemon ran {bench.upload_s:g} s on the bench config"


def server_step(bench: Bench, found: Found) -> str:
    """The check-in record is on the server and verifies against the registered key."""
    try:
        rows = export.rows(open_db(bench.server_dir, bench.database), found.device_id)
    except ServerError as err:
        raise StepFailed(f"cannot read the server's records: {err.message}",
                         "give --server-dir (or --database) of the server the unit syncs "
                         "to") from err
    by_seq = {row.seq: row for row in rows}
    row = by_seq.get(found.seq)
    if row is None:
        raise StepFailed(f"record {found.seq} of {found.device_id} is not on the server",
                         "check the unit's [sync] url and the server's log; a longer "
                         "--upload-time gives the daemon more time")
    if row.status != "verified":
        raise StepFailed(f"record {found.seq} is {row.status}: {row.reason}",
                         "re-register the unit's key (`fieldcheck provision --force-step "
                         "register`) or see `fieldcheck records list`")
    fixes = sum(1 for r in rows if r.record is not None and r.record.kind is Kind.LOCATION
                and r.status == "verified")
    return f"record {found.seq} verified on the server; {fixes} location record(s) verified"


def restore_step(bench: Bench, found: Found) -> str:
    """The bench folder removed; the unit's own config byte for byte as it was."""
    if found.workdir is not None:
        bench.target.run(["rm", "-rf", str(found.workdir)])
    now = bench.target.read(bench.etc / "device.toml")
    if found.original and now != found.original:
        raise StepFailed(f"{bench.etc / 'device.toml'} changed during the bench",
                         "rerun `fieldcheck provision --force-step config`")
    return f"{bench.etc / 'device.toml'} unchanged; bench folder removed"


Step = Callable[[Bench, Found], str]

#: The steps in order; a failure skips the rest except ``restore``, which always runs.
STEPS: tuple[tuple[str, Step], ...] = (
    ("unit-config", unit_config_step), ("bench-config", bench_config_step), ("gps", gps_step),
    ("checkin", checkin_step), ("upload", upload_step), ("server", server_step),
)
RESTORE: tuple[str, Step] = ("restore", restore_step)


def run_step(step: Step, bench: Bench, found: Found) -> tuple[bool, str, str]:
    """(passed, what it found, what to do)."""
    try:
        return True, step(bench, found), ""
    except ProvisionError as err:  # StepFailed included
        return False, str(err), err.hint
    except OSError as err:
        return False, f"{err.filename or ''}: {err.strerror}", "check the path and permissions"
