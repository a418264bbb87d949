"""The README's main command: the bench demo runs end to end and says what it saw."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_bench_demo_shows_the_walk_arriving_verified_on_the_server() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "host_tools.bench.demo"],
        capture_output=True, text=True, cwd=REPO, timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "EVENT fix_lost" in out and "EVENT fix_regained" in out and "EVENT tamper" in out
    assert "CHECK-IN (button): match" in out and "CHECK-IN (button): no_match" in out
    # Issue 14: every line of the walk has a time, in time order; the check-in has its receipt.
    walk = out.split("(serial GPS on the pty, simulated supervisor)\n")[1]
    walk = walk.split("\nwhat the device saw:")[0].strip("\n").splitlines()
    times = [line[2:10] for line in walk]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d", t) for t in times), walk
    pairs = zip(times, times[1:], strict=False)
    assert all(a <= b or (a[:2], b[:2]) == ("23", "00") for a, b in pairs)
    assert re.search(r"CHECK-IN \(button\): match, score [\d.]+, receipt #\d+", out)
    assert "result: OK" in out
    server_lines = out.split("what arrived on the server:")[1].split("a duty-cycled day")[0]
    assert "'verified'" in server_lines and "tampered" not in server_lines
    # Issue 10: the same unit, duty-cycled, through a simulated day of real wakes.
    day = out.split("a duty-cycled day")[1]
    wakes = re.findall(r"wake (\d): awake ([\d.]+) s \(daemon process ([\d.]+) s\), "
                       r"first fix after ([\d.]+) s \((cold|hot) start", day)
    assert [w[0] for w in wakes] == ["1", "2", "3", "4"]
    assert [w[4] for w in wakes] == ["cold", "hot", "hot", "hot"]  # backup power between wakes
    assert all(float(w[1]) < float(w[2]) for w in wakes)  # awake within the daemon's run
    assert "measured awake time:" in day and "days on the reference 18650" in day
