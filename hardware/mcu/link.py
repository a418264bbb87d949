"""The MCU's end of the link: sequence numbers, ACKs, stop-and-wait retransmits, a bounded queue."""

import frame
import ticks

# Only the latest state matters for these, so a queued one is replaced rather than appended.
_COALESCE = (frame.BATTERY, frame.POWER)
NONE = -1


class Link:
    """Sans-I/O link state; the caller feeds received bytes and writes the returned frames."""

    def __init__(self, retransmit_ms: int = 500, max_retries: int = 5, capacity: int = 16) -> None:
        self.retransmit_ms = retransmit_ms
        self.max_retries = max_retries
        self.capacity = capacity
        self.splitter = frame.Splitter()
        self.seq = 0
        self.queue = []  # type: list[tuple[int, bytes]]
        # The message in flight (pending_type NONE when there is none).
        self.pending_type = NONE
        self.pending_seq = 0
        self.pending_payload = b""
        self.sent_at = 0
        self.tries = 0
        self.last_accepted = (NONE, 0, b"")
        self.connected = False
        self.dropped = 0
        self.rejected = 0

    def post(self, mtype: int, payload: bytes) -> None:
        """Queue a reliable message; it is sent once the Pi is connected."""
        if mtype in _COALESCE:
            for index, entry in enumerate(self.queue):
                if entry[0] == mtype:
                    self.queue[index] = (mtype, payload)
                    return
        if len(self.queue) >= self.capacity:
            self.queue.pop(0)
            self.dropped += 1
        self.queue.append((mtype, payload))

    def reply(self, mtype: int, seq: int, payload: bytes) -> bytes:
        """An unreliable frame answering ``seq`` (HEARTBEAT_ACK, ACK, NACK)."""
        return frame.encode(mtype, seq, payload)

    def accept(self, mtype: int, seq: int, payload: bytes) -> bytes:
        """Acknowledge a reliable message and remember it to recognise retransmissions."""
        self.last_accepted = (mtype, seq, payload)
        return frame.encode(frame.ACK, seq, b"")

    def receive(self, data: bytes) -> tuple[list[bytes], list[tuple[int, int, bytes]], list[int]]:
        """Handle received bytes: returns (frames to write, inbox, acked message types).

        The inbox holds (type, seq, payload) of new messages; reliable ones still need
        :meth:`accept` or a NACK from the caller. Retransmissions are re-acknowledged here.
        """
        out = []  # type: list[bytes]
        inbox = []  # type: list[tuple[int, int, bytes]]
        acked = []  # type: list[int]
        for raw in self.splitter.feed(data):
            try:
                mtype, seq, payload = frame.decode(raw)
            except frame.FrameError as err:
                reason = err.nack_reason()
                if reason:
                    out.append(frame.encode(frame.NACK, err.seq, bytes((reason,))))
                continue
            if mtype == frame.ACK or mtype == frame.NACK:
                settled = self._settle(mtype, seq)
                if settled != NONE:
                    acked.append(settled)
            elif mtype in frame.RELIABLE and (mtype, seq, payload) == self.last_accepted:
                out.append(frame.encode(frame.ACK, seq, b""))
            else:
                inbox.append((mtype, seq, payload))
        return out, inbox, acked

    def _settle(self, mtype: int, seq: int) -> int:
        settled = self.pending_type
        if settled == NONE or self.pending_seq != seq:
            return NONE
        self.pending_type = NONE
        if mtype == frame.NACK:
            self.rejected += 1  # the Pi refused it; resending the same bytes cannot help
            return NONE
        return settled

    def poll(self, now: int) -> list[bytes]:
        """Frames due now: a retransmit, or the next queued message when none is in flight."""
        if not self.connected:
            return []
        if self.pending_type != NONE:
            if ticks.diff(now, self.sent_at) < self.retransmit_ms:
                return []
            if self.tries > self.max_retries:
                # The Pi stopped answering: keep the message for the next connection.
                self.queue.insert(0, (self.pending_type, self.pending_payload))
                self.pending_type = NONE
                self.connected = False
                return []
            self.sent_at = now
            self.tries += 1
            return [frame.encode(self.pending_type, self.pending_seq, self.pending_payload)]
        if not self.queue:
            return []
        mtype, payload = self.queue.pop(0)
        self.seq = (self.seq + 1) & 0xFF
        self.pending_type, self.pending_seq, self.pending_payload = mtype, self.seq, payload
        self.sent_at = now
        self.tries = 1
        return [frame.encode(mtype, self.seq, payload)]
