"""The elbow of the inertia curve, found with Kneedle (Satopaa et al., 2011)."""

from __future__ import annotations

import warnings

import numpy as np


def find_elbow(
    ks: list[int], inertia: list[float], *, sensitivity: float = 1.0
) -> tuple[int | None, str]:
    """The k at the knee of a decreasing, convex inertia curve.

    Returns
    -------
    (k, reason) : the elbow and how it was found, or ``(None, reason)`` when the
        curve has no clear elbow. That is an answer, not an error.

    Examples
    --------
    >>> find_elbow([1, 2, 3, 4, 5, 6], [100, 40, 12, 10, 9, 8])[0]
    3
    """
    if len(ks) < 3:
        return None, f"the elbow needs at least 3 candidate k (got {len(ks)})"
    y = np.asarray(inertia, dtype=float)
    if not np.all(np.isfinite(y)) or y[0] <= y[-1] or np.ptp(y) <= 1e-12 * max(abs(y[0]), 1.0):
        return None, "the inertia curve does not decrease, so it has no elbow"
    from .kneedle import kneedle_elbow

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        knee = kneedle_elbow(list(ks), list(y), sensitivity=sensitivity)
    if knee is None:
        return None, (
            f"the inertia curve bends nowhere clearly (Kneedle, sensitivity {sensitivity:g}, "
            "found no knee)"
        )
    return int(knee), "Kneedle knee of the inertia curve"
