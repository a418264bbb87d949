"""Review images: imported still sealed, opened only for a reviewer on whose caseload the item
is, every opening audited, and deleted (audited) after their retention."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi.testclient import TestClient
from PIL import Image

from fieldcheck_protocol import review_box
from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import to_ms
from fieldcheck_server.api.app import create_app
from fieldcheck_server.api.casework import CaseworkSettings
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit, people, review, review_images
from fieldcheck_server.domain.ingest import IngestService
from fieldcheck_server.domain.review_scan import scan
from fieldcheck_server.domain.roles import SYSTEM, Principal, Role
from fieldcheck_server.errors import CaseConflict, CaseNotFound, CaseworkError, Forbidden
from tests.fieldcheck_server.casekit import Chain
from tests.fieldcheck_server.operator_client import BASE_URL, FAST, sign_in
from tests.fieldcheck_server.serverkit import LIMITS
from tests.firmware.sync.devicesim import SimDevice

ALICE = Principal(0, "alice", Role.OFFICER)
BOB = Principal(0, "bob", Role.OFFICER)
AUDITOR = Principal(0, "audrey", Role.AUDITOR)
WHEN = datetime(2026, 11, 24, 9, tzinfo=UTC)
DESK = X25519PrivateKey.generate()
DESK_PRIVATE = DESK.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, format="JPEG")
    return out.getvalue()


def _sealed(sim: SimDevice, seq: int, frame: int) -> bytes:
    return review_box.seal(_jpeg(), review_box.public_key_of(DESK_PRIVATE), sim.device_id, seq,
                           frame, WHEN)


@pytest.fixture
def item(db: Database, device: SimDevice, client: TestClient, clock: ManualClock) -> int:
    people.add_person(db, SYSTEM, "C-1", "Ana", [], "alice", 0)
    people.assign(db, SYSTEM, "C-1", device.device_id, 0, "issued")
    chain = Chain(device)
    chain.checkin(WHEN, "no_match", score=0.2)
    chain.upload(client, clock)
    scan(db, to_ms(WHEN + timedelta(hours=1)))
    [found] = review.queue(db, ALICE)
    return found.row.id


def test_a_reviewer_opens_a_sealed_frame_and_it_is_audited(db: Database, device: SimDevice,
                                                           item: int) -> None:
    now = to_ms(WHEN + timedelta(hours=2))
    assert review_images.import_sealed(db, SYSTEM, _sealed(device, 0, 0), now).new
    assert not review_images.import_sealed(db, SYSTEM, _sealed(device, 0, 0), now).new
    assert review_images.frames(db, ALICE, item, now) == [0]
    assert review_images.open_frame(db, ALICE, item, 0, DESK_PRIVATE, now) == _jpeg()
    [opened] = [e for e in audit.newest(db, 20) if e.action == "review.image.open"]
    assert (opened.actor, opened.target) == ("alice", f"{device.device_id}:0")
    with pytest.raises(Forbidden, match="auditor role cannot open"):
        review_images.open_frame(db, AUDITOR, item, 0, DESK_PRIVATE, now)
    with pytest.raises(CaseNotFound):
        review_images.open_frame(db, BOB, item, 0, DESK_PRIVATE, now)
    with pytest.raises(CaseConflict, match="no review desk key"):
        review_images.open_frame(db, ALICE, item, 0, None, now)
    other = X25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw,
                                                      NoEncryption())
    with pytest.raises(CaseConflict, match="cannot be opened"):
        review_images.open_frame(db, ALICE, item, 0, other, now)


def test_frames_expire_after_their_retention(db: Database, device: SimDevice,
                                             item: int) -> None:
    now = to_ms(WHEN + timedelta(hours=2))
    review_images.import_sealed(db, SYSTEM, _sealed(device, 0, 1), now, timedelta(days=1))
    later = to_ms(WHEN + timedelta(days=2))
    with pytest.raises(CaseNotFound, match="none kept, or expired"):
        review_images.open_frame(db, ALICE, item, 1, DESK_PRIVATE, later)
    assert review_images.expire(db, SYSTEM, later) == 1
    assert review_images.expire(db, SYSTEM, later) == 0
    [expired] = [e for e in audit.newest(db, 20) if e.action == "review.image.expire"]
    assert '"deleted":1' in expired.detail
    with pytest.raises(CaseConflict, match="past its retention"):
        review_images.import_sealed(db, SYSTEM, _sealed(device, 0, 2), later, timedelta(days=1))
    with pytest.raises(CaseworkError, match="not a review image"):
        review_images.import_sealed(db, SYSTEM, b"junk", now)


def test_the_image_route_serves_a_reviewer_only(db: Database, device: SimDevice, item: int,
                                                clock: ManualClock) -> None:
    review_images.import_sealed(db, SYSTEM, _sealed(device, 0, 0), to_ms(clock.now()),
                                timedelta(days=3650))
    settings = CaseworkSettings(review_key=DESK_PRIVATE)
    app = create_app(IngestService(db, clock, LIMITS), access=FAST, casework=settings)
    with TestClient(app, base_url=BASE_URL) as web:
        sign_in(web, db, Role.OFFICER, "alice")
        answer = web.get(f"/review/{item}/images/0")
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
        assert answer.content == _jpeg()
        assert f"/review/{item}/images/0" in web.get("/review").text
    with TestClient(app, base_url=BASE_URL) as web:
        sign_in(web, db, Role.AUDITOR)
        assert web.get(f"/review/{item}/images/0", follow_redirects=False).status_code == 403
