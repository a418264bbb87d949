"""``fieldcheck-device enroll``: captures from the unit's camera, ``--replace`` to enrol over
the wearer, a signed ``enrollment`` event naming the old and new templates."""

import json
import shutil
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.signature import unverified_record
from firmware import cli
from firmware.config import load
from firmware.store.backends.sqlite import Config
from firmware.store.identity import create_identity

MODELS = Path(__file__).resolve().parents[3] / "models"


@pytest.fixture(scope="module")
def images() -> Path:
    from host_tools import sample_faces

    try:
        return sample_faces.images_dir()
    except FileNotFoundError as err:
        pytest.skip(f"sample photos unavailable: {err}")


def unit(tmp_path: Path, images: Path, liveness: bool = False) -> Path:
    camera = tmp_path / "camera"
    camera.mkdir(exist_ok=True)
    for name in ("obama", "obama2"):
        shutil.copy(images / f"{name}.jpg", camera / f"{name}.jpg")
    path = tmp_path / "device.toml"
    path.write_text(
        f'[device]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[camera]\ntype = "replay"\nfolder = "{camera}"\n'
        f'[face]\ntype = "tflite"\nmodels_dir = "{MODELS}"\n'
        f'[checkin.liveness]\nenabled = {str(liveness).lower()}\nlead_s = 0.0\nframes = 2\n')
    create_identity(tmp_path / "data")
    return path


def events(config: Path) -> list:  # noqa: ANN201 - records
    loaded = load(config)
    from firmware.store.identity import load_identity

    data = loaded.device.data_dir
    store = loaded.store.module.create(Config(), data_dir=data, identity=load_identity(data),
                                       clock=SystemClock())
    store.start()
    try:
        return [r for r in map(unverified_record, (x.cose for x in store.records()))
                if r.body.get("type") == "enrollment"]
    finally:
        store.stop()


def test_enrol_from_the_camera_then_replace_only_when_asked(tmp_path, images, capsys) -> None:
    config = unit(tmp_path, images)
    assert cli.main(["enroll", "--config", str(config), "--captures", "2", "--json"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert first["old_template"] is None and first["captures"] == 2
    assert first["liveness"] == "off"

    assert cli.main(["enroll", "--config", str(config), "--captures", "2"]) != 0
    assert "--replace" in capsys.readouterr().err  # the wearer is not silently replaced

    assert cli.main(["enroll", "--config", str(config), "--captures", "1", "--replace",
                     "--json"]) == 0
    second = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert second["old_template"] == first["new_template"]
    assert second["new_template"] != first["new_template"]
    recorded = events(config)
    assert [e.body["details"]["new_template"] for e in recorded] == [
        first["new_template"], second["new_template"]]
    assert recorded[1].body["details"]["old_template"] == first["new_template"]


def test_with_liveness_on_photos_cannot_enrol(tmp_path, images, capsys) -> None:
    config = unit(tmp_path, images, liveness=True)
    assert cli.main(["enroll", "--config", str(config), "--captures", "1"]) != 0
    out, err = capsys.readouterr()
    assert "not live" in out and "too few captures" in err
    assert events(config) == []
