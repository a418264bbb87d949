"""The unit's dependency wheels for another platform, fetched from PyPI with ``pip download``.

A bundle built on an x86-64 laptop for a Raspberry Pi needs the aarch64 wheels of numpy, Pillow,
cryptography, ai-edge-litert... ``pip download --platform ... --only-binary=:all:`` fetches them
without installing anything. The requirements come from ``pyproject.toml`` (the base dependencies
plus the ``device`` extra) with their markers evaluated for the *target* (pip would evaluate them
for this machine), pinned by ``requirements/constraints.txt``.
"""

import hashlib
import logging
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from host_tools.bundle.build import PROJECT, BuildError, Say

logger = logging.getLogger(__name__)
CONSTRAINTS = PROJECT / "requirements" / "constraints.txt"


@dataclass(frozen=True)
class Platform:
    """A unit platform as pip's ``download`` options see it."""

    name: str
    machine: str  # platform_machine for markers
    python: str  # X.Y of the unit's interpreter
    tags: tuple[str, ...]  # every platform tag the unit's pip accepts

    def pip_options(self) -> list[str]:
        """``--platform`` (each tag), ``--python-version``, ``--implementation``, binaries only."""
        options = [f"--platform={tag}" for tag in self.tags]
        return [*options, f"--python-version={self.python}", "--implementation=cp",
                "--only-binary=:all:"]


def _manylinux(arch: str, glibc_minor: int) -> tuple[str, ...]:
    # pip takes --platform tags literally: list every manylinux_2_N up to the unit's glibc.
    return ("manylinux2014_" + arch,
            *(f"manylinux_2_{n}_{arch}" for n in range(17, glibc_minor + 1)))


#: Raspberry Pi OS (64-bit) / Debian bookworm: CPython 3.11, glibc 2.36.
PLATFORMS = {"aarch64": Platform("aarch64", "aarch64", "3.11", _manylinux("aarch64", 36))}


def platform(name: str) -> Platform:
    """The platform called ``name`` (BuildError naming the known ones)."""
    try:
        return PLATFORMS[name]
    except KeyError:
        raise BuildError(f"unknown platform {name!r} -> one of {', '.join(PLATFORMS)}") from None


def requirements(target: Platform, project: Path = PROJECT, extra: str = "device") -> list[str]:
    """The unit's requirements (base + ``extra``) whose markers hold on ``target``."""
    try:
        data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
        listed = [*data["project"]["dependencies"],
                  *data["project"]["optional-dependencies"][extra]]
        parsed = [Requirement(text) for text in listed]
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, InvalidRequirement) as err:
        raise BuildError(f"cannot read the {extra!r} requirements from {project}/pyproject.toml:"
                         f" {err}") from None
    environment = {"platform_machine": target.machine, "python_version": target.python,
                   "sys_platform": "linux", "platform_system": "Linux", "extra": extra}
    kept = []
    for req in parsed:
        if req.marker is None or req.marker.evaluate(environment):
            req.marker = None
            kept.append(str(req))
    return kept


def cache_key(target: Platform, project: Path = PROJECT,
              constraints: Path = CONSTRAINTS) -> str:
    """A short hash of what decides the wheel set: platform, requirements, pins."""
    digest = hashlib.sha256(repr((target, requirements(target, project))).encode())
    digest.update(constraints.read_bytes())
    return digest.hexdigest()[:16]


def download(target: Platform, into: Path, say: Say, project: Path = PROJECT,
             constraints: Path = CONSTRAINTS) -> list[Path]:
    """``pip download`` the unit's wheels for ``target`` into ``into``; the wheels there."""
    into.mkdir(parents=True, exist_ok=True)
    wanted = requirements(target, project)
    say(f"downloading {len(wanted)} requirements and their dependencies for {target.name} "
        f"(cp{target.python.replace('.', '')}) into {into} ...")
    command = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
               "-d", str(into), "-c", str(constraints), *target.pip_options(), *wanted]
    logger.debug("running %s", command)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "is ignored" not in line]
        raise BuildError(f"pip download for {target.name} failed ({done.returncode}): "
                         f"{' '.join(errors)[-600:]} -> check the network, and that every "
                         "pinned version has a wheel for the platform")
    wheels = sorted(into.glob("*.whl"))
    say(f"{len(wheels)} wheels for {target.name} in {into}")
    return wheels
