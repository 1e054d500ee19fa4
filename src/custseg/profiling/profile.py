"""Per-segment statistics and levels relative to the whole customer base."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..results import FeatureStats
from .levels import ColumnBase, Kind, Level, base_from_moments, column_base, kind_of, segment_level


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
    evidence: dict[str, Level]
    # Numeric descriptors (flags as rates, counts, amounts not clustered on): the
    # segment's mean, the base's, and the level with its figures, as for features.
    described: dict[str, dict[str, float | str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupFigures:
    """One feature's figures over a group of customers (the whole base or one segment),
    in original units: population standard deviation; ``log_mean`` is the mean of
    ``log(1 + x)``, needed only where the column is non-negative and skewed."""

    n: int
    mean: float
    median: float
    min: float
    max: float
    std: float
    log_mean: float = 0.0

    def stats(self) -> FeatureStats:
        return FeatureStats(
            mean=self.mean, median=self.median, min=self.min, max=self.max, std=self.std
        )


@dataclass(frozen=True)
class FeatureAggregates:
    """Everything a profile needs about one feature, as aggregates an engine computes over
    every customer without bringing them to the driver (see
    :func:`profile_from_aggregates`).

    ``base`` covers every customer and ``segments`` each segment 0..k-1. ``skewness`` is
    the population skewness ``E[(x - mean)^3] / var^1.5`` (0 for a constant column),
    ``binary`` whether every value is 0 or 1, ``log_var`` the population variance of
    ``log(1 + x)`` over every customer (NaN where some value is -1 or less).
    """

    base: GroupFigures
    segments: tuple[GroupFigures, ...]
    skewness: float
    binary: bool
    log_var: float = 0.0

    def column(self, kind: Kind | None = None) -> ColumnBase:
        """The base's level figures (:func:`custseg.profiling.levels.column_base`)."""
        b = self.base
        return base_from_moments(
            kind or kind_of(b.min, b.max, binary=self.binary),
            b.n,
            b.mean,
            b.std**2,
            b.min,
            self.skewness,
            b.log_mean,
            self.log_var,
        )


_Column = tuple[FeatureStats, ColumnBase, list[FeatureStats], np.ndarray]


def _stats(col: np.ndarray) -> FeatureStats:
    return FeatureStats(
        mean=float(col.mean(dtype=np.float64)),
        median=float(np.median(col)),
        min=float(col.min()),
        max=float(col.max()),
        std=float(col.std(dtype=np.float64)),
    )


def _feature_columns(
    X: np.ndarray, labels: np.ndarray, k: int, kinds: dict[int, Kind]
) -> list[_Column]:
    """Per feature: the base's statistics, its level figures, each segment's statistics and
    each segment's mean of log(1 + x) (robust columns only). Features are independent: they
    run on the process's threads (NumPy's sorting and reductions release the GIL), each on
    one contiguous column whose customers are grouped by segment (a stable sort keeps their
    order within a segment)."""
    from concurrent.futures import ThreadPoolExecutor

    from .._threads import n_threads

    small = labels.astype(np.int16 if k < 2**15 else np.int64)
    order = np.argsort(small, kind="stable")  # a radix sort for 16-bit labels
    sizes = np.bincount(labels, minlength=k)
    bounds = np.concatenate([[0], np.cumsum(sizes)])

    def one(j: int) -> _Column:
        col = np.ascontiguousarray(X[:, j])
        base = column_base(col, kinds.get(j))
        grouped = col[order]
        segs = [_stats(grouped[bounds[s] : bounds[s + 1]]) for s in range(k)]
        log_means = np.zeros(k)
        if base.robust:
            logs = np.log1p(grouped.astype(np.float64))
            sums = np.array([logs[bounds[s] : bounds[s + 1]].sum() for s in range(k)])
            log_means = sums / np.maximum(sizes, 1)
        return _stats(col), base, segs, log_means

    d = X.shape[1]
    threads = min(d, n_threads())
    if threads <= 1 or len(X) < 100_000:
        return [one(j) for j in range(d)]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(d)))


