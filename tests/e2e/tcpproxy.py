"""A small TCP proxy on 127.0.0.1 that drops, cuts and delays connections (seeded RNG)."""

import random
import socket
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Faults:
    """Per-connection fault odds and delay."""

    drop: float = 0.2  # close the client connection before contacting the server
    cut: float = 0.2  # forward, then cut both sides after a random number of bytes
    max_delay_s: float = 0.2  # wait up to this long before connecting upstream


class FaultyProxy:
    """Listens on an ephemeral loopback port and forwards to ``127.0.0.1:target``."""

    def __init__(self, target: int, faults: Faults, rng: random.Random) -> None:
        self.target = target
        self.faults = faults
        self._rng = rng
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        self.stats = {"connections": 0, "dropped": 0, "cut": 0}
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _plan(self) -> tuple[bool, int | None, float]:
        with self._lock:
            drop = self._rng.random() < self.faults.drop
            cut = self._rng.randrange(200, 20_000) if self._rng.random() < self.faults.cut else None
            return drop, cut, self._rng.random() * self.faults.max_delay_s

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        drop, cut, delay = self._plan()
        self.stats["connections"] += 1
        if drop:
            self.stats["dropped"] += 1
            client.close()
            return
        time.sleep(delay)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            client.close()
            return
        budget = [cut]
        if cut is not None:
            self.stats["cut"] += 1
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(src, dst, budget), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, budget: list[int | None]) -> None:
        try:
            while data := src.recv(16384):
                if budget[0] is not None:
                    budget[0] -= len(data)
                    if budget[0] <= 0:
                        break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
