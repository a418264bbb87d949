"""The kernel's clock-synchronised answer (adjtimex) and systemd-timesyncd's flag file."""

import sys
from pathlib import Path

import pytest

from firmware.gps import clock_sync
from firmware.gps.clock_sync import KernelClockSync


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="adjtimex is Linux only")
def test_the_kernel_answers_without_privilege() -> None:
    sync = KernelClockSync(flag=Path("/nonexistent/flag"))
    assert sync._func is not None
    assert isinstance(sync.synchronized(), bool)


def test_without_adjtimex_the_timesyncd_flag_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock_sync, "_adjtimex", lambda: None)
    flag = tmp_path / "synchronized"
    sync = KernelClockSync(flag=flag)
    assert sync.synchronized() is False  # no flag: never assumed
    flag.touch()
    assert sync.synchronized() is True


def test_an_unsynchronised_kernel_state_is_no(monkeypatch: pytest.MonkeyPatch) -> None:
    def unsynced(timex: object) -> int:
        return 5  # TIME_ERROR

    sync = KernelClockSync(flag=Path("/nonexistent/flag"))
    monkeypatch.setattr(sync, "_func", unsynced)
    assert sync.synchronized() is False
