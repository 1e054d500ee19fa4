"""Per-segment statistics and levels relative to the whole customer base."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..results import FeatureStats

LOW_PCT, HIGH_PCT = 100 / 3, 200 / 3
VERY_LOW_PCT, VERY_HIGH_PCT = 10.0, 90.0
LEVEL_RULE = (
    "A segment is 'low' on a feature when its mean is below the 33rd percentile of that "
    "feature over all customers used, 'high' when its mean is above the 67th percentile, "
    "and 'average' otherwise."
)


@dataclass(frozen=True)
class SegmentProfile:
    """What one segment looks like, before it is named."""

    size: int
    share: float
    centre: dict[str, float]
    stats: dict[str, FeatureStats]
    levels: dict[str, str]
    fine_levels: dict[str, str]
    effect: dict[str, float]
    distinctive: tuple[str, ...]
    categories: dict[str, dict[str, float]]


def _stats(col: np.ndarray) -> FeatureStats:
    return FeatureStats(
        mean=float(col.mean(dtype=np.float64)),
        median=float(np.median(col)),
        min=float(col.min()),
        max=float(col.max()),
        std=float(col.std(dtype=np.float64)),
    )


def _feature_columns(
    X: np.ndarray, labels: np.ndarray, k: int
) -> list[tuple[FeatureStats, np.ndarray, list[FeatureStats]]]:
    """Per feature: the base's statistics, its level percentiles, and each segment's
    statistics. Features are independent: they run on the process's threads (NumPy's
    sorting and reductions release the GIL), each on one contiguous column whose
    customers are grouped by segment (a stable sort keeps their order within a segment)."""
    from concurrent.futures import ThreadPoolExecutor

    from .._threads import n_threads

    small = labels.astype(np.int16 if k < 2**15 else np.int64)
    order = np.argsort(small, kind="stable")  # a radix sort for 16-bit labels
    bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=k))])

    def one(j: int) -> tuple[FeatureStats, np.ndarray, list[FeatureStats]]:
        col = np.ascontiguousarray(X[:, j])
        pct = np.percentile(col, [VERY_LOW_PCT, LOW_PCT, HIGH_PCT, VERY_HIGH_PCT])
        grouped = col[order]
        segs = [_stats(grouped[bounds[s] : bounds[s + 1]]) for s in range(k)]
        return _stats(col), pct, segs

    d = X.shape[1]
    threads = min(d, n_threads())
    if threads <= 1 or len(X) < 100_000:
        return [one(j) for j in range(d)]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(d)))


def level_of(mean: float, cuts: tuple[float, float]) -> str:
    """'low', 'average' or 'high' for a segment mean against the base's 33rd/67th percentiles.

    >>> level_of(10.0, (20.0, 40.0)), level_of(30.0, (20.0, 40.0)), level_of(50.0, (20.0, 40.0))
    ('low', 'average', 'high')
    """
    lo, hi = cuts
    if mean < lo:
        return "low"
    if mean > hi:
        return "high"
    return "average"


def _fine_level(mean: float, cuts: tuple[float, float, float, float]) -> str:
    vlo, lo, hi, vhi = cuts
    if mean < vlo:
        return "very low"
    if mean > vhi:
        return "very high"
    return level_of(mean, (lo, hi))


def profile_segments(
    X: np.ndarray,
    labels: np.ndarray,
    k: int,
    features: tuple[str, ...],
    categories: pd.DataFrame | None = None,
) -> tuple[dict[str, FeatureStats], list[SegmentProfile]]:
    """Profile segments 0..k-1 of X (n_customers, n_features) in original units.

    Returns the whole base's statistics and one :class:`SegmentProfile` per segment.
    """
    n = len(X)
    columns = _feature_columns(X, labels, k)
    population = {f: columns[j][0] for j, f in enumerate(features)}
    pct = np.array([columns[j][1] for j in range(len(features))]).T
    sizes = np.bincount(labels, minlength=k)
    profiles = []
    for s in range(k):
        size = int(sizes[s])
        stats = {f: columns[j][2][s] for j, f in enumerate(features)}
        centre = {f: stats[f].mean for f in features}
        levels, fine, effect = {}, {}, {}
        for j, f in enumerate(features):
            m = stats[f].mean
            levels[f] = level_of(m, (pct[1, j], pct[2, j]))
            fine[f] = _fine_level(m, (pct[0, j], pct[1, j], pct[2, j], pct[3, j]))
            sd = population[f].std
            effect[f] = float((m - population[f].mean) / sd) if sd > 0 else 0.0
        ranked = sorted(features, key=lambda f: (-abs(effect[f]), features.index(f)))
        # Only features on which the segment is not average set it apart.
        distinctive = tuple(f for f in ranked if levels[f] != "average")
        cats: dict[str, dict[str, float]] = {}
        if categories is not None and len(categories.columns):
            members = labels == s
            for c in categories.columns:
                col = categories[c][members]
                counts = col.astype(str).where(col.notna(), "(missing)").value_counts()
                total = counts.sum()
                cats[c] = {
                    str(v): float(cnt / total)
                    for v, cnt in sorted(counts.items(), key=lambda t: (-t[1], str(t[0])))
                }
        profiles.append(
            SegmentProfile(
                size=size,
                share=size / n,
                centre=centre,
                stats=stats,
                levels=levels,
                fine_levels=fine,
                effect=effect,
                distinctive=distinctive,
                categories=cats,
            )
        )
    return population, profiles
