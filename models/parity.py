"""Parity of a TFLite embedder with dlib's own descriptors, measured with the device runtime."""

import itertools
import statistics
import time
from typing import Any

import numpy as np

from models import chips, resnet
from models.dlib_reader import DlibNet


def interpreter(model: bytes, threads: int = 1) -> Any:
    """An ai-edge-litert interpreter over model bytes, tensors allocated."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=model, num_threads=threads)
    runner.allocate_tensors()
    return runner


def embed(runner: Any, normalised: np.ndarray) -> np.ndarray:
    """Embeddings of a batch of normalised chips, one invoke per chip, dequantized to float."""
    inp, out = runner.get_input_details()[0], runner.get_output_details()[0]
    rows = []
    for chip in normalised:
        runner.set_tensor(inp["index"], _quantize(chip[None].astype(np.float32), inp))
        runner.invoke()
        rows.append(_dequantize(runner.get_tensor(out["index"])[0], out))
    return np.array(rows)


def _quantize(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    scale, zero_point = detail["quantization"]
    if detail["dtype"] == np.float32:
        return x
    info = np.iinfo(detail["dtype"])
    q = np.round(x / scale + zero_point)
    return np.clip(q, info.min, info.max).astype(detail["dtype"])


def _dequantize(q: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    scale, zero_point = detail["quantization"]
    if detail["dtype"] == np.float32:
        return q.astype(np.float64)
    return (q.astype(np.float64) - zero_point) * scale


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity."""
    return np.asarray((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))


def pair_distances(e: np.ndarray) -> np.ndarray:
    """Euclidean distance of every unordered pair of rows, in itertools.combinations order."""
    return np.array([np.linalg.norm(e[i] - e[j]) for i, j in
                     itertools.combinations(range(len(e)), 2)])


def compare(ours: np.ndarray, reference: np.ndarray, threshold: float) -> dict[str, Any]:
    """Cosine agreement per chip and same/different decisions per pair, against dlib's."""
    cos = cosines(ours, reference)
    d_ours, d_ref = pair_distances(ours), pair_distances(reference)
    flipped = int(((d_ours < threshold) != (d_ref < threshold)).sum())
    return {
        "chips": len(ours),
        "cosine_min": round(float(cos.min()), 6),
        "cosine_mean": round(float(cos.mean()), 6),
        "pairs": len(d_ref),
        "same_pairs_dlib": int((d_ref < threshold).sum()),
        "decisions_flipped": flipped,
        "distance_abs_diff_max": round(float(np.abs(d_ours - d_ref).max()), 6),
        "dlib_closest_distance_to_threshold": round(float(np.abs(d_ref - threshold).min()), 6),
    }


def latency_ms(runner: Any, normalised: np.ndarray, repeats: int = 20) -> float:
    """Median single-chip latency in milliseconds (informative only; benchmarks own targets)."""
    embed(runner, normalised[:2])  # warm-up: the first invokes allocate and pack weights
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        embed(runner, normalised[:1])
        times.append(time.perf_counter() - start)
    return round(1000 * statistics.median(times), 2)


def measure(model: bytes, net: DlibNet, sample: list[chips.Chip],
            held_out: np.ndarray) -> dict[str, Any]:
    """Parity on the sample photos' chips and on held-out augmented chips, plus latency."""
    from ai_edge_litert import __version__ as litert_version

    runner = interpreter(model)
    base = np.stack([c.pixels for c in sample])
    threshold = net.distance_threshold
    figures: dict[str, Any] = {
        "runtime": f"ai-edge-litert {litert_version}, 1 thread",
        "reference": "dlib-bin face_recognition_model_v1.compute_face_descriptor on the chip",
        "threshold": round(threshold, 6),
        "chips": [f"{c.source}#{c.face}" for c in sample],
    }
    for name, batch in (("sample_chips", base), ("held_out_augmented", held_out)):
        reference = chips.dlib_descriptors(list(batch))
        ours = embed(runner, resnet.normalise(batch, net.mean_rgb))
        figures[name] = compare(ours, reference, threshold)
    return figures


def summary(figures: dict[str, Any]) -> dict[str, Any]:
    """The few numbers that tell variants apart (the wide set's when it was measured)."""
    out = {
        "cosine_min": figures["sample_chips"]["cosine_min"],
        "held_out_cosine_min": figures["held_out_augmented"]["cosine_min"],
        "decisions_flipped": figures["sample_chips"]["decisions_flipped"]
        + figures["held_out_augmented"]["decisions_flipped"],
    }
    wide = figures.get("wide_held_out")
    if wide:
        out |= {"wide_cosine_min": wide["all"]["cosine_min"],
                "wide_cosine_p1": wide["all"]["cosine_p1"],
                "wide_decisions_flipped": wide["decisions_flipped"]}
    return out


def rank(figures: dict[str, Any]) -> tuple[int, float]:
    """Sort key, best last: fewer flipped decisions, then closer cosine.

    Latency is left out on purpose: it is noisy, and a rebuild must pick the same variant;
    ties go to the first variant listed (the cheaper one).
    """
    s = summary(figures)
    flipped = s["decisions_flipped"] + s.get("wide_decisions_flipped", 0)
    closest = min(s["cosine_min"], s["held_out_cosine_min"], s.get("wide_cosine_min", 1.0))
    return (-flipped, round(closest, 4))
