"""Type-check hardware/mcu against the MicroPython rp2 stubs: ``python hardware/typecheck_mcu.py``.

The stub packages install their ``.pyi`` files loose in site-packages, next to CPython packages,
so pointing mypy at site-packages would mix the two worlds. This links only the files of
micropython-rp2-stubs into a scratch directory for ``mypy_path`` and uses
micropython-stdlib-stubs as the typeshed, so MicroPython-only names (``time.ticks_ms``,
``machine.Pin``) type-check and CPython-only ones fail.
"""

import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
MCU_DIR = HERE / "mcu"
CONFIG = MCU_DIR / "mypy.ini"
# Files the stub distributions ship that are not importable modules.
_NOT_MODULES = {"LICENSE.md", "README.md", "stdlib", "stubs"}


def _top_level(distribution: str) -> tuple[Path, set[str]]:
    """The install root of ``distribution`` and its top-level file/package names."""
    dist = metadata.distribution(distribution)
    files = dist.files or []
    names = {
        f.parts[0]
        for f in files
        if not f.parts[0].endswith(".dist-info") and f.parts[0] != "__pycache__"
    }
    return Path(str(dist.locate_file(""))), names


def typecheck(extra_args: tuple[str, ...] = ()) -> tuple[int, str]:
    """Run mypy on hardware/mcu; returns (exit status, report text)."""
    from mypy import api

    stubs_root, names = _top_level("micropython-rp2-stubs")
    typeshed_root, shed = _top_level("micropython-stdlib-stubs")
    links = {name: stubs_root / name for name in names - _NOT_MODULES}
    links.update({name: typeshed_root / name for name in shed - _NOT_MODULES})
    with tempfile.TemporaryDirectory(prefix="mpy-stubs-") as scratch:
        for name, target in sorted(links.items()):
            (Path(scratch) / name).symlink_to(target)
        # The stubs are third-party text: report errors in our code, not in theirs.
        modules = sorted({name.removesuffix(".pyi") for name in links})
        config = Path(scratch) / "mypy.ini"
        config.write_text(
            CONFIG.read_text()
            + "\n[mypy-"
            + ",".join(f"{m},{m}.*" for m in modules)
            + "]\nignore_errors = True\n"
        )
        args = [
            "--config-file",
            str(config),
            "--custom-typeshed-dir",
            str(typeshed_root),
            "--cache-dir",
            str(Path(scratch) / ".mypy_cache"),
            *extra_args,
            str(MCU_DIR),
        ]
        # mypy_path via the environment keeps the scratch path out of the checked-in config.
        previous = os.environ.get("MYPYPATH")
        os.environ["MYPYPATH"] = scratch
        try:
            stdout, stderr, status = api.run(args)
        finally:
            if previous is None:
                os.environ.pop("MYPYPATH", None)
            else:
                os.environ["MYPYPATH"] = previous
    return status, stdout + stderr


def main() -> int:
    """Command-line entry: print mypy's report and return its status."""
    status, report = typecheck(tuple(sys.argv[1:]))
    print(report, end="")
    return status


if __name__ == "__main__":
    sys.exit(main())
