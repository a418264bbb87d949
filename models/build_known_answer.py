"""Write ``models/known_answer.json``: the embedder's output for the self-test's pattern chip.

Run after a model build (``python -m models.build_known_answer``); the unit's self-test
(``fieldcheck-device selftest``) embeds the same chip and compares.
"""

import argparse
import json
import logging
from pathlib import Path

from firmware.face import manifest
from firmware.face.backends.runner import TfliteRunner
from firmware.face.pipeline import Embedder
from firmware.services.model_check import ANSWER_FILE, FORMAT, pattern_chip

logger = logging.getLogger(__name__)

#: Euclidean distance allowed between runtimes (LiteRT vs tflite_runtime, int8 rounding);
#: the parity figures in the manifest stay below 0.02 on real faces.
MAX_DISTANCE = 0.05


def build(models_dir: Path) -> dict[str, object]:
    """The known answer for the embedder in ``models_dir``."""
    spec = manifest.load(models_dir).model(manifest.EMBEDDER)
    embedding = Embedder(TfliteRunner(spec), spec).embed(pattern_chip())
    return {"format": FORMAT, "embedder_sha256": spec.sha256,
            "chip": "firmware.services.model_check.pattern_chip(150)",
            "max_distance": MAX_DISTANCE,
            "embedding": [round(float(v), 6) for v in embedding]}


def main() -> None:
    """Write the file beside the manifest."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models-dir", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = args.models_dir / ANSWER_FILE
    path.write_text(json.dumps(build(args.models_dir), indent=1) + "\n", encoding="utf-8")
    logger.info("wrote %s", path)


if __name__ == "__main__":
    main()
