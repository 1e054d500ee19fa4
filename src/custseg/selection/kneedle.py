"""Kneedle (Satopaa et al., 2011) for a decreasing, convex curve: the elbow of inertia by k.

The same steps and the same answers as ``kneed.KneeLocator(x, y, curve="convex",
direction="decreasing", S=S)`` (offline, no smoothing), which tests/test_selection.py
checks on many curves. kneed itself imports SciPy's signal package and matplotlib's
pyplot when it is imported, about a second of every run for a dozen lines of NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def _extrema(a: np.ndarray, keep: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Indices where ``keep(a[i], neighbour)`` holds for both neighbours; an end point is
    compared with itself on its missing side (SciPy's ``argrelextrema``, order 1, clip)."""
    i = np.arange(len(a))
    after = a.take(i + 1, mode="clip")
    before = a.take(i - 1, mode="clip")
    return np.flatnonzero(keep(a, after) & keep(a, before))


def _normalise(a: np.ndarray) -> np.ndarray:
    return (a - a.min()) / (a.max() - a.min())


def kneedle_elbow(x: Sequence[float], y: Sequence[float], *, sensitivity: float = 1.0):
    """The x of the first knee of the decreasing, convex curve y(x), or None.

    Examples
    --------
    >>> kneedle_elbow([1, 2, 3, 4, 5, 6], [100, 40, 12, 10, 9, 8])
    3
    """
    xs = np.array(x)
    x_norm = _normalise(np.asarray(xs, dtype=float))
    y_norm = _normalise(np.asarray(y, dtype=float))
    y_norm = y_norm.max() - y_norm  # an elbow of a decreasing curve -> a knee
    difference = y_norm - x_norm
    maxima = _extrema(difference, np.greater_equal)
    minima = _extrema(difference, np.less_equal)
    if not maxima.size:
        return None
    thresholds = difference[maxima] - sensitivity * abs(np.diff(x_norm).mean())
    n_maxima_seen = 0
    threshold = 0.0
    knee_index = 0
    active = True
    for i in range(int(maxima[0]), len(difference) - 1):
        if (maxima == i).any():
            threshold = thresholds[n_maxima_seen]
            knee_index = i
            n_maxima_seen += 1
            active = True
        if (minima == i).any():
            # After a local minimum the curve must rise to a new maximum first.
            threshold = 0.0
            active = False
        if active and difference[i + 1] < threshold:
            return xs[knee_index].item()
    return None
