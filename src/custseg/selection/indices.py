"""Cluster-quality indices for one labelling: silhouette, Calinski–Harabasz, Davies–Bouldin."""

from __future__ import annotations

import numpy as np

SILHOUETTE_SAMPLE = 10_000
SMALL = 2_000  # below this scikit-learn's own silhouette is as fast
# Rows per block of distances (rows x n: 20 MB at n = 10,000). Fewer, larger blocks: the
# per-block NumPy calls for every candidate k cost more than the cache misses (2x faster
# than 64-row blocks at 10,000 x 11 with 9 candidate k).
_ROWS = 256


def silhouettes(X: np.ndarray, labelings: list[np.ndarray]) -> list[float]:
    """Mean silhouette of X (n, d) under each labelling, Euclidean; equals scikit-learn's.

    The pairwise distances are the same for every labelling, so they are computed
    once, a block of rows at a time, and summed per segment of every labelling with
    one matrix product (``D @ one_hot``): O(n^2 d) BLAS work for all k together,
    O(rows x n) memory.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> [round(s, 3) for s in silhouettes(X, [np.array([0, 0, 1, 1])])]
    [0.9]
    """
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    blocks, offsets, sizes_all, codes = [], [0], [], []
    for labels in labelings:
        _, lab = np.unique(labels, return_inverse=True)
        k = int(lab.max()) + 1
        hot = np.zeros((n, k))
        hot[np.arange(n), lab] = 1.0
        blocks.append(hot)
        sizes_all.append(hot.sum(axis=0))
        codes.append(lab)
        offsets.append(offsets[-1] + k)
    one_hot = np.hstack(blocks)
    sq = np.einsum("ij,ij->i", X, X)
    totals = np.zeros(len(labelings))
    for start in range(0, n, _ROWS):
        block = slice(start, min(start + _ROWS, n))
        d2 = X[block] @ X.T
        d2 *= -2.0
        d2 += sq[block, None]
        d2 += sq[None, :]
        np.maximum(d2, 0.0, out=d2)
        np.sqrt(d2, out=d2)
        sums_all = d2 @ one_hot  # (rows, sum of k): summed distance to each segment
        rows = np.arange(d2.shape[0])
        for i, lab in enumerate(codes):
            sums = sums_all[:, offsets[i] : offsets[i + 1]]
            sizes = sizes_all[i]
            own = lab[block]
            own_size = sizes[own]
            # a: mean distance to the other members of one's own segment (self-distance 0).
            a = sums[rows, own] / np.maximum(own_size - 1, 1)
            mean_other = sums / sizes
            mean_other[rows, own] = np.inf
            b = mean_other.min(axis=1)
            score = (b - a) / np.maximum(a, b)
            # A customer alone in its segment scores 0 (scikit-learn's convention).
            totals[i] += np.where(own_size > 1, np.nan_to_num(score), 0.0).sum()
    return [float(t / n) for t in totals]


def silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of one labelling (see :func:`silhouettes`)."""
    return silhouettes(X, [labels])[0]


def quality_indices_by_k(
    X: np.ndarray,
    labels_by_k: dict[int, np.ndarray],
    *,
    seed: int = 0,
    silhouette_sample: int = SILHOUETTE_SAMPLE,
) -> dict[int, tuple[float | None, float | None, float | None]]:
    """:func:`quality_indices` for several labellings of the same X, sharing the distances.

    Every k's silhouette uses the same seeded sample of ``silhouette_sample``
    customers, and the pairwise distances of that sample are computed once.
    """
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    n = len(X)
    idx = None
    if n > silhouette_sample:
        idx = np.random.default_rng(seed).choice(n, size=silhouette_sample, replace=False)
    Xsil = X if idx is None else X[idx]
    out: dict[int, tuple[float | None, float | None, float | None]] = {}
    sil_ks = []
    for k, labels in labels_by_k.items():
        n_labels = len(np.unique(labels))
        if n_labels < 2 or n_labels >= n:
            out[k] = (None, None, None)
            continue
        ch = float(calinski_harabasz_score(X, labels))
        db = float(davies_bouldin_score(X, labels))
        out[k] = (None, ch, db)
        lab = labels if idx is None else labels[idx]
        if len(np.unique(lab)) >= 2:
            sil_ks.append(k)
    labelings = [labels_by_k[k] if idx is None else labels_by_k[k][idx] for k in sil_ks]
    for k, sil in zip(sil_ks, silhouettes(Xsil, labelings) if labelings else []):
        out[k] = (sil, out[k][1], out[k][2])
    return out


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
