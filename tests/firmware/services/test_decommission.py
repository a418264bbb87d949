"""Decommissioning on a real store: refusals erase nothing, a second run adds no second final
record, and erasing overwrites small files before removing them."""

from pathlib import Path

import pytest

from fieldcheck_protocol.signature import unverified_record
from firmware.services import decommission as service
from firmware.services.decommission import DecommissionRefused, Erasable
from firmware.store.backends.sqlite import SqliteRecordStore
from tests.firmware.services.checkin_fakes import ledger_for


def types(store: SqliteRecordStore) -> list[str]:
    return [unverified_record(r.cose).body["type"] for r in store.records()]


def acknowledge_all(store: SqliteRecordStore) -> bool:
    status = store.status()
    if status.next_seq:
        store.acknowledge(status.next_seq - 1)
    return True


def test_a_refused_final_upload_keeps_everything_and_a_rerun_writes_no_second_record(
        store: SqliteRecordStore, clock, tmp_path: Path) -> None:
    ledger = ledger_for(store, clock)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"x" * 64)
    erase = [Erasable("secret", (secret,))]
    acks = iter([True, False])  # the backlog goes, the final record does not

    def flaky() -> bool:
        return acknowledge_all(store) and next(acks)

    with pytest.raises(DecommissionRefused, match="did not reach the server"):
        service.decommission(store, ledger, flaky, erase, False, lambda: None)
    assert secret.exists() and types(store) == ["decommissioned"]
    report = service.decommission(store, ledger, lambda: acknowledge_all(store), erase, False,
                                  lambda: None)
    assert types(store) == ["decommissioned"]  # the one from the first run went out now
    assert report.final_acknowledged and report.final_seq is None
    assert report.erased == [("secret", 1)] and not secret.exists()


def test_no_server_refuses_unless_forced(store: SqliteRecordStore, clock) -> None:
    ledger = ledger_for(store, clock)
    ledger.event("config_change", {"source": "test"})
    with pytest.raises(DecommissionRefused, match="no server is configured"):
        service.decommission(store, ledger, None, [], False, lambda: None)
    report = service.decommission(store, ledger, None, [], True, lambda: None)
    assert report.unsent == 1 and not report.final_acknowledged and report.final_seq == 1


def test_erase_overwrites_then_removes_files_and_folders(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "review"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "1.box").write_bytes(b"image")
    key = tmp_path / "device.key"
    key.write_bytes(b"k" * 32)
    seen: list[bytes] = []
    real_unlink = Path.unlink

    def unlink(path: Path, missing_ok: bool = False) -> None:
        seen.append(path.read_bytes())
        real_unlink(path, missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    assert service.erase_paths([key, folder, tmp_path / "absent"]) == 2
    assert seen == [b"\0" * 32, b"\0" * 5]
    assert not key.exists() and not folder.exists()
