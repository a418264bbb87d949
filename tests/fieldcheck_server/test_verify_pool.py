"""A batch's signature checks spread over worker processes (issue 13): same answers, in order,
records intact across the process boundary, and the calling thread takes over if workers die."""

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.signature import public_key_bytes
from fieldcheck_server import bench
from fieldcheck_server.domain import verify_pool
from fieldcheck_server.domain.ingest import verify_items
from fieldcheck_server.domain.verify_pool import MIN_PARALLEL, VerifyPool


@pytest.fixture(scope="module")
def pool() -> Iterator[VerifyPool]:
    started = VerifyPool(parts=3)  # two workers, whatever this machine has
    started.start(verify_items)
    yield started
    started.close()


@pytest.fixture(scope="module")
def signed() -> tuple[list[bytes], bytes]:
    key = Ed25519PrivateKey.generate()
    return bench.signed_chain(key, MIN_PARALLEL * 2 + 5), public_key_bytes(key)


def test_workers_give_the_same_checks_in_the_same_order(pool, signed) -> None:
    chain, public = signed
    tampered = list(chain)
    tampered[40] = tampered[40][:-1] + bytes([tampered[40][-1] ^ 1])  # a bad signature
    spread = pool.map_parts(verify_items, tampered, public)
    alone = verify_items(tampered, public)
    assert [c.cose for c in spread] == tampered
    assert [c.record for c in spread] == [c.record for c in alone]
    assert [c.rejected for c in spread] == [c.rejected for c in alone]
    assert spread[40].rejected is not None and spread[40].rejected.code.value == "bad_signature"
    # The body came back from a worker as a read-only mapping, as verify_record makes it.
    body = spread[-1].record.body  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        body["interval"] = 1  # type: ignore[index]


def where_checked(items: list[bytes], key: bytes) -> list[tuple[int, bytes]]:
    """Which process checked each item (slowly, without the GIL, so a worker gets its share)."""
    time.sleep(0.005 * len(items))
    return [(os.getpid(), item) for item in items]


def test_the_caller_and_the_workers_share_a_batch_from_both_ends(pool) -> None:
    items = [bytes([i]) for i in range(verify_pool.PIECE * 6)]
    checked = pool.map_parts(where_checked, items, b"")
    assert [item for _pid, item in checked] == items  # in order, each once
    pids = [pid for pid, _item in checked]
    assert pids[0] != os.getpid()  # a worker took the front
    assert pids[-1] == os.getpid()  # the caller took the back
    # Each side's share is one run: the caller stopped at the first piece a worker had.
    assert pids.index(os.getpid()) in verify_pool.piece_starts(len(items))
    assert set(pids[pids.index(os.getpid()):]) == {os.getpid()}


def checked_when(items: list[bytes], key: bytes) -> list[tuple[int, float]]:
    """Which process checked each item and when it was done (without the GIL): five times as
    fast in the caller, so it has taken all it could when the workers' first pieces come back
    and has to wait for the pieces they queued behind them."""
    worker = multiprocessing.parent_process() is not None
    time.sleep((0.01 if worker else 0.002) * len(items))
    return [(os.getpid(), time.monotonic())] * len(items)


def test_the_caller_finishes_a_workers_pieces_while_the_workers_still_check(pool) -> None:
    items = [bytes([i]) for i in range(verify_pool.PIECE * 6)]
    # Per piece: its first item, the finishing thread, when finished, who checked it and when.
    finished: list[tuple[int, int, float, int, float]] = []

    def finish(piece: list[bytes], results: list[tuple[int, float]]) -> list[bytes]:
        pid, checked_at = results[0]
        finished.append((piece[0][0], threading.get_ident(), time.monotonic(), pid, checked_at))
        return piece

    assert pool.map_finished(checked_when, finish, items, b"") == items  # in order, each once
    assert {thread for _first, thread, *_rest in finished} == {threading.get_ident()}
    assert sorted(first for first, *_rest in finished) == verify_pool.piece_starts(len(items))
    theirs = [piece for piece in finished if piece[3] != os.getpid()]
    assert theirs, "the workers took no piece"
    # The workers' first piece was finished before their last piece was checked.
    first_finished = min(when for _first, _thread, when, _pid, _checked in theirs)
    last_checked = max(checked for *_rest, checked in theirs)
    assert first_finished < last_checked


