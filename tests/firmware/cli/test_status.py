"""``fieldcheck-device status``: GPS, last receipt, next window, upload, battery, enrolment."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind
from firmware import cli
from firmware.core.fix import Fix, FixType
from firmware.version import FIRMWARE_VERSION
from tests.firmware.services.checkin_fakes import ledger_for, opened_store

#: How long before the test runs its unit's records were made (its fix is this old).
AGO = timedelta(minutes=10)


def a_fix(clock: ManualClock) -> Fix:
    return Fix(utc=clock.now(), time_key=0, latitude=47.37, longitude=8.54, altitude_m=420.0,
               quality=1, fix_type=FixType.THREE_D, valid=True, hdop=0.9, pdop=1.4, vdop=1.1,
               satellites_used=9, received_mono=clock.mono, clock_offset_s=0.1)


def unit(tmp_path: Path) -> Path:
    """A data dir with a fix, a check-in, a battery event and one acknowledged record."""
    # Taken when the test runs, not at collection: a long suite would age the fix past the bound.
    clock = ManualClock(wall=datetime.now(UTC).replace(microsecond=0) - AGO, mono=1000.0)
    data = tmp_path / "data"
    for store in opened_store(data, clock):
        ledger = ledger_for(store, clock)
        ledger.on_fix(a_fix(clock))
        ledger.event("battery", {"level": "low", "percent": 18, "millivolts": 3550})
        clock.advance(30)
        ledger.write(Kind.CHECKIN, {"verdict": "match", "trigger": "button", "score": 0.8},
                     *ledger.current_fix())
        store.acknowledge(0)
    config = tmp_path / "device.toml"
    config.write_text(f'[device]\ndata_dir = "{data}"\n'
                      '[checkin]\nmode = "times"\ntimes = ["00:00", "06:00", "12:00", '
                      '"18:00"]\ntimezone = "UTC"\n', encoding="utf-8")
    return config


def test_status_json_has_every_field_from_the_records(tmp_path, capsys) -> None:
    config = unit(tmp_path)
    assert cli.main(["status", "--config", str(config), "--json"]) == 0
    fields = json.loads(capsys.readouterr().out)
    assert fields["last_checkin"]["verdict"] == "match"
    assert fields["last_checkin"]["receipt"] == 2
    assert fields["gps"]["state"] == "fix" and fields["gps"]["mode"] == "3d"
    assert 590 <= fields["gps"]["fix_age_s"] <= 900
    assert fields["unacknowledged"] == 2 and fields["upload"]["acked_seq"] == 0
    assert fields["battery"] == {"level": "low", "percent": 18,
                                 "time": fields["battery"]["time"]}
    assert fields["firmware"] == FIRMWARE_VERSION and fields["model"] == "none"
    assert fields["enrolled"] is False and fields["upload"]["server"] is False
    window = fields["next_window"]
    assert window["mode"] == "times"
    assert datetime.fromisoformat(window["closes"]) > datetime.now(UTC)
    assert "47.37" not in json.dumps(fields)  # no coordinates


def test_status_table_reads_as_rows(tmp_path, capsys) -> None:
    config = unit(tmp_path)
    assert cli.main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    for name in ("gps", "last check-in", "next window", "unacknowledged", "upload",
                 "battery", "firmware", "model", "enrolled"):
        assert any(line.startswith(name) for line in out.splitlines()), name
    assert "receipt 2 at" in out and "no: enrol the wearer" in out


def test_status_without_a_store_says_where_it_looked(tmp_path, capsys) -> None:
    assert cli.main(["status", "--data-dir", str(tmp_path / "none")]) != 0
    err = capsys.readouterr().err
    assert "no record store" in err and "Traceback" not in err
