"""Signature checks of a batch spread over the server's cores (issue 13).

Ed25519 verification and payload decoding are pure CPU work that holds the GIL, so threads
cannot share it out. A batch of at least ``MIN_PARALLEL`` records is cut into pieces that
worker processes (one per core but the caller's) take from the front while the calling thread
takes them from the back, until the two meet. The
pool starts on first need (a spawned process: safe beside the server's threads), once per
process, and is shut down at exit. If a worker dies, the batch is checked in the calling
thread instead and a new pool is started for the next one.
"""

import atexit
import logging
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

#: Smaller batches are checked in the calling thread: a round trip to a worker costs more.
MIN_PARALLEL = 32
#: Items per piece at the ends of a batch: small enough to share a batch evenly, big enough
#: that a piece's round trip to a worker (and the wait for the GIL to hand it over) costs little
#: beside it.
PIECE = 32
#: Items per piece where the two sides meet. The executor hands a worker its next piece before
#: the worker asks, so the caller, once it reaches a piece it cannot take back, waits for the
#: worker to finish about one and a half pieces: pieces halve towards the middle of the batch
#: to keep that wait short.
MIN_PIECE = 8


def piece_starts(size: int) -> list[int]:
    """Where each piece of a ``size``-item batch starts: ``PIECE`` items at both ends, halving
    towards the middle down to ``MIN_PIECE``."""
    sizes = _half((size + 1) // 2) + _half(size // 2)[::-1]
    return [sum(sizes[:index]) for index in range(len(sizes))]


def _half(size: int) -> list[int]:
    """The pieces of one half of a batch, from its end to the middle."""
    sizes = []
    while size > 0:
        piece = min(PIECE, max(MIN_PIECE, size // 2), size)
        sizes.append(piece)
        size -= piece
    return sizes


def default_parts() -> int:
    """One part per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class VerifyPool:
    """Runs ``check(items, key)`` over parts of a batch in parallel; results in item order."""

    def __init__(self, parts: int | None = None) -> None:
        self.parts = parts or default_parts()
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def start(self, check: Callable[[list[T], bytes], list[R]]) -> None:
        """Start the workers now (a server at start-up), not with the first big batch: each
        imports ``check``'s module, which takes a second or more on a small machine."""
        if self.parts > 1:
            pool = self._executor()
            warm = [pool.submit(_remote, check, [], b"") for _ in range(self.parts - 1)]
            for future in warm:
                future.result()

    def map_parts(
        self, check: Callable[[list[T], bytes], list[R]], items: list[T], key: bytes
    ) -> list[R]:
        """``check`` over ``items`` (a module-level function, so workers can import it)."""
        return self.map_finished(check, _as_checked, items, key)

    def map_finished(
        self,
        check: Callable[[list[T], bytes], list[R]],
        finish: Callable[[list[T], list[R]], list[S]],
        items: list[T],
        key: bytes,
    ) -> list[S]:
        """``finish(piece, check(piece, key))`` over the pieces of ``items``, in item order
        (:meth:`spread`, then at once :meth:`Spread.finished`)."""
        return self.spread(check, items, key).finished(finish)

    def spread(
        self, check: Callable[[list[T], bytes], list[R]], items: list[T], key: bytes
    ) -> "Spread[T, R]":
        """Queue ``items``'s pieces for the workers now; the caller's share and the results come
        with :meth:`Spread.finished`, so the caller may do other work (wait on a database) while
        the workers start."""
        return Spread(self, check, items, key)

    def worker_pids(self) -> list[int]:
        """The process ids of the running workers (for the bench's CPU accounting)."""
        with self._lock:
            pool = self._pool
        # The executor keeps its processes by pid; there is no public accessor.
        return sorted(pool._processes or ()) if pool is not None else []

    def close(self) -> None:
        """Stop the workers (they are started again if needed)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self.parts - 1, mp_context=context,
                                                 initializer=_orphan_guard,
                                                 initargs=(os.getpid(),))
            return self._pool

    def _inline(self, check: Callable[[list[T], bytes], list[R]],
                finish: Callable[[list[T], list[R]], list[S]], items: list[T], key: bytes,
                err: BaseException) -> list[S]:
        logger.warning("verify workers failed (%s); checking the batch in this thread", err)
        with self._lock:
            pool, self._pool = self._pool, None  # broken: the next big batch starts a fresh one
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        return finish(items, check(items, key))


def _as_checked(_items: list[T], results: list[R]) -> list[R]:
    """The results as they are (``map_parts``: nothing to finish)."""
    return results


class Spread(Generic[T, R]):
    """One batch whose pieces are queued for the workers (or that the caller checks alone: a
    small batch, a single core, a broken pool).

    The batch is cut into pieces (:func:`piece_starts`), all queued for the workers, which take
    them from the front; in :meth:`finished` the calling thread takes them from the back, each one
    it can still cancel. So the work divides itself by how fast each side runs (a worker slowed
    by other load, a caller with its own work), not by a fixed share."""

    def __init__(self, pool: VerifyPool, check: Callable[[list[T], bytes], list[R]],
                 items: list[T], key: bytes) -> None:
        self._pool, self._check, self._items, self._key = pool, check, items, key
        self._pieces: list[list[T]] = []
        self._futures: list[Future[bytes]] = []
        self._failed: BaseException | None = None
        if pool.parts < 2 or len(items) < MIN_PARALLEL:
            return
        starts = piece_starts(len(items))
        self._pieces = [items[a:b] for a, b in zip(starts, [*starts[1:], len(items)], strict=True)]
        try:
            executor = pool._executor()
            for piece in self._pieces:
                self._futures.append(executor.submit(_remote, check, piece, key))
        except (BrokenProcessPool, RuntimeError) as err:
            self.cancel()
            self._futures, self._failed = [], err

    def finished(self, finish: Callable[[list[T], list[R]], list[S]]) -> list[S]:
        """``finish(piece, check(piece, key))`` over the pieces, in item order. ``finish`` runs in
        the calling thread, on a worker's piece as soon as it is back: while the workers check
        their last pieces, the caller is finishing the ones they already returned."""
        check, pieces, futures, key = self._check, self._pieces, self._futures, self._key
        if self._failed is not None:
            return self._pool._inline(check, finish, self._items, key, self._failed)
        if not futures:
            return finish(self._items, check(self._items, key))
        done: dict[int, list[S]] = {}
        for index in range(len(pieces) - 1, -1, -1):
            if not futures[index].cancel():  # a worker has it (or has it queued): the rest too
                break
            done[index] = finish(pieces[index], check(pieces[index], key))
        theirs = {futures[index]: index for index in range(len(pieces)) if index not in done}
        try:
            for future in as_completed(theirs):
                index = theirs[future]
                done[index] = finish(pieces[index], pickle.loads(future.result()))
        except BrokenProcessPool as err:
            return self._pool._inline(check, finish, self._items, key, err)
        return [result for index in range(len(pieces)) for result in done[index]]

    def cancel(self) -> None:
        """Drop the pieces no worker has taken (a request refused before its records are
        needed); what a worker is checking runs out, and its answer is dropped."""
        for future in self._futures:
            future.cancel()


def _remote(check: Callable[[list[T], bytes], list[R]], items: list[T], key: bytes) -> bytes:
    """In a worker: ``check`` a piece and pickle the results (plain values, see
    ``ingest.verify_part``), so the caller unpickles them where it needs them."""
    return pickle.dumps(check(items, key), protocol=pickle.HIGHEST_PROTOCOL)


_SHARED: VerifyPool | None = None
_SHARED_LOCK = threading.Lock()


def shared() -> VerifyPool:
    """The process's one pool (every ingest service of a server process uses it)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = VerifyPool()
            atexit.register(_SHARED.close)
        return _SHARED


#: How often a worker looks whether the server that started it is still there.
PARENT_POLL_S = 1.0


def _orphan_guard(parent: int) -> None:
    """In each worker: exit when the server is gone (killed with -9, its workers would
    otherwise wait on their queue for ever outside any service manager's cgroup)."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="verify-orphan-guard").start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        threading.Event().wait(PARENT_POLL_S)
    os._exit(0)
