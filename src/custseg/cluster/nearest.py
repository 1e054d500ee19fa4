"""Nearest centre and distance for many customers in one compiled pass (assigning)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: From this many customers on, the compiled pass is used (compiled once per machine,
#: about 1 s, then cached by Numba); below it NumPy's matrix product is as fast.
COMPILED_ROWS = 50_000


def _nearest_source(X, centres, labels, dist):  # pragma: no cover - compiled
    n, d = X.shape
    k = centres.shape[0]
    for i in range(n):
        best = np.inf
        lab = 0
        for c in range(k):
            s = 0.0
            for j in range(d):
                diff = X[i, j] - centres[c, j]
                s += diff * diff
            if s < best:  # ties go to the first centre, as np.argmin does
                best = s
                lab = c
        labels[i] = lab
        dist[i] = np.sqrt(best)


@lru_cache(maxsize=1)
def _kernel():
    import numba

    X = np.zeros((1, 1))
    for cache in (True, False):
        try:
            fn = numba.njit(nogil=True, cache=cache)(_nearest_source)
            fn(X, X, np.zeros(1, dtype=np.int64), np.zeros(1))
            return fn
        except Exception:
            if not cache:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def nearest_centres(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each row's nearest centre and the Euclidean distance to it, exactly
    (the squared differences summed, not expanded), in one pass over X (n, d).

    Examples
    --------
    >>> nearest_centres(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [3.0, 3.0]]))
    (array([0, 1]), array([0., 1.]))
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    centres = np.ascontiguousarray(centres, dtype=np.float64)
    labels = np.empty(len(X), dtype=np.int64)
    dist = np.empty(len(X))
    _kernel()(X, centres, labels, dist)
    return labels, dist
