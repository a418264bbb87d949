"""The demo's one writer: report items in time order, every line with a time, the receipt."""

from datetime import datetime
from typing import Any

from host_tools.bench.demo import EventRecords, describe
from host_tools.bench.timeline import Timeline


def _collect() -> tuple[list[tuple[str, Any]], Timeline]:
    written: list[tuple[str, Any]] = []
    timeline = Timeline(lambda when, item: written.append((when.strftime("%H:%M:%S"), item)),
                        hold_s=1.0)
    return written, timeline


def test_a_late_checkin_report_is_written_after_the_earlier_fix() -> None:
    """Issue 14: a check-in at 11:02:20 was printed before a fix at 11:02:19."""
    written, timeline = _collect()
    timeline.add({"t": "checkin", "device_time": "2026-12-01T11:02:20+00:00", "seq": 5}, 0.0)
    timeline.add({"t": "fix", "gps_time": "2026-12-01 11:02:19+00:00"}, 0.2)
    timeline.add({"t": "fix", "gps_time": "2026-12-01 11:02:21+00:00"}, 0.9)
    timeline.release(0.5)
    assert written == []  # still held: a report with an earlier time may come
    timeline.release(1.0)
    assert [(w, i["t"]) for w, i in written] == [("11:02:19", "fix"), ("11:02:20", "checkin")]
    timeline.drain()
    assert [w for w, _ in written] == ["11:02:19", "11:02:20", "11:02:21"]


def test_untimed_items_take_the_time_of_what_caused_them() -> None:
    written, timeline = _collect()
    timeline.add({"t": "record", "kind": "event", "type": "boot", "seq": 0}, 0.0)  # no time
    timeline.add({"t": "event", "event": "boot", "time": "2026-12-01T11:00:00.5+00:00"}, 0.1)
    timeline.add({"t": "fix", "gps_time": "2026-12-01T11:00:03+00:00"}, 0.2)
    timeline.add({"t": "record", "kind": "location", "seq": 1}, 0.3)
    timeline.add({"t": "state", "prev": "3d", "state": "no_data", "gps_time": None}, 0.4)
    timeline.drain()
    assert [(w, i["t"]) for w, i in written] == [
        ("11:00:00", "record"), ("11:00:00", "event"), ("11:00:03", "fix"),
        ("11:00:03", "record"), ("11:00:03", "state")]


def test_without_holding_the_order_is_the_arrival_order() -> None:
    written: list[datetime] = []
    timeline = Timeline(lambda when, item: written.append(when), hold_s=0.0)
    timeline.add({"t": "fix", "gps_time": "2026-12-01T11:00:05+00:00"}, 0.0)
    timeline.release(0.0)
    timeline.add({"t": "fix", "gps_time": "2026-12-01T11:00:04+00:00"}, 0.1)
    timeline.release(0.1)
    assert [w.second for w in written] == [5, 4]


def test_the_checkin_line_has_the_receipt_number_on_one_line() -> None:
    text = describe({"t": "checkin", "trigger": "button", "outcome": "match", "score": 0.72,
                     "seq": 5, "message": "Check-in recorded. Thank you."})
    assert "receipt #5" in text and "\n" not in text
    assert text.endswith("the wearer is told: Check-in recorded. Thank you.")


def test_an_event_record_is_folded_into_its_event_line() -> None:
    folded = EventRecords()
    assert folded.take({"t": "record", "kind": "event", "type": "tamper", "seq": 3}) == []
    location = {"t": "record", "kind": "location", "seq": 4}
    assert folded.take(location) == [location]
    (event,) = folded.take({"t": "event", "event": "tamper", "time": "2026-12-01T11:00:00Z",
                            "strap_open": True})
    assert describe(event) == "EVENT tamper strap_open=True -> signed record #3"
    assert folded.take({"t": "record", "kind": "event", "type": "shutdown", "seq": 9}) == []
    (alone,) = folded.rest()
    assert describe(alone) == "signed record #9 committed: shutdown"
