"""``fieldcheck-device checkin now`` after ``face enroll``, on real photos and a real store."""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import unverified_record
from firmware import cli
from firmware.config import load
from firmware.errors import ConfigError
from firmware.store.backends.sqlite import Config
from firmware.store.identity import create_identity

MODELS = Path(__file__).resolve().parents[3] / "models"


@pytest.fixture(scope="module")
def images() -> Path:
    from host_tools import sample_faces

    if not (MODELS / "manifest.json").is_file():
        pytest.skip("models/manifest.json not present")
    try:
        return sample_faces.images_dir()
    except FileNotFoundError as err:
        pytest.skip(f"sample photos unavailable: {err}")


def write_config(tmp_path: Path, camera: Path, liveness: bool = False) -> Path:
    """A unit on a replay camera; liveness off unless asked (a photo folder is not live)."""
    path = tmp_path / "device.toml"
    path.write_text(
        f'[device]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[camera]\ntype = "replay"\nfolder = "{camera}"\n'
        f'[face]\ntype = "tflite"\nmodels_dir = "{MODELS}"\n'
        '[checkin]\nburst_frames = 1\nattempts = 1\n'
        f'[checkin.liveness]\nenabled = {str(liveness).lower()}\nlead_s = 0.0\n'
    )
    return path


def records_of(config: Path, data: Path, identity) -> list:  # noqa: ANN001 - DeviceIdentity
    store = load(config).store.module.create(
        Config(), data_dir=data, identity=identity, clock=SystemClock())
    store.start()
    try:
        return [unverified_record(r.cose) for r in store.records()]
    finally:
        store.stop()


def test_with_liveness_on_a_photo_of_the_enrolled_wearer_is_refused_for_review(
        tmp_path, images, capsys) -> None:
    data = tmp_path / "data"
    identity = create_identity(data)
    camera = tmp_path / "camera"
    camera.mkdir()
    shutil.copy(images / "obama3.jpg", camera / "a.jpg")  # the same print, frame after frame
    assert cli.main(["face", "enroll", str(images / "obama.jpg"), str(images / "obama2.jpg"),
                     "--data-dir", str(data), "--models", str(MODELS)]) == 0
    capsys.readouterr()
    config = write_config(tmp_path, camera, liveness=True)
    assert cli.main(["checkin", "now", "--config", str(config), "--json"]) == 0
    receipt = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert receipt["outcome"] == "liveness_failed" and receipt["guidance"] == "liveness_failed"
    (record,) = records_of(config, data, identity)
    assert record.body["verdict"] == "liveness_failed"
    assert record.body["liveness_result"] == "failed"
    assert record.body["liveness_reason"] == "frozen_burst"
    assert record.body["challenge"] in ("blink", "turn_left", "turn_right")
    assert record.body["score"] > 0.5  # the face itself matches: a reviewer sees both


def test_enrol_then_check_in_prints_the_receipt_of_the_committed_record(
        tmp_path, images, capsys) -> None:
    data = tmp_path / "data"
    identity = create_identity(data)
    camera = tmp_path / "camera"
    camera.mkdir()
    shutil.copy(images / "obama3.jpg", camera / "a.jpg")
    unit = ["--data-dir", str(data), "--models", str(MODELS)]
    assert cli.main(["face", "enroll", str(images / "obama.jpg"), str(images / "obama2.jpg"),
                     *unit]) == 0
    assert (data / "face-template.fct").is_file()
    assert not (data / "face-template.key").exists()  # the key is not beside the template
    capsys.readouterr()
    config = write_config(tmp_path, camera)
    assert cli.main(["checkin", "now", "--config", str(config), "--json"]) == 0
    receipt = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert receipt["outcome"] == "match" and receipt["trigger"] == "manual"
    assert receipt["with_fix"] is False and receipt["attempts"] == 1

    store = load(config).store.module.create(
        Config(), data_dir=data, identity=identity, clock=SystemClock())
    store.start()
    try:
        (record,) = [unverified_record(r.cose) for r in store.records()]
    finally:
        store.stop()
    assert record.kind is Kind.CHECKIN and record.seq == receipt["seq"]
    assert record.body["verdict"] == "match" and record.fix is None


def test_check_in_before_enrolment_records_unknown_and_says_so(tmp_path, images, capsys):
    create_identity(tmp_path / "data")
    config = write_config(tmp_path, images)
    assert cli.main(["checkin", "now", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "no enrolled face" in out and "guidance: not_enrolled" in out


def test_config_errors_name_the_section(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[camera]\ntype = "webcam"\n')
    with pytest.raises(ConfigError, match=r"\[camera\] type = 'webcam' is not a known backend"):
        load(bad)
    if importlib.util.find_spec("picamera2") is None:  # the default backend is a real unit's
        bad.write_text('[camera]\nfolder = "x"\n')
        with pytest.raises(ConfigError, match="needs picamera2, which is not installed"):
            load(bad)
    bad.write_text('[camera]\ntype = "replay"\n[checkin]\nattempts = "three"\n')
    with pytest.raises(ConfigError, match="checkin.attempts: expected a whole number"):
        load(bad)
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "missing.toml")


def test_face_commands_take_the_config_file(tmp_path, images, capsys) -> None:
    """`face enroll|verify --config` use the configured data dir, template paths and models."""
    data = tmp_path / "data"
    create_identity(data)
    camera = tmp_path / "camera"
    camera.mkdir()
    shutil.copy(images / "obama3.jpg", camera / "a.jpg")
    config = write_config(tmp_path, camera)
    text = config.read_text().replace(
        "[checkin]\n", '[checkin]\ntemplate_file = "person.fct"\nkey_file = "person.key"\n')
    config.write_text(text)
    photos = [str(images / "obama.jpg"), str(images / "obama2.jpg")]
    assert cli.main(["face", "enroll", *photos, "--config", str(config)]) == 0
    assert (data / "person.fct").is_file() and (data / "person.key").is_file()
    assert not (data / "face-template.fct").exists()
    probe = str(images / "obama3.jpg")
    assert cli.main(["face", "verify", probe, "--config", str(config)]) == 0
    strict = tmp_path / "strict.toml"
    strict.write_text(text.replace("[face]\n", "[face]\nthreshold = 0.0001\n"))
    assert cli.main(["face", "verify", probe, "--config", str(strict)]) == 1  # its threshold
    capsys.readouterr()
    assert cli.main(["checkin", "now", "--config", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["outcome"] == "match"
