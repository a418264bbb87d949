"""The feedback sink: chosen by [ui] type, every hook reaches the report as one JSON line."""

import io
import json
from pathlib import Path

import pytest

from firmware import config
from firmware.app.wiring import Wiring
from firmware.errors import ConfigError
from firmware.ui.backends import null, report


def test_ui_type_report_writes_every_hook_as_a_json_line(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    loaded = config.from_mapping({"camera": {"type": "replay"},
                                  "ui": {"type": "report", "path": str(path)}}, "test")
    sink = Wiring(loaded).feedback_sink()
    assert isinstance(sink, report.ReportSink)
    sink.start()
    sink.ready("fc-1", "1.0")
    sink.guidance("too_dark", "move to the light")
    sink.receipt({"outcome": "match", "seq": 4})
    sink.observe("upload", {"acked_seq": 3})
    sink.safe_mode("config_invalid", "checkin.timezone", "fix the file")
    sink.summary({"store": {"next_seq": 5}})
    sink.stop()
    items = [json.loads(line) for line in path.read_text().splitlines()]
    assert [i["t"] for i in items] == ["ready", "guidance", "checkin", "upload", "safe_mode",
                                       "summary"]
    assert items[4]["action"] == "fix the file" and items[2]["seq"] == 4


def test_the_default_sink_is_null_and_run_report_overrides_it(tmp_path: Path) -> None:
    loaded = config.from_mapping({"camera": {"type": "replay"}}, "test")
    assert isinstance(Wiring(loaded).feedback_sink(), null.NullSink)
    chosen = Wiring(loaded).feedback_sink(str(tmp_path / "r.jsonl"))
    assert isinstance(chosen, report.ReportSink)


def test_a_report_file_that_cannot_be_opened_says_what_to_do(tmp_path: Path) -> None:
    sink = report.create(report.Config(path=str(tmp_path)))  # a folder, not a file
    with pytest.raises(ConfigError, match="cannot be opened"):
        sink.start()


def test_a_given_stream_is_left_open() -> None:
    stream = io.StringIO()
    sink = report.create(report.Config(), stream)
    sink.start()
    sink.show("x", {"a": 1})
    sink.stop()
    assert not stream.closed and json.loads(stream.getvalue()) == {"t": "x", "a": 1}
