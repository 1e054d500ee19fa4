"""k-means++ starts: scikit-learn's greedy k-means++, draw for draw.

The k-means sweep and the small fits of the evidence (gap statistic, stability) need
the same starts as ``KMeans(n_init=..., random_state=seed)``: the same seed must give
the same segments as scikit-learn's. scikit-learn's public ``kmeans_plusplus`` checks
its input on every call (about 2 ms, more than a fit on a few hundred customers) and
importing scikit-learn costs more than a whole run on a small table; this module
computes the same starts with the same random draws in the same order, on dense
float64 data (float32 data keep scikit-learn's own, which computes its distances in
upcast chunks).
"""

from __future__ import annotations

import numpy as np


def _squared_distances(A: np.ndarray, X: np.ndarray, x_norms: np.ndarray) -> np.ndarray:
    """Squared distances from the rows of A to those of X, in scikit-learn's arithmetic
    (``-2 A.X' + |a|^2 + |x|^2``, clipped at 0)."""
    out = -2 * (A @ X.T)
    out += np.einsum("ij,ij->i", A, A)[:, None]
    out += x_norms[None, :]
    np.maximum(out, 0, out=out)
    return out


def kmeans_plusplus(
    X: np.ndarray, k: int, squared_norms: np.ndarray, rng: np.random.RandomState
) -> np.ndarray:
    """k starting centres (k, n_features) from X (float64), drawn with ``rng``.

    The same draws as :func:`sklearn.cluster.kmeans_plusplus` with unit weights and
    ``2 + int(log k)`` local trials: the first centre uniformly, then each next one the
    best (lowest potential) of the trial customers drawn in proportion to their squared
    distance to the nearest centre so far.

    Examples
    --------
    >>> X = np.array([[0.0, 0], [0, 1], [10, 0], [10, 1]])
    >>> c = kmeans_plusplus(X, 2, np.einsum("ij,ij->i", X, X), np.random.RandomState(0))
    >>> sorted(c[:, 0].tolist())
    [0.0, 10.0]
    """
    n, d = X.shape
    trials = 2 + int(np.log(k))
    weight = np.ones(n, dtype=X.dtype)
    centres = np.empty((k, d), dtype=X.dtype)
    first = rng.choice(n, p=weight / weight.sum())
    centres[0] = X[first]
    closest = _squared_distances(centres[0, np.newaxis], X, squared_norms)
    potential = closest @ weight
    for c in range(1, k):
        draws = rng.uniform(size=trials) * potential
        candidates = np.searchsorted(np.cumsum(weight * closest), draws)
        np.clip(candidates, None, closest.size - 1, out=candidates)
        dist = _squared_distances(X[candidates], X, squared_norms)
        np.minimum(closest, dist, out=dist)
        potentials = dist @ weight.reshape(-1, 1)
        best = np.argmin(potentials)
        potential = potentials[best]
        closest = dist[best]
        centres[c] = X[candidates[best]]
    return centres


__all__ = ["kmeans_plusplus"]
