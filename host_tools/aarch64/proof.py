"""The aarch64 proof: build a bundle for aarch64, install it into the arm64 root as a unit does,
and verify faces on the emulated CPU.

1. the cached root (:mod:`host_tools.aarch64.root`) and the unit's aarch64 wheels from PyPI
2. ``fieldcheck bundle keygen`` + ``fieldcheck bundle build --wheels AARCH64_WHEELS``
3. the bundle's own wheels unpacked as a bootstrap, whose ``fieldcheck-device update install``
   (arm64 Python: the signatures, hashes and A/B switch are checked by the unit's code on the
   emulated CPU) installs the bundle into ``/opt/fieldcheck``
4. the slot's venv made as ``update install --setup venv`` makes it (``python -m venv``, then
   ``pip install --no-index --find-links SLOT/wheels fieldcheck[device]==VERSION``), but as
   separate emulated runs after the switch: without binfmt_misc the installer cannot exec the
   arm64 interpreter itself, so it runs with ``--setup files``
5. from ``/opt/fieldcheck/current``: the self-test's known-answer embedding, then a face
   enrolled from two photos, a third photo of the same person (must match) and another
   person (must not).
"""

import functools
import json
import logging
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from host_tools import sample_faces
from host_tools.aarch64 import root as roots
from host_tools.aarch64.emulator import DEFAULT_CPU, Emulator, ProofError, Unavailable, prepare
from host_tools.bundle import platform_wheels
from host_tools.bundle.build import BuildError

logger = logging.getLogger(__name__)
Say = Callable[[str], None]
T = TypeVar("T")
UNIT = PurePosixPath("/opt/fieldcheck")
CURRENT = UNIT / "current"
STAGE = PurePosixPath("/tmp/fieldcheck-proof")
DATA = PurePosixPath("/var/lib/fieldcheck")
DEVICE_ID = "fc-aarch64-proof"
#: Enrolled from the first two; the third is the same person, the fourth someone else.
ENROL, SAME, OTHER = ("obama.jpg", "obama2.jpg"), "obama3.jpg", "biden.jpg"
#: The self-test's known-answer check (firmware/cli/selftest.py builds the embedder the same way).
KNOWN_ANSWER = """\
import json, sys
from pathlib import Path
from firmware.face.backends.runner import TfliteRunner
from firmware.face.pipeline import Embedder
from firmware.services.model_check import known_answer_probe
probe = known_answer_probe(Path(sys.argv[1]), lambda s: Embedder(TfliteRunner(s), s).embed)
finding = probe()
print(json.dumps({"ok": finding.ok, "found": finding.found, **finding.facts}))
"""
_NETWORK_TROUBLE = ("NewConnectionError", "Temporary failure in name resolution",
                    "Network is unreachable", "ConnectTimeout")


@dataclass(frozen=True)
class Verdict:
    """One ``fieldcheck-device face verify`` on the emulated CPU."""

    photo: str
    outcome: str
    distance: float | None
    threshold: float


@dataclass
class Result:
    """What the proof found, and how long each step took (seconds)."""

    cpu: str
    version: str = ""
    slot: str = ""
    known_answer: dict[str, Any] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    runtime_notes: list[str] = field(default_factory=list)  # what LiteRT said on stderr
    seconds: dict[str, float] = field(default_factory=dict)