def test_a_cancelled_spread_drops_the_pieces_no_worker_took(pool, signed) -> None:
    items = [bytes([i]) for i in range(verify_pool.PIECE * 6)]
    spread = pool.spread(checked_when, items, b"")
    spread.cancel()
    futures = spread._futures
    assert len(futures) == len(verify_pool.piece_starts(len(items)))
    # Taken at most: one a worker (two) and what the executor queued behind them (three).
    assert sum(future.cancelled() for future in futures) >= len(futures) - 5
    chain, public = signed
    assert len(pool.map_parts(verify_items, chain, public)) == len(chain)  # still serving


def test_a_small_spread_is_checked_by_the_caller_when_finished(signed) -> None:
    chain, public = signed
    calls: list[int] = []

    def check(items: list[bytes], key: bytes) -> list[int]:
        calls.append(len(items))
        return [len(item) for item in items]

    spread = VerifyPool(parts=2).spread(check, chain[:5], public)
    assert calls == []  # nothing checked until the caller asks
    assert spread.finished(lambda _items, results: results) == [len(c) for c in chain[:5]]
    assert calls == [5]


@pytest.mark.parametrize("size", [verify_pool.MIN_PARALLEL, 33, 64, 100, 256, 1000])
def test_pieces_cover_the_batch_and_shrink_towards_the_middle(size: int) -> None:
    starts = verify_pool.piece_starts(size)
    sizes = [end - start for start, end in zip(starts, [*starts[1:], size], strict=True)]
    assert starts[0] == 0 and sum(sizes) == size and all(sizes)
    assert max(sizes) <= verify_pool.PIECE
    middle = sizes.index(min(sizes))
    assert sizes[:middle] == sorted(sizes[:middle], reverse=True)  # shrinking to the middle
    assert sizes[middle + 1 :] == sorted(sizes[middle + 1 :])  # and growing again


def test_a_small_batch_never_leaves_the_calling_thread(signed) -> None:
    chain, public = signed
    calls = []

    def check(items: list[bytes], key: bytes) -> list[int]:
        calls.append(len(items))
        return [len(item) for item in items]

    unstarted = VerifyPool(parts=2)
    assert unstarted.map_parts(check, chain[: MIN_PARALLEL - 1], public) == [
        len(c) for c in chain[: MIN_PARALLEL - 1]]
    assert calls == [MIN_PARALLEL - 1] and unstarted._pool is None


def test_dead_workers_fall_back_to_the_calling_thread(signed, caplog) -> None:
    chain, public = signed
    broken = VerifyPool(parts=2)
    broken.start(verify_items)
    pool = broken._executor()
    for process in list(pool._processes.values()):  # type: ignore[union-attr]
        process.kill()
        process.join()
    checked = broken.map_parts(verify_items, chain, public)
    assert [c.record.seq for c in checked] == list(range(len(chain)))  # type: ignore[union-attr]
    assert "checking the batch in this thread" in caplog.text
    again = broken.map_parts(verify_items, chain, public)  # a fresh pool for the next batch
    assert len(again) == len(chain)
    broken.close()


def test_the_shared_pool_is_one_per_process() -> None:
    assert verify_pool.shared() is verify_pool.shared()
    assert verify_pool.shared().parts == verify_pool.default_parts() >= 1


def test_bench_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bench.percentile(values, 0.5) == pytest.approx(50.5)
    assert bench.percentile(values, 0.99) == pytest.approx(99.01)
    assert bench.percentile([7.0], 0.99) == 7.0 and bench.percentile([], 0.5) == 0.0


def test_workers_exit_when_the_server_is_killed() -> None:
    # Outside a service manager's cgroup, workers of a server killed with -9 must not linger.
    script = (
        "import sys, time\n"
        "from fieldcheck_server.domain.ingest import verify_items\n"
        "from fieldcheck_server.domain.verify_pool import VerifyPool\n"
        "pool = VerifyPool(parts=3)\n"
        "pool.start(verify_items)\n"
        "print(' '.join(str(p) for p in pool._executor()._processes), flush=True)\n"
        "time.sleep(120)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    workers = [int(pid) for pid in server.stdout.readline().split()]
    assert len(workers) == 2
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    deadline = time.monotonic() + 15
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in workers if _running(pid)]
    assert alive == [], f"workers {alive} outlived the server"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie (not yet reaped by init) is gone too
        return stat.read().split()[2] != "Z"