def profile_segments(
    X: np.ndarray,
    labels: np.ndarray,
    k: int,
    features: tuple[str, ...],
    categories: pd.DataFrame | None = None,
    kinds: dict[str, Kind] | None = None,
) -> tuple[dict[str, FeatureStats], list[SegmentProfile]]:
    """Profile segments 0..k-1 of X (n_customers, n_features) in original units.

    ``kinds`` gives a feature's kind (flag, share, number) where it is known; the others
    are inferred from their values (:func:`custseg.profiling.levels.infer_kind`).
    Returns the whole base's statistics and one :class:`SegmentProfile` per segment,
    with levels from :mod:`custseg.profiling.levels`. :func:`profile_from_aggregates`
    does the same from an engine's aggregates.
    """
    known = {j: kinds[f] for j, f in enumerate(features) if kinds and f in kinds}
    columns = _feature_columns(X, labels, k, known)
    sizes = np.bincount(labels, minlength=k)
    described = describe_numeric(categories, labels, k)
    counts = _category_counts(categories, labels, k)
    return _profiles(len(X), sizes, features, columns, counts, described)


def profile_from_aggregates(
    aggregates: Sequence[FeatureAggregates],
    features: tuple[str, ...],
    category_counts: dict[str, list[dict[Any, int]]] | None = None,
    described: list[dict[str, dict[str, float | str | None]]] | None = None,
    kinds: dict[str, Kind] | None = None,
) -> tuple[dict[str, FeatureStats], list[SegmentProfile]]:
    """:func:`profile_segments` from aggregates, for customers that stay on an engine.

    Parameters
    ----------
    aggregates : sequence of FeatureAggregates
        One per feature, in the order of ``features``; each segment's ``n`` is its size.
    features : tuple of str
    category_counts : dict, optional
        ``{column: [{value: count} for each segment]}``; a missing value's key is None
        (the shape of :class:`custseg.engines.contract.Profiles` ``categories``).
    described : list of dict, optional
        Per segment, the numeric descriptors of :func:`describe_numeric`.
    kinds : dict, optional
        Known kinds, as for :func:`profile_segments`.

    Returns
    -------
    population : dict of FeatureStats
    profiles : list of SegmentProfile

    Examples
    --------
    >>> seg = [GroupFigures(n=2, mean=m, median=m, min=m, max=m, std=0.0) for m in (1.0, 3.0)]
    >>> base = GroupFigures(n=4, mean=2.0, median=2.0, min=1.0, max=3.0, std=1.0)
    >>> agg = FeatureAggregates(base=base, segments=tuple(seg), skewness=0.0, binary=False)
    >>> population, profiles = profile_from_aggregates([agg], ("x",))
    >>> [p.size for p in profiles], profiles[1].centre
    ([2, 2], {'x': 3.0})
    """
    if len(aggregates) != len(features):
        raise ValueError(f"{len(aggregates)} aggregates for {len(features)} features")
    k = len(aggregates[0].segments) if aggregates else 0
    sizes = np.array([g.n for g in aggregates[0].segments] if aggregates else [], dtype=np.int64)
    columns: list[_Column] = [
        (
            a.base.stats(),
            a.column(kinds.get(f) if kinds else None),
            [g.stats() for g in a.segments],
            np.array([g.log_mean for g in a.segments], dtype=np.float64),
        )
        for f, a in zip(features, aggregates, strict=True)
    ]
    n = aggregates[0].base.n if aggregates else 0
    counts = {
        str(c): [{"(missing)" if v is None else str(v): int(m) for v, m in s.items()} for s in per]
        for c, per in (category_counts or {}).items()
    }
    return _profiles(n, sizes, features, columns, counts, described or [{} for _ in range(k)])


def _category_counts(
    categories: pd.DataFrame | None, labels: np.ndarray, k: int
) -> dict[str, list[dict[str, int]]]:
    """Per category column and segment, each value's count ("(missing)" for empty cells)."""
    out: dict[str, list[dict[str, int]]] = {}
    if categories is None or not len(categories.columns):
        return out
    for c in categories.columns:
        per = []
        for s in range(k):
            col = categories[c][labels == s]
            counts = col.astype(str).where(col.notna(), "(missing)").value_counts()
            per.append({str(v): int(m) for v, m in counts.items()})
        out[str(c)] = per
    return out


