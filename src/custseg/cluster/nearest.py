"""Nearest centre and distance for many customers in one compiled pass (assigning)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Models with at most this many centre x feature terms are assigned with NumPy (a few
#: passes over the chunk per term, faster than loading the compiled pass, about 0.5 s per
#: process); larger ones with the compiled pass. Both give the same bits.
NUMPY_TERMS = 64
#: Rows per NumPy block (a few MB of temporaries per term).
_BLOCK = 65_536


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


def _nearest_numpy(X: np.ndarray, centres: np.ndarray, labels: np.ndarray, dist: np.ndarray):
    """The compiled pass's arithmetic with NumPy, term by term: for each centre the squared
    differences summed over the features in order, the first centre kept on ties."""
    k, d = centres.shape
    for start in range(0, len(X), _BLOCK):
        cols = np.ascontiguousarray(X[start : start + _BLOCK].T)  # (d, rows)
        best = np.full(cols.shape[1], np.inf)
        lab = np.zeros(cols.shape[1], dtype=np.int64)
        s = np.empty(cols.shape[1])
        diff = np.empty(cols.shape[1])
        for c in range(k):
            s.fill(0.0)
            for j in range(d):
                np.subtract(cols[j], centres[c, j], out=diff)
                np.multiply(diff, diff, out=diff)
                s += diff
            closer = s < best
            lab[closer] = c
            np.minimum(s, best, out=best)
        labels[start : start + len(lab)] = lab
        np.sqrt(best, out=dist[start : start + len(lab)])


def nearest_centres(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each row's nearest centre and the Euclidean distance to it, exactly
    (the squared differences summed, not expanded), in one pass over X (n, d): with NumPy
    for a model of at most :data:`NUMPY_TERMS` centre x feature terms, else compiled.

    Examples
    --------
    >>> nearest_centres(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [3.0, 3.0]]))
    (array([0, 1]), array([0., 1.]))
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    centres = np.ascontiguousarray(centres, dtype=np.float64)
    labels = np.empty(len(X), dtype=np.int64)
    dist = np.empty(len(X))
    if centres.size <= NUMPY_TERMS:
        _nearest_numpy(X, centres, labels, dist)
    else:
        _kernel()(X, centres, labels, dist)
    return labels, dist
