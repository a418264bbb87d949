"""The Pi's end of the supervisor link: sequence numbers, acknowledgements, retransmits, liveness.

Sans-I/O: the caller feeds received frames and the current monotonic time, and writes whatever
frames come back. Reliable messages are sent stop-and-wait (one outstanding at a time).
"""

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from firmware.core.mcu_frame import (
    RELIABLE,
    FrameError,
    Message,
    MsgType,
    NackReason,
    decode,
    encode,
    pack_payload,
)


@dataclass(frozen=True)
class Received:
    """What one incoming frame produced."""

    replies: tuple[bytes, ...] = ()
    delivered: Message | None = None  # a new message for the application (never a duplicate)
    acked: Message | None = None  # our reliable message that the peer acknowledged
    refused: Message | None = None  # our reliable message that the peer NACKed
    nack_reason: int | None = None
    error: FrameError | None = None


@dataclass
class _Pending:
    message: Message
    sent_at: float
    tries: int = 1


@dataclass
class LinkEndpoint:
    """Sequence numbering, ACK/NACK handling, retransmission and duplicate suppression."""

    retransmit_s: float = 0.5
    max_retries: int = 5
    timeout_s: float = 15.0
    _seq: int = 0
    _queue: deque[Message] = field(default_factory=deque)
    _pending: _Pending | None = None
    _last_accepted: Message | None = None
    _last_heard: float | None = None

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def heartbeat(self) -> bytes:
        """A HEARTBEAT frame (fire-and-forget; the MCU answers with HEARTBEAT_ACK)."""
        return encode(Message(MsgType.HEARTBEAT, self._next_seq()))

    def send(self, kind: MsgType, fields: Mapping[str, int]) -> None:
        """Queue a reliable message; :meth:`poll` transmits it when the link is free."""
        if kind not in RELIABLE:
            raise ValueError(f"{kind.name} is not a reliable message")
        pack_payload(kind, fields)  # validate now, where the caller can see the error
        self._queue.append(Message(kind, 0, dict(fields)))

    @property
    def backlog(self) -> int:
        """Reliable messages not yet acknowledged (queued plus in flight)."""
        return len(self._queue) + (1 if self._pending else 0)

    def poll(self, now: float) -> tuple[list[bytes], list[Message]]:
        """Frames due now (first sends and retransmits) and messages given up on."""
        expired: list[Message] = []
        pending = self._pending
        if pending is not None and now - pending.sent_at >= self.retransmit_s:
            if pending.tries > self.max_retries:
                expired.append(pending.message)
                self._pending = None
            else:
                pending.tries += 1
                pending.sent_at = now
                return [encode(pending.message)], expired
        if self._pending is None and self._queue:
            queued = self._queue.popleft()
            message = Message(queued.kind, self._next_seq(), queued.fields)
            self._pending = _Pending(message, now)
            return [encode(message)], expired
        return [], expired

    def requeue(self) -> None:
        """After a reconnect: resend the in-flight message first, with a fresh retry budget."""
        if self._pending is not None:
            self._queue.appendleft(self._pending.message)
            self._pending = None

    def alive(self, now: float) -> bool:
        """Whether a valid frame arrived within ``timeout_s``."""
        return self._last_heard is not None and now - self._last_heard <= self.timeout_s

    def receive(self, frame: bytes, now: float) -> Received:
        """Handle one frame (without its delimiter)."""
        try:
            message = decode(frame)
        except FrameError as err:
            reason = err.nack_reason
            if reason is None or err.seq is None:
                return Received(error=err)
            nack = encode(Message(MsgType.NACK, err.seq, {"reason": int(reason)}))
            return Received(replies=(nack,), error=err)
        self._last_heard = now
        if message.kind in (MsgType.ACK, MsgType.NACK):
            return self._settle(message)
        if not message.reliable:
            return Received(delivered=message)
        ack = encode(Message(MsgType.ACK, message.seq))
        if message == self._last_accepted:
            return Received(replies=(ack,))  # a retransmission of what we already have
        self._last_accepted = message
        return Received(replies=(ack,), delivered=message)

    def _settle(self, message: Message) -> Received:
        pending = self._pending
        if pending is None or pending.message.seq != message.seq:
            return Received()  # late ACK for something already settled
        self._pending = None
        if message.kind == MsgType.ACK:
            return Received(acked=pending.message)
        reason = message.fields.get("reason", int(NackReason.VALUE))
        return Received(refused=pending.message, nack_reason=reason)