def _profiles(
    n: int,
    sizes: np.ndarray,
    features: tuple[str, ...],
    columns: list[_Column],
    category_counts: dict[str, list[dict[str, int]]],
    described: list[dict[str, dict[str, float | str | None]]],
) -> tuple[dict[str, FeatureStats], list[SegmentProfile]]:
    """The profiles from each feature's figures, however they were computed."""
    population = {f: columns[j][0] for j, f in enumerate(features)}
    profiles = []
    for s in range(len(sizes)):
        size = int(sizes[s])
        stats = {f: columns[j][2][s] for j, f in enumerate(features)}
        centre = {f: stats[f].mean for f in features}
        evidence = {
            f: segment_level(columns[j][1], size, stats[f].mean, float(columns[j][3][s]))
            for j, f in enumerate(features)
        }
        levels = {f: e.level for f, e in evidence.items()}
        fine = {f: e.fine for f, e in evidence.items()}
        effect = {f: e.effect for f, e in evidence.items()}
        ranked = sorted(features, key=lambda f: (-abs(effect[f]), features.index(f)))
        # Only features on which the segment is not average set it apart.
        distinctive = tuple(f for f in ranked if levels[f] != "average")
        cats: dict[str, dict[str, float]] = {}
        for c, per in category_counts.items():
            counts = per[s]
            total = sum(counts.values())
            cats[c] = {
                v: float(cnt / total)
                for v, cnt in sorted(counts.items(), key=lambda t: (-t[1], t[0]))
            }
        profiles.append(
            SegmentProfile(
                described=described[s],
                size=size,
                share=size / n,
                centre=centre,
                stats=stats,
                levels=levels,
                fine_levels=fine,
                effect=effect,
                distinctive=distinctive,
                categories=cats,
                evidence=evidence,
            )
        )
    return population, profiles


def _numeric_descriptor(col: pd.Series) -> np.ndarray | None:
    """The column as floats when every filled cell is a number (NaN where empty)."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype("float64").to_numpy()
    values = pd.to_numeric(col, errors="coerce")
    if values.notna().sum() < 2 or values.isna().sum() > col.isna().sum():
        return None
    out = values.to_numpy(dtype=np.float64, na_value=np.nan)
    filled = out[~np.isnan(out)]
    return out if np.unique(filled[:100_000]).size > 1 else None


def describe_numeric(
    categories: pd.DataFrame | None, labels: np.ndarray, k: int
) -> list[dict[str, dict[str, float | str | None]]]:
    """Per segment, each numeric descriptor (a 0/1 flag, a count, an amount that is not a
    feature) against the base, with its level from :func:`segment_level`.

    Empty cells do not count: a segment's mean and the base's are over filled cells.
    Returns, per segment, ``{column: {mean, base, level, fine, effect, vtest, ratio}}``.
    """
    out: list[dict[str, dict[str, float | str | None]]] = [{} for _ in range(k)]
    if categories is None or not len(categories.columns):
        return out
    for c in categories.columns:
        values = _numeric_descriptor(categories[c])
        if values is None:
            continue
        filled = ~np.isnan(values)
        col, lab = values[filled], labels[filled]
        base = column_base(col)
        sizes = np.bincount(lab, minlength=k)
        sums = np.bincount(lab, weights=col, minlength=k)
        logs = np.bincount(lab, weights=np.log1p(col), minlength=k) if base.robust else np.zeros(k)
        for s in range(k):
            if sizes[s] == 0:
                continue
            mean = float(sums[s] / sizes[s])
            lv = segment_level(base, int(sizes[s]), mean, float(logs[s] / sizes[s]))
            out[s][str(c)] = _described(mean, base, lv)
    return out


def _described(mean: float, base: Any, lv: Any) -> dict[str, float | str | None]:
    """One descriptor's entry in a segment's profile: its mean against the base, and level."""
    return {
        "mean": mean,
        "base": base.mean,
        "kind": base.kind,
        "level": lv.level,
        "fine": lv.fine,
        "effect": lv.effect,
        "vtest": lv.vtest,
        "ratio": lv.ratio,
    }


def describe_from_aggregates(
    aggregates: dict[str, FeatureAggregates], k: int
) -> list[dict[str, dict[str, float | str | None]]]:
    """:func:`describe_numeric` from an engine's aggregates of each numeric descriptor over
    its filled cells (``base`` and each segment's ``n``, ``mean`` and ``log_mean``).

    A descriptor with fewer than 2 filled cells or one value is not described, as locally.
    """
    out: list[dict[str, dict[str, float | str | None]]] = [{} for _ in range(k)]
    for c, a in aggregates.items():
        if a.base.n < 2 or not a.base.max > a.base.min:
            continue
        base = a.column()
        for s, g in enumerate(a.segments[:k]):
            if g.n == 0:
                continue
            lv = segment_level(base, int(g.n), g.mean, g.log_mean if base.robust else 0.0)
            out[s][str(c)] = _described(g.mean, base, lv)
    return out
