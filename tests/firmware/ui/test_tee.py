"""``run --report`` beside a configured screen: both get every hook."""

import io
import json
from datetime import timedelta

from firmware.ui.backends import bench, report
from firmware.ui.tee import TeeSink
from tests.firmware.ui.screen_cases import NOW


def test_the_report_and_the_screen_both_get_every_hook(tmp_path) -> None:
    stream = io.StringIO()
    screen = bench.create(bench.Config(dir=str(tmp_path / "frames")))
    tee = TeeSink((report.create(report.Config(), stream), screen))
    tee.start()
    tee.reminder(NOW)
    tee.prompt(NOW + timedelta(minutes=15))
    tee.receipt({"seq": 4, "outcome": "match", "guidance": None,
                 "device_time": NOW.isoformat()})
    tee.stop()
    items = [json.loads(line)["t"] for line in stream.getvalue().splitlines()]
    assert items == ["reminder", "prompt", "checkin"]
    assert [p.name.split("-", 1)[1] for p in screen.frames if p.suffix == ".png"] == [
        "reminder.png", "prompt.png", "result.png"]
