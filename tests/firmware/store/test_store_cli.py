"""``fieldcheck-device identity`` and ``records`` commands, run through the real parser."""

import json
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind
from firmware import cli
from firmware.cli import main
from firmware.services.ledger import Ledger
from firmware.store.backends.sqlite import Config, create
from firmware.store.identity import key_path, load_identity


@pytest.fixture(autouse=True)
def only_these_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real main() and parser, without importing sibling commands that are being built.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("firmware.cli.identity", "firmware.cli.records"))


def test_identity_init_then_show_prints_only_public_material(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["identity", "init", "--data-dir", str(tmp_path), "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert main(["identity", "init", "--data-dir", str(tmp_path), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert main(["identity", "show", "--data-dir", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    identity = load_identity(tmp_path)
    assert created["device_id"] == again["device_id"] == identity.device_id
    assert created["note"] == "created a new device key"
    assert again["note"] == "kept the existing device key"
    assert identity.public_key_hex in shown
    secret = key_path(tmp_path).read_text().splitlines()[1]
    assert secret not in shown and secret not in json.dumps(created)


def test_exposed_key_fails_with_the_fix(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    main(["identity", "init", "--data-dir", str(tmp_path)])
    key_path(tmp_path).chmod(0o644)
    assert main(["identity", "show", "--data-dir", str(tmp_path)]) == 2
    assert "chmod 600" in capsys.readouterr().err


def _store_with_records(tmp_path: Path) -> None:
    main(["identity", "init", "--data-dir", str(tmp_path)])
    identity = load_identity(tmp_path)
    store = create(Config(), data_dir=tmp_path, identity=identity, clock=ManualClock())
    store.start()
    ledger = Ledger(store, identity, ManualClock())
    ledger.write(Kind.EVENT, {"type": "boot"})
    ledger.write(Kind.CHECKIN, {"verdict": "unknown", "guidance": "too dark"})
    store.acknowledge(0)
    store.stop()


def test_records_list_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _store_with_records(tmp_path)
    capsys.readouterr()
    assert main(["records", "list", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "event" in lines[0] and "acked" in lines[0] and "type=boot" in lines[0]
    assert "pending" in lines[1] and "verdict=unknown" in lines[1]
    assert main(["records", "list", "--data-dir", str(tmp_path), "--json", "--after", "0"]) == 0
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["seq"], d["acknowledged"]) for d in docs] == [(1, False)]
    assert main(["records", "verify", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "ok"


def test_records_verify_fails_on_a_missing_store(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    main(["identity", "init", "--data-dir", str(tmp_path)])
    assert main(["records", "verify", "--data-dir", str(tmp_path)]) == 2
    assert "no record store" in capsys.readouterr().err


def test_records_bench_prints_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["records", "bench", "--count", "20", "--dir", str(tmp_path)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["count"] == 20 and figures["records_per_s"] > 0
    assert figures["json_bytes_per_record"] > figures["cose_bytes_per_record"] > 64
    assert list(tmp_path.iterdir()) == []  # the scratch store is removed
