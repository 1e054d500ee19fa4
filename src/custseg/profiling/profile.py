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
    population = {f: _stats(X[:, j]) for j, f in enumerate(features)}
    pct = np.percentile(X, [VERY_LOW_PCT, LOW_PCT, HIGH_PCT, VERY_HIGH_PCT], axis=0)
    profiles = []
    for s in range(k):
        members = labels == s
        Xs = X[members]
        size = int(members.sum())
        stats = {f: _stats(Xs[:, j]) for j, f in enumerate(features)}
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
