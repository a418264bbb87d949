"""The A/B installer: refusals touch nothing, a healthy bundle commits, a sick one rolls back."""

import hashlib
import io
import tarfile
from datetime import timedelta

import pytest

from fieldcheck_protocol.bundle import open_manifest, open_root
from firmware.update.base import UpdateError
from tests.fieldcheck_protocol.bundle_factory import NOW, Keys
from tests.firmware.update.update_factory import installer, stop_daemon, write_bundle


@pytest.fixture
def keys():
    return Keys()


@pytest.fixture
def unit(tmp_path):
    yield tmp_path / "unit"
    stop_daemon(tmp_path / "unit")


def _runs(unit) -> list[str]:
    path = unit / "runs.log"
    return path.read_text().splitlines() if path.exists() else []


def _first(tmp_path, keys, unit):
    made = installer(tmp_path, keys)
    result = made.install(write_bundle(tmp_path, keys, 1, "first"))
    assert result.outcome == "installed" and result.slot == "a"
    return made


def assert_on_one_complete_slot(unit, keys) -> str:
    """``current`` names a slot marked complete whose files all match its signed manifest."""
    slot = (unit / "current").resolve()
    assert (slot / ".complete").is_file()
    root = open_root((slot / "root.cose").read_bytes(), keys.root_public, NOW)
    manifest = open_manifest((slot / "manifest.cose").read_bytes(), root, NOW)
    for path, entry in manifest.files.items():
        data = (slot / path).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry.sha256, entry.size), path
    return slot.name


def test_a_healthy_bundle_goes_into_the_inactive_slot_and_commits(tmp_path, keys, unit):
    made = _first(tmp_path, keys, unit)
    result = made.install(write_bundle(tmp_path, keys, 2, "second"))
    assert (result.outcome, result.slot, result.previous) == ("installed", "b", "a")
    assert assert_on_one_complete_slot(unit, keys) == "b"
    assert made.slots.state().counter == 2 and made.slots.journal() is None
    assert _runs(unit) == ["a # first", "b # second"]


@pytest.mark.parametrize("behaviour", ["crash", "safe", "silent"])
def test_a_bundle_whose_daemon_fails_its_health_check_is_rolled_back(tmp_path, keys, unit,
                                                                      behaviour):
    made = _first(tmp_path, keys, unit)
    if behaviour == "silent":
        made._timeout = 1.5
    result = made.install(write_bundle(tmp_path, keys, 2, "sick", behaviour))
    assert (result.outcome, result.slot, result.previous) == ("rolled_back", "a", "b")
    assert assert_on_one_complete_slot(unit, keys) == "a"
    assert made.slots.state().counter == 1  # the sick bundle's counter is not kept
    assert made.slots.journal() is None
    assert _runs(unit) == ["a # first", "b # sick", "a # first"]  # the old daemon runs again


def _retar(data: bytes, change) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for member, body in change(members):
            member.size = len(body)
            tar.addfile(member, io.BytesIO(body))
    return out.getvalue()


def _tamper(path):
    path.write_bytes(_retar(path.read_bytes(), lambda m: [*m[:-1], (m[-1][0], m[-1][1] + b"!")]))
    return path


def _unsign(path):
    path.write_bytes(_retar(path.read_bytes(), lambda m: m[2:]))
    return path


REFUSALS = {
    "unsigned": lambda tmp, keys: _unsign(write_bundle(tmp, keys, 5)),
    "bad_size": lambda tmp, keys: _tamper(write_bundle(tmp, keys, 5)),
    "expired": lambda tmp, keys: write_bundle(tmp, keys, 5, days=-1 / 48),  # 30 min ago
    "rollback": lambda tmp, keys: write_bundle(tmp, keys, 1, "again"),
    "wrong_root": lambda tmp, keys: write_bundle(tmp, Keys(), 5),
    "untrusted_key": lambda tmp, keys: write_bundle(tmp, keys, 5, signer=Keys().release),
}


@pytest.mark.parametrize("code", sorted(REFUSALS))
def test_each_refusal_leaves_the_unit_as_it_was(tmp_path, keys, unit, code):
    made = _first(tmp_path, keys, unit)
    before = sorted(p.relative_to(unit) for p in unit.rglob("*") if "runs.log" not in p.name)
    bundle = REFUSALS[code](tmp_path, keys)
    with pytest.raises(UpdateError) as caught:
        made.install(bundle)
    assert caught.value.code == code and caught.value.hint
    after = sorted(p.relative_to(unit) for p in unit.rglob("*") if "runs.log" not in p.name)
    assert after == before and made.slots.state().counter == 1
    assert assert_on_one_complete_slot(unit, keys) == "a"
    assert _runs(unit) == ["a # first"]  # the daemon was never restarted


def test_an_expired_bundle_is_refused_by_the_units_clock(tmp_path, keys, unit):
    _first(tmp_path, keys, unit)
    late = installer(tmp_path, keys, now=NOW + timedelta(days=31))
    with pytest.raises(UpdateError) as caught:
        late.install(write_bundle(tmp_path, keys, 2))
    assert caught.value.code == "expired"


def test_rollback_on_request_goes_back_to_the_other_slot_and_keeps_the_counter(tmp_path, keys,
                                                                               unit):
    made = _first(tmp_path, keys, unit)
    made.install(write_bundle(tmp_path, keys, 2, "second"))
    result = made.rollback()
    assert (result.outcome, result.slot) == ("installed", "a")
    assert made.slots.state().counter == 2 and made.slots.current() == "a"
    with pytest.raises(UpdateError) as caught:  # the counter still protects against rollback
        made.install(write_bundle(tmp_path, keys, 2, "replay"))
    assert caught.value.code == "rollback"


def test_rollback_without_another_slot_says_what_to_do(tmp_path, keys, unit):
    made = _first(tmp_path, keys, unit)
    with pytest.raises(UpdateError) as caught:
        made.rollback()
    assert "update install" in caught.value.hint


def test_a_second_install_while_one_runs_is_refused_busy(tmp_path, keys, unit):
    made = _first(tmp_path, keys, unit)
    with made.slots.locked(), pytest.raises(UpdateError) as caught:
        made.install(write_bundle(tmp_path, keys, 2))
    assert caught.value.code == "busy"
    assert made.slots.state().counter == 1


def test_a_daemon_that_cannot_be_started_is_rolled_back(tmp_path, keys, unit):
    from dataclasses import replace

    from firmware.update.registry import installer_for
    from tests.firmware.update.update_factory import settings

    _first(tmp_path, keys, unit)
    broken = replace(settings(tmp_path, keys), daemon_command=str(tmp_path / "no-such-daemon"))
    result = installer_for(broken, now=lambda: NOW).install(write_bundle(tmp_path, keys, 2))
    assert (result.outcome, result.slot) == ("rolled_back", "a")
    assert "cannot start" in result.detail and (unit / "journal.json").exists() is False
