"""``offer_update`` on the unit: fetched over the pinned HTTPS client from a real loopback TLS
server, checked against the command's sha256 and the pinned root key, queued for the installer."""

import datetime
import hashlib
import http.server
import ssl
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.command import Command, CommandKind, Outcome, Reason, sign_command
from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import public_key_bytes, unverified_record
from fieldcheck_server import tls
from firmware.app.update_offer import update_taker
from firmware.cli import main
from firmware.services.command_state import CommandState
from firmware.services.commands import CommandRefused, CommandService, offer_update_action
from firmware.sync.backends import https
from firmware.update.base import UpdateError
from firmware.update.registry import PENDING_BUNDLE, UpdateSettings
from tests.fieldcheck_protocol.bundle_factory import Keys
from tests.firmware.services.checkin_fakes import ledger_for, opened_store
from tests.firmware.update.update_factory import root_key_file, write_bundle


class _Server:
    """An HTTPS server on 127.0.0.1 serving files from one folder."""

    def __init__(self, folder: Path, cert_dir: Path) -> None:
        handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(  # noqa: E731
            *a, directory=str(folder), **kw)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_dir / tls.CERT_FILE, cert_dir / tls.KEY_FILE)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"https://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _cert(folder: Path) -> tuple[Path, str]:
    folder.mkdir()
    fingerprint = tls.generate(folder, ("127.0.0.1",), datetime.datetime.now(datetime.UTC))
    return folder, fingerprint


@pytest.fixture
def served(tmp_path):
    cert_dir, fingerprint = _cert(tmp_path / "srv")
    public = tmp_path / "public"
    public.mkdir()
    server = _Server(public, cert_dir)
    yield public, server, https.Config(url=server.url(""), server_cert=cert_dir / tls.CERT_FILE,
                                       fingerprint=fingerprint, timeout_s=10.0)
    server.close()


def _taker(tmp_path, keys, sync):
    settings = UpdateSettings(root=tmp_path / "unit", root_key=root_key_file(tmp_path, keys))
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return update_taker(sync, data, settings), data / PENDING_BUNDLE


def _publish(public: Path, bundle: Path) -> str:
    (public / bundle.name).write_bytes(bundle.read_bytes())
    return hashlib.sha256(bundle.read_bytes()).hexdigest()


def test_an_offered_bundle_is_fetched_verified_and_queued(tmp_path, served):
    public, server, sync = served
    keys = Keys()
    bundle = write_bundle(tmp_path, keys, 4, "offered", days=3650)
    digest = _publish(public, bundle)
    take, pending = _taker(tmp_path, keys, sync)
    details = take(server.url(bundle.name), digest)
    assert details == {"version": "0.4.0", "counter": 4, "install": "queued"}
    assert pending.read_bytes() == bundle.read_bytes()


def test_a_bundle_whose_bytes_differ_from_the_commands_sha256_is_not_kept(tmp_path, served):
    public, server, sync = served
    keys = Keys()
    bundle = write_bundle(tmp_path, keys, 4, days=3650)
    _publish(public, bundle)
    take, pending = _taker(tmp_path, keys, sync)
    with pytest.raises(UpdateError, match="sha256"):
        take(server.url(bundle.name), "0" * 64)
    assert not pending.exists() and not list(pending.parent.iterdir())


def test_a_bundle_from_other_keys_is_refused_invalid_value(tmp_path, served):
    public, server, sync = served
    keys = Keys()
    bundle = write_bundle(tmp_path, Keys(), 4, days=3650)
    digest = _publish(public, bundle)
    take, pending = _taker(tmp_path, keys, sync)
    with pytest.raises(CommandRefused) as caught:
        take(server.url(bundle.name), digest)
    assert caught.value.reason is Reason.INVALID_VALUE and "wrong_root" in caught.value.detail
    assert not pending.exists()


def test_a_server_with_another_certificate_is_not_trusted(tmp_path, served):
    public, server, sync = served
    keys = Keys()
    other_dir, other_fp = _cert(tmp_path / "other")
    pinned_elsewhere = https.Config(url=sync.url, server_cert=other_dir / tls.CERT_FILE,
                                    fingerprint=other_fp, timeout_s=5.0)
    bundle = write_bundle(tmp_path, keys, 4, days=3650)
    digest = _publish(public, bundle)
    take, pending = _taker(tmp_path, keys, pinned_elsewhere)
    with pytest.raises(UpdateError, match="cannot fetch"):
        take(server.url(bundle.name), digest)
    assert not pending.exists()


def test_without_a_pinned_root_key_there_is_no_taker(tmp_path, served):
    _public, _server, sync = served
    settings = UpdateSettings(root=tmp_path / "unit", root_key=tmp_path / "missing.pub")
    assert update_taker(sync, tmp_path, settings) is None


def test_a_signed_offer_is_answered_done_and_the_queued_bundle_installs(tmp_path, served):
    """The whole channel: signed command -> fetch -> verify -> queue -> answer; then the root
    installer consumes the queue exactly like a technician's install."""
    public, server, sync = served
    keys = Keys()
    bundle = write_bundle(tmp_path, keys, 4, "offered", days=3650)
    digest = _publish(public, bundle)
    take, pending = _taker(tmp_path, keys, sync)
    clock = ManualClock(wall=datetime.datetime.now(datetime.UTC), mono=1.0)
    store_iter = opened_store(tmp_path, clock)
    store = next(store_iter)
    ledger = ledger_for(store, clock)
    server_key = Ed25519PrivateKey.generate()
    service = CommandService(public_key_bytes(server_key), ledger.device_id,
                             CommandState(tmp_path / "data"), ledger, clock,
                             {CommandKind.OFFER_UPDATE: offer_update_action(take)})
    now = clock.now()
    command = Command("up1", ledger.device_id, 1, now, now + datetime.timedelta(hours=1),
                      CommandKind.OFFER_UPDATE, {"url": server.url(bundle.name), "sha256": digest})
    (answered,) = service.handle([sign_command(command, server_key)])
    assert answered.outcome is Outcome.DONE
    events = [unverified_record(r.cose).body for r in store.records()
              if unverified_record(r.cose).kind is Kind.EVENT]
    details = [e["details"] for e in events if e["type"] == "command"][0]
    assert (details["version"], details["counter"], details["install"]) == ("0.4.0", 4, "queued")
    assert main(["update", "install", "--consume", "--root", str(tmp_path / "unit"),
                 "--root-key", str(root_key_file(tmp_path, keys)), "--service", "none",
                 "--setup", "files", str(pending)]) == 0
    assert not pending.exists() and (tmp_path / "unit" / "current").resolve().name == "a"
    for _ in store_iter:
        pass