def ensure_wheels(cache: Path, say: Say) -> Path:
    """The unit's aarch64 wheels, cached by a hash of platform, requirements and pins."""
    target = platform_wheels.platform("aarch64")
    final = cache / f"wheels-{platform_wheels.cache_key(target)}"
    if (final / ".complete").is_file():
        say(f"aarch64 wheels: cached {final}")
        return final
    partial = cache / f".{final.name}.partial"
    try:
        platform_wheels.download(target, partial, say)
    except BuildError as err:
        if any(text in str(err) for text in _NETWORK_TROUBLE):
            raise Unavailable(f"PyPI is unreachable for the aarch64 wheels: {err}") from err
        raise
    (partial / ".complete").write_text("\n".join(platform_wheels.requirements(target)) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return final


def _host_cli(args: list[str], what: str) -> str:
    command = [sys.executable, "-c", "import sys; from host_tools.cli import main; "
               "sys.exit(main())", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ProofError(f"{what} failed ({done.returncode}): "
                         f"{(done.stderr.strip() or done.stdout.strip())[-1200:]}")
    return done.stdout


def make_bundle(work: Path, wheels: Path, say: Say) -> tuple[Path, Path]:
    """Keys and a signed bundle for aarch64, through the technician's CLI; (bundle, root.pub)."""
    prefix = work / "proof"
    _host_cli(["bundle", "keygen", "--out", str(prefix)], "fieldcheck bundle keygen")
    bundle = work / "fieldcheck-aarch64.bundle"
    say("fieldcheck bundle build --wheels AARCH64_WHEELS (the fieldcheck wheel, models, "
        "config) ...")
    shown = _host_cli(["bundle", "build", "--key", f"{prefix}-release.key", "--out",
                       str(bundle), "--wheels", str(wheels)], "fieldcheck bundle build")
    say(shown.strip().splitlines()[0] if shown.strip() else f"bundle {bundle}")
    return bundle, prefix.with_name(prefix.name + "-root.pub")


def _inside(root: Path, path: PurePosixPath) -> Path:
    return root / path.relative_to("/")


def reset(root: Path) -> None:
    """Remove what an earlier proof left in the cached root."""
    for path in (UNIT, PurePosixPath("/etc/fieldcheck"), DATA, STAGE):
        shutil.rmtree(_inside(root, path), ignore_errors=True)


def stage(root: Path, bundle: Path, root_public: Path, photos: Path) -> None:
    """The bundle, the pinned root key and the test photos, copied into the root."""
    staged = _inside(root, STAGE)
    (staged / "photos").mkdir(parents=True)
    shutil.copy2(bundle, staged / "fieldcheck.bundle")
    etc = _inside(root, PurePosixPath("/etc/fieldcheck"))
    etc.mkdir(parents=True)
    shutil.copy2(root_public, etc / "bundle-root.pub")
    for name in (*ENROL, SAME, OTHER):
        shutil.copy2(photos / name, staged / "photos" / name)
    _inside(root, DATA).mkdir(parents=True)


def _unpack_wheel(wheel: zipfile.ZipFile, into: Path) -> None:
    """A wheel's importable files into ``into`` (``*.data/purelib|platlib`` folded in)."""
    for member in wheel.infolist():
        parts = PurePosixPath(member.filename).parts
        if parts[0].endswith(".data"):
            if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                continue
            parts = parts[2:]
        if ".." in parts or member.is_dir():
            continue
        target = into.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with wheel.open(member) as source, target.open("wb") as out:
            shutil.copyfileobj(source, out)


def bootstrap(root: Path, bundle: Path, say: Say) -> None:
    """The bundle's wheels unpacked into STAGE/bootstrap: the installer the unit starts with."""
    into = _inside(root, STAGE / "bootstrap")
    count = 0
    with tarfile.open(bundle, "r:") as archive:
        for member in archive:
            if member.isfile() and member.name.startswith("wheels/"):
                handle = archive.extractfile(member)
                if handle is not None:
                    with zipfile.ZipFile(handle) as wheel:
                        _unpack_wheel(wheel, into)
                    count += 1
    say(f"bootstrap: {count} wheels from the bundle unpacked into {STAGE}/bootstrap")


def install(emulator: Emulator, result: Result, say: Say) -> None:
    """``fieldcheck-device update install`` by the arm64 Python (verify, stage, switch)."""
    say(f"fieldcheck-device update install on the emulated {emulator.cpu} ...")
    done = emulator.run(
        ["/usr/bin/python3", "-c", "import sys; from firmware.cli import main; sys.exit(main())",
         "update", "install", str(STAGE / "fieldcheck.bundle"), "--root", str(UNIT),
         "--root-key", "/etc/fieldcheck/bundle-root.pub", "--service", "none",
         "--setup", "files", "--no-health-check", "--json"],
        "fieldcheck-device update install", env={"PYTHONPATH": str(STAGE / "bootstrap")})
    answer = _last_json(done.stdout, "update install")
    if answer.get("outcome") != "installed":
        raise ProofError(f"update install did not install: {answer}")
    result.version, result.slot = str(answer["version"]), str(answer["slot"])
    say(f"installed {result.version} in slot {result.slot}")


def slot_venv(emulator: Emulator, result: Result, say: Say) -> None:
    """The slot's venv with the bundle's wheels, by the arm64 interpreter and pip."""
    slot = UNIT / "slots" / result.slot
    venv = slot / "venv"
    emulator.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)],
                 "python -m venv (arm64)")
    say(f"pip install --no-index --find-links {slot}/wheels fieldcheck[device]=={result.version}"
        " on the emulated CPU ...")
    # Debian's pip runs under the venv's interpreter (so it installs into the venv) but is
    # imported from the system; --ignore-installed keeps the system's packages out of the venv.
    # --no-compile: byte-compiling every package under emulation takes ~2 min; imports compile
    # what the checks use.
    emulator.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index",
                  "--no-cache-dir", "--disable-pip-version-check", "--ignore-installed",
                  "--no-compile", "--find-links", str(slot / "wheels"),
                  f"fieldcheck[device]=={result.version}"],
                 "pip install (arm64)", env={"PYTHONPATH": "/usr/lib/python3/dist-packages"})


