"""The Pi's link endpoint (acks, retransmits, duplicates, liveness) and event conversion."""

from datetime import UTC, datetime

import pytest

from firmware.core.mcu_frame import (
    Message,
    MsgType,
    NackReason,
    cobs_encode,
    crc16,
    decode,
    encode,
)
from firmware.core.mcu_link import LinkEndpoint
from firmware.core.supervisor_event import (
    BatteryEvent,
    ButtonEvent,
    ButtonPress,
    PowerEvent,
    ResetEvent,
    ResetReason,
    TamperEvent,
    event_from_message,
)

AT = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def body(frame: bytes) -> Message:
    """Decode a wire frame including its delimiter."""
    return decode(frame[:-1])


def test_reliable_message_is_acked_once_and_duplicates_are_not_redelivered() -> None:
    link = LinkEndpoint()
    tamper = encode(Message(MsgType.TAMPER, 5, {"open": 1, "uptime_ms": 10}))
    first = link.receive(tamper[:-1], now=1.0)
    again = link.receive(tamper[:-1], now=1.5)
    assert first.delivered == Message(MsgType.TAMPER, 5, {"open": 1, "uptime_ms": 10})
    assert [body(r) for r in first.replies] == [Message(MsgType.ACK, 5)]
    assert again.delivered is None
    assert [body(r) for r in again.replies] == [Message(MsgType.ACK, 5)]


def test_send_retransmits_until_acked_then_sends_the_next() -> None:
    link = LinkEndpoint(retransmit_s=0.5, max_retries=3)
    link.send(MsgType.SET_CONFIG, {"watchdog_s": 120, "battery_interval_s": 300, "low_percent": 15})
    link.send(MsgType.SHUTDOWN, {"delay_s": 20, "wake_after_s": 0})
    sent, _ = link.poll(0.0)
    first = body(sent[0])
    assert first.kind is MsgType.SET_CONFIG
    assert link.poll(0.2) == ([], [])  # not yet due, and the second waits its turn
    resent, _ = link.poll(0.6)
    assert body(resent[0]) == first
    result = link.receive(encode(Message(MsgType.ACK, first.seq))[:-1], now=0.7)
    assert result.acked == first
    following, _ = link.poll(0.7)
    assert body(following[0]).kind is MsgType.SHUTDOWN
    assert body(following[0]).seq == (first.seq + 1) & 0xFF


def test_a_message_is_given_up_after_its_retry_budget() -> None:
    link = LinkEndpoint(retransmit_s=1.0, max_retries=2)
    link.send(MsgType.SHUTDOWN, {"delay_s": 1, "wake_after_s": 0})
    transmissions = 0
    expired: list[Message] = []
    for tick in range(10):
        frames, gone = link.poll(float(tick))
        transmissions += len(frames)
        expired += gone
    assert transmissions == 3  # the first send and two retries
    assert [m.kind for m in expired] == [MsgType.SHUTDOWN]
    assert link.backlog == 0


def test_requeue_resends_the_in_flight_message_first() -> None:
    link = LinkEndpoint()
    link.send(MsgType.SHUTDOWN, {"delay_s": 1, "wake_after_s": 0})
    link.send(MsgType.SHUTDOWN, {"delay_s": 2, "wake_after_s": 0})
    first, _ = link.poll(0.0)
    link.requeue()
    again, _ = link.poll(0.1)
    assert body(again[0]).fields == body(first[0]).fields
    assert link.backlog == 2


def test_nack_refuses_the_pending_message_and_bad_headers_are_nacked() -> None:
    link = LinkEndpoint()
    link.send(MsgType.SET_CONFIG, {"watchdog_s": 1, "battery_interval_s": 1, "low_percent": 1})
    sent, _ = link.poll(0.0)
    seq = body(sent[0]).seq
    refused = link.receive(encode(Message(MsgType.NACK, seq, {"reason": 4}))[:-1], now=0.1)
    assert refused.refused is not None and refused.nack_reason == NackReason.VALUE
    unknown = encode_raw(bytes([1, 0x55, 10]))
    answer = link.receive(unknown, now=0.2)
    assert answer.error is not None and answer.error.kind == "type"
    assert [body(r) for r in answer.replies] == [Message(MsgType.NACK, 10, {"reason": 2})]


def encode_raw(header_and_payload: bytes) -> bytes:
    """COBS(header + payload + CRC) without a delimiter, bypassing the type table."""
    return cobs_encode(header_and_payload + crc16(header_and_payload).to_bytes(2, "big"))


def test_liveness_follows_valid_frames_only() -> None:
    link = LinkEndpoint(timeout_s=10.0)
    assert not link.alive(0.0)
    link.receive(b"\x05\x01\x02\x03", now=1.0)  # malformed: does not count
    assert not link.alive(1.0)
    ack = encode(Message(MsgType.HEARTBEAT_ACK, 1, {"uptime_ms": 5, "flags": 0}))
    assert link.receive(ack[:-1], now=2.0).delivered is not None
    assert link.alive(12.0) and not link.alive(12.1)


def test_heartbeats_count_up_and_wrap() -> None:
    link = LinkEndpoint()
    seqs = [body(link.heartbeat()).seq for _ in range(257)]
    assert seqs[:3] == [1, 2, 3] and seqs[254:] == [255, 0, 1]


def test_only_reliable_messages_can_be_queued() -> None:
    with pytest.raises(ValueError, match="not a reliable"):
        LinkEndpoint().send(MsgType.HEARTBEAT, {})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (Message(MsgType.TAMPER, 1, {"open": 1, "uptime_ms": 77}), TamperEvent(AT, True, 77)),
        (
            Message(MsgType.BATTERY, 1, {"millivolts": 3300, "percent": 4, "flags": 3}),
            BatteryEvent(AT, 3300, 4, low=True, critical=True),
        ),
        (
            Message(MsgType.BUTTON, 1, {"press": 2, "duration_ms": 2500}),
            ButtonEvent(AT, ButtonPress.LONG, 2500),
        ),
        (Message(MsgType.POWER, 1, {"external": 0}), PowerEvent(AT, external=False)),
        (
            Message(MsgType.RESET_REASON, 1, {"reason": 1, "silence_ms": 125000, "count": 2}),
            ResetEvent(AT, ResetReason.WATCHDOG, 125000, 2),
        ),
        (
            Message(MsgType.RESET_REASON, 1, {"reason": 9, "silence_ms": 0, "count": 0}),
            ResetEvent(AT, ResetReason.UNKNOWN, 0, 0),
        ),
        (Message(MsgType.HEARTBEAT_ACK, 1, {"uptime_ms": 1, "flags": 0}), None),
    ],
)
def test_messages_become_typed_events(message: Message, expected: object) -> None:
    assert event_from_message(message, AT) == expected
