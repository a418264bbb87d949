"""TOTP seeds are sealed at rest: the database alone gives no second factor."""

from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select, update

from fieldcheck_server import secret_box
from fieldcheck_server.cli import DB_FILE
from fieldcheck_server.db.engine import Database, open_sqlite
from fieldcheck_server.db.tables import users
from fieldcheck_server.domain import accounts
from fieldcheck_server.domain.accounts import AccessSettings
from fieldcheck_server.domain.roles import SYSTEM, Role
from fieldcheck_server.errors import AccessDenied, AccountError
from fieldcheck_server.secret_box import SealError, SecretBox
from host_tools.cli import main
from tests.fieldcheck_server.operator_client import FAST, make_user

NOW_MS = 1_780_000_000_000


def _stored(db: Database, user_id: int) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(select(users.c.totp_secret).where(users.c.id == user_id))
                   .scalar_one())


def _code(uri: str, at_ms: int = NOW_MS) -> str:
    return pyotp.parse_uri(uri).at(at_ms // 1000)


def test_the_stored_seed_is_sealed_and_still_checks(db: Database) -> None:
    user = make_user(db, Role.OFFICER)
    uri = accounts.enable_totp(db, FAST, user.username, 0, SYSTEM)
    seed = pyotp.parse_uri(uri).secret
    stored = _stored(db, user.id)
    assert stored.startswith(secret_box.PREFIX) and seed not in stored
    accounts.check_totp(db, FAST, user.id, _code(uri), NOW_MS)


def test_a_sealed_seed_opens_neither_under_another_key_nor_on_another_row(db: Database) -> None:
    first, second = make_user(db, Role.OFFICER), make_user(db, Role.OFFICER)
    uri = accounts.enable_totp(db, FAST, first.username, 0, SYSTEM)
    accounts.enable_totp(db, FAST, second.username, 0, SYSTEM)
    other_key = AccessSettings(hasher=FAST.hasher, secrets=SecretBox(bytes(32)))
    with pytest.raises(AccessDenied, match="reset it"):
        accounts.check_totp(db, other_key, first.id, _code(uri), NOW_MS)
    with db.engine.begin() as conn:  # the first account's sealed seed copied onto the second
        conn.execute(update(users).where(users.c.id == second.id)
                     .values(totp_secret=_stored(db, first.id)))
    with pytest.raises(AccessDenied, match="reset it"):
        accounts.check_totp(db, FAST, second.id, _code(uri), NOW_MS)


def test_a_plain_seed_from_an_older_server_is_sealed_on_its_first_good_code(db: Database) -> None:
    user = make_user(db, Role.OFFICER)
    seed = pyotp.random_base32()
    with db.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user.id).values(totp_secret=seed))
    accounts.check_totp(db, FAST, user.id, pyotp.TOTP(seed).at(NOW_MS // 1000), NOW_MS)
    stored = _stored(db, user.id)
    assert secret_box.is_sealed(stored) and seed not in stored
    assert FAST.secrets is not None and FAST.secrets.open(stored, f"totp:{user.id}") == seed


def test_enrolment_without_the_key_is_refused(db: Database) -> None:
    user = make_user(db, Role.OFFICER)
    with pytest.raises(AccountError, match="secrets key"):
        accounts.enable_totp(db, AccessSettings(hasher=FAST.hasher), user.username, 0, SYSTEM)


def test_a_damaged_value_is_a_seal_error() -> None:
    box = SecretBox(bytes(range(32)))
    sealed = box.seal("JBSWY3DPEHPK3PXP", "totp:1")
    assert box.open(sealed, "totp:1") == "JBSWY3DPEHPK3PXP"
    damaged = sealed[:-2] + ("AA" if not sealed.endswith("AA") else "BB")
    for bad in (damaged, secret_box.PREFIX + "!!", "JBSWY3DPEHPK3PXP"):
        with pytest.raises(SealError):
            box.open(bad, "totp:1")


def test_the_cli_creates_a_private_key_file_and_seals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = tmp_path / "server"
    password = tmp_path / "pw"
    password.write_text("correct horse battery staple\n")
    assert main(["server", "init", "--dir", str(server)]) == 0
    assert main(["admin", "create", "--dir", str(server), "--username", "ana",
                 "--password-file", str(password)]) == 0
    assert main(["admin", "user", "totp", "--dir", str(server), "--username", "ana"]) == 0
    uri = capsys.readouterr().out.strip().splitlines()[-1]
    key_file = server / secret_box.KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    db = open_sqlite(server / DB_FILE)
    row = accounts.users(db)[0]
    settings = AccessSettings(hasher=FAST.hasher, secrets=secret_box.load_or_create(server))
    assert row.totp_secret is not None and pyotp.parse_uri(uri).secret not in row.totp_secret
    accounts.check_totp(db, settings, row.id, _code(uri), NOW_MS)
    key_file.write_text("not hex\n")
    with pytest.raises(Exception, match="restore it from the server's backup"):
        secret_box.load_or_create(server)
