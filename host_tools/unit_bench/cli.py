"""``fieldcheck bench (--unit USER@HOST | --local)``: simulated GPS in, a check-in on a test
photo, and the signed record read back verified from the server; a pass/fail table, exit 1 on
any failure. The unit's own config is never written (the bench uses a temporary copy)."""

import argparse
import io
import shlex
import sys
from pathlib import Path
from typing import Any

from fieldcheck_cli.args import positive_int
from host_tools.provision.target import LocalTarget, ProvisionError, SshTarget, Target
from host_tools.unit_bench.gps_feed import GpsFeedError, SimulatedGps
from host_tools.unit_bench.steps import RESTORE, STEPS, Bench, Found, run_step


def register(subparsers: Any) -> None:
    """Add ``bench``."""
    p = subparsers.add_parser(
        "bench", help="bench-check a provisioned unit: GPS, check-in, record on the server",
        description="Steps: " + ", ".join(name for name, _ in (*STEPS, RESTORE)) + ". Run "
        "it where the server's folder (or database) is readable; the unit's service must be "
        "stopped (the bench runs the unit's commands itself).")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--unit", metavar="USER@HOST", help="the unit, reached with ssh")
    where.add_argument("--local", action="store_true", help="run on the unit itself")
    p.add_argument("--server-dir", type=Path, default=Path("fieldcheck-server"),
                   help="the server's folder, to read the records back (fieldcheck-server)")
    p.add_argument("--database", default=None, help="the server's database URL instead")
    p.add_argument("--bench-address", default="127.0.0.1",
                   help="this machine's address as the unit sees it; the simulated GPS "
                   "listens there (default 127.0.0.1, right for --local)")
    p.add_argument("--photo", type=Path, default=None,
                   help="the test photo for the check-in (default: a generated test card)")
    p.add_argument("--etc", type=Path, default=Path("/etc/fieldcheck"),
                   help="config folder on the unit (default /etc/fieldcheck)")
    p.add_argument("--device-command", default="fieldcheck-device",
                   help="how to run fieldcheck-device on the unit (default: fieldcheck-device)")
    p.add_argument("--gps-wait", type=float, default=20.0, help="self-test wait for a GPS fix")
    p.add_argument("--upload-time", type=positive_int, default=20,
                   help="seconds the daemon runs to record fixes and upload (20)")
    p.set_defaults(func=_bench)


def test_card() -> bytes:
    """A 320x240 colour test card as PNG (what the replay camera shows without --photo)."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:240, 0:320]
    picture = np.stack([(x * 0.7) % 256, (y * 0.9) % 256, ((x + y) * 0.3) % 256], -1)
    out = io.BytesIO()
    Image.fromarray(picture.astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


def _photo(path: Path | None) -> bytes:
    if path is None:
        return test_card()
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            out = io.BytesIO()
            image.convert("RGB").save(out, format="PNG")
    except (OSError, UnidentifiedImageError) as err:
        raise ProvisionError(f"cannot read the photo {path}: {err}",
                             "give a JPEG or PNG with --photo") from err
    return out.getvalue()


def run(bench: Bench) -> int:
    """Every step in order, then restore; prints the table; 0 when all passed, else 1."""
    found = Found()
    results: list[tuple[str, bool | None, str, str]] = []
    failed = False
    for name, step in STEPS:
        if failed:
            results.append((name, None, "skipped after the failure above", ""))
            continue
        passed, what, todo = run_step(step, bench, found)
        results.append((name, passed, what, todo))
        failed = not passed
    passed, what, todo = run_step(RESTORE[1], bench, found)
    results.append((RESTORE[0], passed, what, todo))
    print(table(bench.target.describe, results))
    return 0 if all(ok for _, ok, _, _ in results) else 1


def table(describe: str, results: list[tuple[str, bool | None, str, str]]) -> str:
    """The report: one row per step, PASS/FAIL/SKIP, what was found and what to do."""
    width = max(len(name) for name, *_ in results)
    lines = [f"bench of {describe}"]
    for name, ok, what, todo in results:
        mark = "SKIP" if ok is None else "PASS" if ok else "FAIL"
        lines.append(f"{mark}  {name:{width}}  {what}")
        if todo:
            lines.append(f"      {'':{width}}  -> {todo}")
    verdict = all(ok for _, ok, _, _ in results)
    lines.append("bench passed" if verdict else "bench FAILED")
    return "\n".join(lines)


def _bench(args: argparse.Namespace) -> int:
    try:
        target: Target = LocalTarget() if args.local else SshTarget(args.unit)
        photo = _photo(args.photo)
        with SimulatedGps(args.bench_address) as gps:
            return run(Bench(target=target, device_command=tuple(shlex.split(
                args.device_command)), etc=args.etc, photo=photo, server_dir=args.server_dir,
                database=args.database, gps_wait_s=args.gps_wait, upload_s=args.upload_time,
                gps_address=args.bench_address, gps_port=gps.port))
    except ProvisionError as err:
        print(f"fieldcheck bench: error: {err} ({err.hint})", file=sys.stderr)
        return 2
    except GpsFeedError as err:
        print(f"fieldcheck bench: error: {err} (give --bench-address an address of this "
              "machine)", file=sys.stderr)
        return 2
