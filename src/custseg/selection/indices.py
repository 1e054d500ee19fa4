"""Cluster-quality indices for one labelling: silhouette, Calinski–Harabasz, Davies–Bouldin."""

from __future__ import annotations

import numpy as np

SILHOUETTE_SAMPLE = 10_000
SMALL = 2_000  # below this scikit-learn's own silhouette is as fast
_ROWS = 1_024


def silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of X (n, d) under ``labels``, Euclidean; equals scikit-learn's.

    Distances to every customer are summed per segment with one matrix product
    per block of rows (``D @ one_hot``), so the O(n^2) work is BLAS, and memory
    is O(rows x n).
    """
    X = np.asarray(X, dtype=np.float64)
    _, lab = np.unique(labels, return_inverse=True)
    k = int(lab.max()) + 1
    n = len(X)
    one_hot = np.zeros((n, k))
    one_hot[np.arange(n), lab] = 1.0
    sizes = one_hot.sum(axis=0)
    sq = np.einsum("ij,ij->i", X, X)
    scores = np.empty(n)
    for start in range(0, n, _ROWS):
        block = slice(start, min(start + _ROWS, n))
        d2 = X[block] @ X.T
        d2 *= -2.0
        d2 += sq[block, None]
        d2 += sq[None, :]
        np.maximum(d2, 0.0, out=d2)
        np.sqrt(d2, out=d2)
        sums = d2 @ one_hot  # (rows, k): summed distance to each segment
        own = lab[block]
        rows = np.arange(len(own))
        own_size = sizes[own]
        # a: mean distance to the other members of one's own segment (self-distance is 0).
        a = sums[rows, own] / np.maximum(own_size - 1, 1)
        mean_other = sums / sizes
        mean_other[rows, own] = np.inf
        b = mean_other.min(axis=1)
        s = (b - a) / np.maximum(a, b)
        # A customer alone in its segment scores 0 (scikit-learn's convention).
        scores[block] = np.where(own_size > 1, np.nan_to_num(s), 0.0)
    return float(scores.mean())


def quality_indices(
    X: np.ndarray, labels: np.ndarray, *, seed: int = 0, silhouette_sample: int = SILHOUETTE_SAMPLE
) -> tuple[float | None, float | None, float | None]:
    """(silhouette, Calinski–Harabasz, Davies–Bouldin) of a labelling of X.

    The silhouette is O(n^2), so above ``silhouette_sample`` customers it is
    computed on a seeded random sample of that size. An index that is undefined
    (one segment, or as many segments as customers) is ``None``.
    """
    from sklearn.metrics import (
        calinski_harabasz_score,
        davies_bouldin_score,
        silhouette_score,
    )

    n = len(X)
    n_labels = len(np.unique(labels))
    if n_labels < 2 or n_labels >= n:
        return None, None, None
    sample = silhouette_sample if n > silhouette_sample else None
    if sample is not None:
        rng = np.random.default_rng(seed)
        idx = rng.choice(n, size=sample, replace=False)
        one_segment = len(np.unique(labels[idx])) < 2
        sil = None if one_segment else silhouette(X[idx], labels[idx])
    else:
        sil = float(silhouette_score(X, labels)) if n <= SMALL else silhouette(X, labels)
    ch = float(calinski_harabasz_score(X, labels))
    db = float(davies_bouldin_score(X, labels))
    return sil, ch, db
