"""Cluster-quality indices for one labelling: silhouette, Calinski–Harabasz, Davies–Bouldin."""

from __future__ import annotations

import numpy as np

from .._threads import one_blas_thread, pool_map

SILHOUETTE_SAMPLE = 10_000
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

    def block_totals(start: int) -> np.ndarray:
        """Summed silhouette of the rows start..start+_ROWS under each labelling."""
        block = slice(start, min(start + _ROWS, n))
        d2 = X[block] @ X.T
        d2 *= -2.0
        d2 += sq[block, None]
        d2 += sq[None, :]
        np.maximum(d2, 0.0, out=d2)
        np.sqrt(d2, out=d2)
        sums_all = d2 @ one_hot  # (rows, sum of k): summed distance to each segment
        rows = np.arange(d2.shape[0])
        out = np.zeros(len(codes))
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
            out[i] = np.where(own_size > 1, np.nan_to_num(score), 0.0).sum()
        return out

    starts = range(0, n, _ROWS)
    if len(starts) > 1:
        # Blocks on the process's threads, each with a one-thread BLAS: NumPy releases the
        # GIL on these large arrays, and BLAS's own threads on a 256-row block cost more
        # than they gain (2x slower on a busy 2-core machine). Summed in block order.
        with one_blas_thread():
            parts = pool_map(block_totals, starts)
    else:
        parts = [block_totals(0)]
    totals = np.sum(parts, axis=0)
    return [float(t / n) for t in totals]


def silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of one labelling (see :func:`silhouettes`)."""
    return silhouettes(X, [labels])[0]


def _segments(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes 0..k-1 in sorted label order, sizes, centroids) of a labelling."""
    _, codes = np.unique(labels, return_inverse=True)
    sizes = np.bincount(codes).astype(np.float64)
    sums = np.zeros((len(sizes), X.shape[1]))
    np.add.at(sums, codes, X)
    return codes, sizes, sums / sizes[:, None]


def calinski_harabasz(X: np.ndarray, labels: np.ndarray) -> float:
    """Between- over within-segment dispersion, each per degree of freedom (higher is
    better); scikit-learn's ``calinski_harabasz_score``.

    Examples
    --------
    >>> X = np.array([[0.0], [2.0], [10.0], [12.0]])
    >>> calinski_harabasz(X, np.array([0, 0, 1, 1]))  # (4 * 25 / 1) / (4 / 2)
    50.0
    """
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    codes, sizes, centroids = _segments(X, labels)
    k = len(sizes)
    between = float(np.sum(sizes * ((centroids - X.mean(axis=0)) ** 2).sum(axis=1)))
    within = float(((X - centroids[codes]) ** 2).sum())
    return 1.0 if within == 0.0 else between * (n - k) / (within * (k - 1.0))


def davies_bouldin(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean over segments of the worst ratio of summed spreads to centroid distance
    (lower is better); scikit-learn's ``davies_bouldin_score``.

    Examples
    --------
    >>> X = np.array([[0.0], [2.0], [10.0], [12.0]])
    >>> davies_bouldin(X, np.array([0, 0, 1, 1]))  # (1 + 1) / 10
    0.2
    """
    X = np.asarray(X, dtype=np.float64)
    codes, sizes, centroids = _segments(X, labels)
    spread = (
        np.bincount(
            codes, weights=np.sqrt(((X - centroids[codes]) ** 2).sum(axis=1)), minlength=len(sizes)
        )
        / sizes
    )
    diff = centroids[:, None, :] - centroids[None, :, :]
    apart = np.sqrt((diff**2).sum(axis=2))
    if np.allclose(spread, 0) or np.allclose(apart, 0):
        return 0.0
    apart[apart == 0] = np.inf
    ratio = (spread[:, None] + spread[None, :]) / apart
    return float(np.mean(np.max(ratio, axis=1)))


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
        out[k] = (None, calinski_harabasz(X, labels), davies_bouldin(X, labels))
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
        sil = silhouette(X, labels)
    return sil, calinski_harabasz(X, labels), davies_bouldin(X, labels)
