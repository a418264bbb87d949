"""Verification accuracy figures from labelled pair distances: accuracy, FMR, FNMR, EER, ROC.

With each rate its 95 % Wilson score interval, the failure-to-acquire rate (images that gave no
usable face), and a warning when a group has too few pairs for its figures to say anything.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from firmware.errors import VerifyError

#: Decision values of a pairs CSV (case and surrounding spaces ignored).
SAME = ("yes", "y", "true", "1", "same", "genuine", "match")
DIFFERENT = ("no", "n", "false", "0", "different", "impostor", "no_match")
#: Fewer usable genuine or impostor pairs than this in a group draws a warning: with 30 pairs
#: and no error, the 95 % upper bound on the rate is still about 11 %.
MIN_PAIRS = 30
#: z of the two-sided 95 % interval.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class PairScore:
    """One labelled pair: its distance (``None`` when an image gave no usable face)."""

    file_x: str
    file_y: str
    same: bool
    distance: float | None
    group: str = ""
    guidance: str | None = None
    #: The pair's images that gave no usable face (for the failure-to-acquire rate).
    unusable_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Figures:
    """Accuracy figures over the pairs that produced a distance (``pairs``; ``unusable`` pairs
    are not in any rate but the failure-to-acquire rate ``fta`` over distinct images)."""

    pairs: int
    unusable: int
    accuracy: float | None
    fmr: float | None
    fnmr: float | None
    best_threshold: float | None
    best_accuracy: float | None
    eer: float | None
    eer_threshold: float | None
    genuine: int = 0
    impostor: int = 0
    fmr_ci95: tuple[float, float] | None = None
    fnmr_ci95: tuple[float, float] | None = None
    images: int = 0
    fta: float | None = None
    fta_ci95: tuple[float, float] | None = None
    warnings: tuple[str, ...] = ()


def parse_decision(text: str, where: str) -> bool:
    """True for a genuine pair, False for an impostor pair; anything else is an error."""
    value = text.strip().lower()
    if value in SAME:
        return True
    if value in DIFFERENT:
        return False
    raise VerifyError(f"{where}: decision {text!r} is neither same nor different",
                      f"write one of {', '.join(SAME)} or {', '.join(DIFFERENT)}")


def wilson(errors: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a rate of ``errors`` in ``trials`` (None without trials)."""
    if trials <= 0:
        return None
    p = errors / trials
    scale = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / scale
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / scale
    low = 0.0 if errors == 0 else max(0.0, centre - half)  # exact ends, not rounding noise
    high = 1.0 if errors == trials else min(1.0, centre + half)
    return low, high


Interval = tuple[float, float]


def acquisition(scores: Sequence[PairScore]) -> tuple[int, float | None, Interval | None]:
    """(distinct images, failure-to-acquire rate, its interval) over the pairs' images."""
    files = {name for s in scores for name in (s.file_x, s.file_y)}
    failed = {name for s in scores for name in s.unusable_files}
    if not files:
        return 0, None, None
    return len(files), len(failed) / len(files), wilson(len(failed), len(files))


def small_sample_warnings(genuine: int, impostor: int, minimum: int = MIN_PAIRS) -> tuple[str, ...]:
    """What the figures cannot say when there are too few genuine or impostor pairs."""
    found = []
    for name, count, rate in (("genuine", genuine, "FNMR"), ("impostor", impostor, "FMR")):
        if count == 0:
            found.append(f"no usable {name} pairs: no {rate}")
        elif count < minimum:
            upper = 1 - 0.05 ** (1 / count)  # exact one-sided bound with no error seen
            found.append(f"only {count} usable {name} pair(s): even with no error seen, the "
                         f"{rate} could be as high as {upper:.0%} (95 % confidence); use at "
                         f"least {minimum}")
    return tuple(found)


def rates(distances: np.ndarray, same: np.ndarray, threshold: float) -> tuple[float, float]:
    """(false match rate, false non-match rate) at ``threshold`` (match when distance < it)."""
    match = distances < threshold
    diff, genuine = ~same, same
    fmr = float(match[diff].mean()) if diff.any() else 0.0
    fnmr = float((~match[genuine]).mean()) if genuine.any() else 0.0
    return fmr, fnmr


def figures(scores: Sequence[PairScore], threshold: float) -> Figures:
    """Every figure at the given threshold, plus the best threshold and the equal error rate."""
    usable = [s for s in scores if s.distance is not None]
    images, fta, fta_ci = acquisition(scores)
    if not usable:
        return Figures(0, len(scores), None, None, None, None, None, None, None, images=images,
                       fta=fta, fta_ci95=fta_ci, warnings=small_sample_warnings(0, 0))
    distances = np.array([s.distance for s in usable], dtype=np.float64)
    same = np.array([s.same for s in usable], dtype=bool)
    fmr, fnmr = rates(distances, same, threshold)
    genuine, impostor = int(same.sum()), int((~same).sum())
    false_matches = int((distances[~same] < threshold).sum())
    false_non_matches = int((distances[same] >= threshold).sum())
    candidates = candidate_thresholds(distances)
    accuracies = np.array([((distances < t) == same).mean() for t in candidates])
    # Among equally good thresholds, report the one nearest the configured threshold.
    best = max(range(len(candidates)),
               key=lambda i: (accuracies[i], -abs(candidates[i] - threshold)))
    pairs = np.array([rates(distances, same, t) for t in candidates])
    gap = np.abs(pairs[:, 0] - pairs[:, 1])
    at = int(gap.argmin())
    return Figures(
        pairs=len(usable),
        unusable=len(scores) - len(usable),
        accuracy=float(((distances < threshold) == same).mean()),
        fmr=fmr,
        fnmr=fnmr,
        best_threshold=float(candidates[best]),
        best_accuracy=float(accuracies[best]),
        eer=float(pairs[at].mean()),
        eer_threshold=float(candidates[at]),
        genuine=genuine,
        impostor=impostor,
        fmr_ci95=wilson(false_matches, impostor),
        fnmr_ci95=wilson(false_non_matches, genuine),
        images=images,
        fta=fta,
        fta_ci95=fta_ci,
        warnings=small_sample_warnings(genuine, impostor),
    )


def plot_title(result: Figures, threshold: float) -> str:
    """The ROC plot's title, counting pairs exactly as the JSON report does."""
    return (f"ROC, {result.pairs} usable pairs ({result.unusable} unusable), "
            f"threshold {threshold:.3f}")


def candidate_thresholds(distances: np.ndarray) -> np.ndarray:
    """Midpoints between sorted distances, plus one below and one above them all."""
    ordered = np.unique(distances)
    mids = (ordered[:-1] + ordered[1:]) / 2
    return np.concatenate([[ordered[0] - 1e-6], mids, [ordered[-1] + 1e-6]])


def roc(scores: Sequence[PairScore]) -> list[tuple[float, float]]:
    """(FMR, 1 - FNMR) points over every candidate threshold, for a ROC plot."""
    usable = [s for s in scores if s.distance is not None]
    if not usable:
        return []
    distances = np.array([s.distance for s in usable], dtype=np.float64)
    same = np.array([s.same for s in usable], dtype=bool)
    points = [rates(distances, same, t) for t in candidate_thresholds(distances)]
    return sorted((fmr, 1.0 - fnmr) for fmr, fnmr in points)
