"""Verification accuracy figures from labelled pair distances: accuracy, FMR, FNMR, EER, ROC."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairScore:
    """One labelled pair: its distance (``None`` when an image gave no usable face)."""

    file_x: str
    file_y: str
    same: bool
    distance: float | None
    group: str = ""
    guidance: str | None = None


@dataclass(frozen=True)
class Figures:
    """Accuracy figures over the pairs that produced a distance."""

    pairs: int
    unusable: int
    accuracy: float | None
    fmr: float | None
    fnmr: float | None
    best_threshold: float | None
    best_accuracy: float | None
    eer: float | None
    eer_threshold: float | None


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
    if not usable:
        return Figures(0, len(scores), None, None, None, None, None, None, None)
    distances = np.array([s.distance for s in usable], dtype=np.float64)
    same = np.array([s.same for s in usable], dtype=bool)
    fmr, fnmr = rates(distances, same, threshold)
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
    )


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