def known_answer(emulator: Emulator, result: Result, say: Say) -> None:
    """The self-test's known-answer embedding, from the installed models, on the emulated CPU."""
    done = emulator.run([str(CURRENT / "venv" / "bin" / "python"), "-c", KNOWN_ANSWER,
                         str(CURRENT / "models")], "known-answer embedding", ok_codes=(0,))
    result.known_answer = _last_json(done.stdout, "known answer")
    result.runtime_notes = [line for line in done.stderr.splitlines() if line.strip()]
    say(f"known answer: {result.known_answer.get('found')}")


def _device(*args: str) -> list[str]:
    venv = CURRENT / "venv" / "bin"
    keys = ["--config", str(CURRENT / "config" / "device.toml"), "--data-dir", str(DATA),
            "--key-file", str(DATA / "template.key"), "--device-id", DEVICE_ID]
    return [str(venv / "python"), str(venv / "fieldcheck-device"), "face", args[0], *keys,
            *args[1:]]


def faces(emulator: Emulator, result: Result, say: Say) -> None:
    """Enrol from two photos, then verify the same person and another one."""
    template = str(DATA / "template.bin")
    photos = [str(STAGE / "photos" / name) for name in ENROL]
    done = emulator.run(_device("enroll", "--out", template, *photos), "face enroll")
    say(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "enrolled")
    for name in (SAME, OTHER):
        done = emulator.run(_device("verify", "--template", template,
                                    str(STAGE / "photos" / name)),
                            f"face verify {name}", ok_codes=(0, 1))
        answer = _last_json(done.stdout, f"face verify {name}")
        verdict = Verdict(name, str(answer["outcome"]), answer.get("distance"),
                          float(answer["threshold"]))
        result.verdicts.append(verdict)
        say(f"verify {name}: {verdict.outcome} (distance {verdict.distance}, threshold "
            f"{verdict.threshold})")


def _last_json(stdout: str, what: str) -> dict[str, Any]:
    lines = stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError) as err:
        raise ProofError(f"{what} printed no JSON: {stdout[-600:]!r}") from err
    if not isinstance(answer, dict):
        raise ProofError(f"{what} printed {answer!r}, not a JSON object")
    return answer


def check(result: Result) -> None:
    """ProofError unless the known answer held, the same person matched and the other did not."""
    if result.known_answer.get("ok") is not True:
        raise ProofError(f"known-answer embedding failed: {result.known_answer}")
    outcomes = {v.photo: v.outcome for v in result.verdicts}
    if outcomes != {SAME: "match", OTHER: "no_match"}:
        raise ProofError(f"expected {SAME} match and {OTHER} no_match, got {outcomes}")


def run(work: Path, cache: Path | None = None, cpu: str = DEFAULT_CPU,
        say: Say = logger.info) -> Result:
    """The whole proof; ``work`` is a scratch folder on this machine. Unavailable when it
    cannot run here, ProofError when a step fails or the result is wrong."""
    cache = cache or roots.cache_home()
    result = Result(cpu)
    try:
        photos = sample_faces.images_dir()
    except FileNotFoundError as err:
        raise Unavailable(f"no sample photos: {err}") from err
    with roots.locked(cache):
        root = _timed(result, "root", lambda: roots.ensure(cache, say))
        wheels = _timed(result, "wheels", lambda: ensure_wheels(cache, say))
        bundle, public = _timed(result, "bundle", lambda: make_bundle(work, wheels, say))
        reset(root)
        say(prepare(root, cpu))
        stage(root, bundle, public, photos)
        bootstrap(root, bundle, say)
        emulator = Emulator(root, cpu)
        for name, step in (("install", install), ("venv", slot_venv),
                           ("known_answer", known_answer), ("faces", faces)):
            _timed(result, name, functools.partial(step, emulator, result, say))
    check(result)
    return result


def _timed(result: Result, name: str, step: Callable[[], T]) -> T:
    started = time.monotonic()
    value = step()
    result.seconds[name] = round(time.monotonic() - started, 1)
    return value
