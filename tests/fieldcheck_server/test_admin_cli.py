"""`fieldcheck admin ...`: the first admin, accounts, tokens and the audit chain, in-process."""

from pathlib import Path

import pytest
from sqlalchemy import update

from fieldcheck_server.cli import DB_FILE
from fieldcheck_server.db.engine import open_sqlite
from fieldcheck_server.db.tables import audit_log
from fieldcheck_server.domain import audit, tokens
from host_tools.cli import main
from tests.fieldcheck_server.operator_client import PASSWORD


def run(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> tuple[str, str]:
    assert main(list(argv)) == code
    captured = capsys.readouterr()
    return captured.out, captured.err


@pytest.fixture
def server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    directory = tmp_path / "srv"
    run(capsys, "server", "init", "--dir", str(directory))
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    return directory


def _pw(directory: Path) -> str:
    return str(directory.parent / "pw")


def test_the_first_admin_is_made_once(server: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(server)
    out, _ = run(capsys, "admin", "create", "--dir", d, "--username", "ana",
                 "--password-file", _pw(server))
    assert "admin ana created" in out
    _, err = run(capsys, "admin", "create", "--dir", d, "--username", "bob",
                 "--password-file", _pw(server), code=2)
    assert "an admin already exists" in err and "admin user add" in err
    out, _ = run(capsys, "admin", "user", "list", "--dir", d)
    assert "ana" in out and "bob" not in out


def test_a_short_password_or_an_empty_file_is_refused(
    server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = server.parent / "short"
    short.write_text("hunter2\n")
    _, err = run(capsys, "admin", "create", "--dir", str(server), "--username", "ana",
                 "--password-file", str(short), code=2)
    assert "at least 12 characters" in err
    empty = server.parent / "empty"
    empty.write_text("")
    _, err = run(capsys, "admin", "create", "--dir", str(server), "--username", "ana",
                 "--password-file", str(empty), code=2)
    assert "is empty" in err


def test_accounts_change_and_the_last_admin_stays(
    server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d, pw = str(server), _pw(server)
    run(capsys, "admin", "create", "--dir", d, "--username", "ana", "--password-file", pw)
    run(capsys, "admin", "user", "add", "--dir", d, "--username", "olu", "--role", "officer",
        "--password-file", pw)
    _, err = run(capsys, "admin", "user", "disable", "--dir", d, "--username", "ana", code=2)
    assert "last enabled admin" in err
    _, err = run(capsys, "admin", "user", "set-role", "--dir", d, "--username", "ana",
                 "--role", "auditor", code=2)
    assert "last enabled admin" in err
    run(capsys, "admin", "user", "set-role", "--dir", d, "--username", "olu",
        "--role", "technician")
    run(capsys, "admin", "user", "disable", "--dir", d, "--username", "olu")
    out, _ = run(capsys, "admin", "user", "list", "--dir", d)
    assert [line.split()[1:3] + [line.split()[-1]] for line in out.splitlines()] == [
        ["ana", "admin", "enabled"], ["olu", "technician", "disabled"]]
    run(capsys, "admin", "user", "enable", "--dir", d, "--username", "olu")
    out, _ = run(capsys, "admin", "audit", "list", "--dir", d)
    actions = [line.split()[3] for line in out.splitlines()]
    assert actions == ["user.enable", "user.disable", "user.set_role", "user.add", "user.add"]


def test_tokens_are_shown_once_listed_without_secret_and_revoked(
    server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = str(server)
    run(capsys, "admin", "create", "--dir", d, "--username", "ana", "--password-file", _pw(server))
    secret, err = run(capsys, "admin", "token", "create", "--dir", d, "--username", "ana",
                      "--name", "exports", "--role", "auditor")
    secret = secret.strip()
    assert secret.startswith(tokens.PREFIX) and "shown once" in err
    listing, _ = run(capsys, "admin", "token", "list", "--dir", d)
    assert secret not in listing and secret[:12] in listing and "auditor" in listing
    db = open_sqlite(server / DB_FILE)
    assert tokens.resolve(db, secret, 10) is not None
    run(capsys, "admin", "token", "revoke", "--dir", d, "--id", "1")
    assert tokens.resolve(db, secret, 20) is None
    _, err = run(capsys, "admin", "token", "revoke", "--dir", d, "--id", "1", code=2)
    assert "no unrevoked token 1" in err


def test_audit_verify_finds_an_altered_entry(
    server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = str(server)
    run(capsys, "admin", "create", "--dir", d, "--username", "ana", "--password-file", _pw(server))
    run(capsys, "admin", "user", "add", "--dir", d, "--username", "tec", "--role", "technician",
        "--password-file", _pw(server))
    out, _ = run(capsys, "admin", "audit", "verify", "--dir", d)
    assert "audit chain intact: 2 entries" in out
    db = open_sqlite(server / DB_FILE)
    with db.write() as tx:
        tx.connection.execute(
            update(audit_log).where(audit_log.c.seq == 1).values(target="mallory")
        )
    out, _ = run(capsys, "admin", "audit", "verify", "--dir", d, code=1)
    assert "BROKEN after 0 good entries: entry 1 was altered" in out
    assert not audit.verify(db).ok


def test_registry_commands_are_audited_as_the_cli_user(
    server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.firmware.sync.devicesim import SimDevice

    sim = SimDevice()
    run(capsys, "device", "register", "--dir", str(server), "--id", sim.device_id,
        "--public-key", sim.public_key.hex())
    run(capsys, "device", "revoke", "--dir", str(server), "--id", sim.device_id,
        "--reason", "lost in the field")
    entries = audit.newest(open_sqlite(server / DB_FILE), 10)
    assert [(e.action, e.target) for e in entries] == [
        ("device.revoked", sim.device_id), ("device.registered", sim.device_id)]
    assert entries[0].actor.startswith("cli:") and "lost in the field" in entries[0].detail


def test_an_admin_sets_a_new_password(server: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(server)
    run(capsys, "admin", "create", "--dir", d, "--username", "ana", "--password-file", _pw(server))
    new = server.parent / "new"
    new.write_text("another long passphrase\n")
    out, _ = run(capsys, "admin", "user", "password", "--dir", d, "--username", "ana",
                 "--password-file", str(new))
    assert "new password set for ana" in out
    from fieldcheck_server.domain import accounts
    from fieldcheck_server.domain.accounts import AccessSettings
    from fieldcheck_server.errors import AccessDenied

    db, settings = open_sqlite(server / DB_FILE), AccessSettings()
    row = accounts.authenticate(db, settings, "ana", "another long passphrase", 1)
    assert row.username == "ana"
    with pytest.raises(AccessDenied):
        accounts.authenticate(db, settings, "ana", PASSWORD, 2)
