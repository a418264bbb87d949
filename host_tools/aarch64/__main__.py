"""``python -m host_tools.aarch64`` (``make aarch64-proof``): run the aarch64 proof, print it.

Exit 0 when the bundle installed and the faces verified on the emulated CPU, 1 when a step
failed or the result was wrong, 3 when the proof cannot run on this machine (the reason is
printed).
"""

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from host_tools.aarch64 import proof
from host_tools.aarch64 import root as roots
from host_tools.aarch64.emulator import DEFAULT_CPU, ProofError, Unavailable, missing
from host_tools.bundle.build import BuildError

logger = logging.getLogger(__name__)
UNAVAILABLE = 3


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the proof; the exit code."""
    parser = argparse.ArgumentParser(prog="python -m host_tools.aarch64", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu", default=DEFAULT_CPU,
                        help="qemu -cpu model (default: %(default)s; 'max' for every feature)")
    parser.add_argument("--cache", type=Path, default=None,
                        help=f"root and wheel cache (default: $FIELDCHECK_AARCH64_CACHE or "
                        f"{roots.cache_home()})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    reason = missing()
    if reason:
        print(f"aarch64 proof: cannot run here: {reason}", file=sys.stderr)
        return UNAVAILABLE
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="fieldcheck-aarch64-") as work:
            result = proof.run(Path(work), args.cache, args.cpu, _say)
    except Unavailable as err:
        print(f"aarch64 proof: cannot run here: {err}", file=sys.stderr)
        return UNAVAILABLE
    except (ProofError, BuildError) as err:
        print(f"aarch64 proof: FAILED: {err}", file=sys.stderr)
        return 1
    print(f"aarch64 proof: ok on the emulated {result.cpu}: {result.version} in slot "
          f"{result.slot}; {result.known_answer.get('found')}")
    for verdict in result.verdicts:
        print(f"  {verdict.photo}: {verdict.outcome} (distance {verdict.distance}, "
              f"threshold {verdict.threshold})")
    for note in result.runtime_notes:
        print(f"  the runtime said: {note}")
    steps = ", ".join(f"{name} {seconds:g} s" for name, seconds in result.seconds.items())
    print(f"  {time.monotonic() - started:.0f} s in all: {steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
