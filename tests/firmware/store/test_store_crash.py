"""kill -9 a process while it appends, at random moments; no returned append may be lost."""

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock, SystemClock
from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import record_hash
from firmware.services.ledger import Ledger
from firmware.store.backends.sqlite import Config, create
from firmware.store.identity import create_identity, load_identity

# ~100 rounds fit in well under a minute on the 2-core bench box; raise to hundreds for a soak
# (FIELDCHECK_CRASH_ROUNDS=500). The seed makes a failing round reproducible.
ROUNDS = int(os.environ.get("FIELDCHECK_CRASH_ROUNDS", "100"))
SEED = 20261124
MAX_DELAY_S = 0.08


def _append_forever(data_dir: Path, report_fd: int) -> None:
    """Child: append records and report each seq and hash only after append() returned."""
    identity = load_identity(data_dir)
    store = create(Config(), data_dir=data_dir, identity=identity, clock=SystemClock())
    store.start()
    ledger = Ledger(store, identity, SystemClock())
    while True:
        done = ledger.write(Kind.LOCATION, {"interval": 1})
        # One write() of < PIPE_BUF bytes: the parent sees the whole line or nothing.
        os.write(report_fd, f"{done.record.seq} {record_hash(done.cose).hex()}\n".encode())


def _run_and_kill(data_dir: Path, delay: float) -> dict[int, str]:
    read_fd, write_fd = os.pipe()
    # fork, not spawn: a fresh interpreter per round would cost more than the round itself.
    child = multiprocessing.get_context("fork").Process(
        target=_append_forever, args=(data_dir, write_fd), daemon=True
    )
    child.start()
    os.close(write_fd)
    time.sleep(delay)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    with os.fdopen(read_fd, "rb") as reader:
        lines = reader.read().decode().splitlines()
    return {int(seq): digest for seq, digest in (line.split() for line in lines)}


@pytest.mark.slow
def test_no_returned_append_is_lost_when_killed(tmp_path: Path) -> None:
    create_identity(tmp_path)
    identity = load_identity(tmp_path)
    rng = random.Random(SEED)
    returned: dict[int, str] = {}
    for round_no in range(ROUNDS):
        returned.update(_run_and_kill(tmp_path, rng.uniform(0.0, MAX_DELAY_S)))
        store = create(Config(), data_dir=tmp_path, identity=identity, clock=ManualClock())
        problems = store.start_and_check()
        assert problems == [], f"round {round_no}: {problems}"
        stored = {r.seq: record_hash(r.cose).hex() for r in store.records(limit=10**9)}
        assert sorted(stored) == list(range(len(stored))), f"round {round_no}: seq gap"
        lost = {seq for seq, digest in returned.items() if stored.get(seq) != digest}
        assert not lost, f"round {round_no}: returned appends lost or changed: {sorted(lost)}"
        fresh = Ledger(store, identity, ManualClock()).write(Kind.EVENT, {"type": "boot"})
        assert fresh.record.seq == len(stored) and fresh.record.seq not in returned
        returned[fresh.record.seq] = record_hash(fresh.cose).hex()
        store.stop()
    final = create(Config(), data_dir=tmp_path, identity=identity, clock=ManualClock())
    final.start()
    assert final.verify_chain(signatures=True) == []
    assert len(returned) > ROUNDS  # the children really appended between kills
    final.stop()
