"""Cluster-quality indices for one labelling: silhouette, Calinski–Harabasz, Davies–Bouldin."""

from __future__ import annotations

import numpy as np

from .._threads import one_blas_thread, pool_map

SILHOUETTE_SAMPLE = 10_000
# Rows per block of distances (rows x n: 10 MB at n = 10,000): the block's few passes run
# mostly in the CPU's cache, and every labelling is scored with the same eight NumPy calls.
_ROWS = 128


def silhouettes(X: np.ndarray, labelings: list[np.ndarray]) -> list[float]:
    """Mean silhouette of X (n, d) under each labelling, Euclidean; equals scikit-learn's.

    The pairwise distances are the same for every labelling, so they are computed
    once, a block of rows at a time (one matrix product gives the squared distances:
    ``[-2x, |x|^2, 1] . [y, 1, |y|^2]``), and summed per segment of every labelling with
    one more (``D @ one_hot``): O(n^2 d) BLAS work for all k together, O(rows x n) memory.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> [round(s, 3) for s in silhouettes(X, [np.array([0, 0, 1, 1])])]
    [0.9]
    """
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    # Every segment of every labelling is one column: labelling i owns the columns
    # offsets[i]..offsets[i+1]-1, and own[r, i] is row r's segment's column there.
    codes = [np.unique(labels, return_inverse=True)[1].reshape(-1) for labels in labelings]
    counts = [np.bincount(lab).astype(np.float64) for lab in codes]
    offsets = np.cumsum([0] + [len(c) for c in counts])
    own = np.column_stack([lab + off for lab, off in zip(codes, offsets[:-1])])
    one_hot = np.zeros((n, int(offsets[-1])))
    one_hot[np.arange(n)[:, None], own] = 1.0
    sizes = np.concatenate(counts)
    own_size = sizes[own]
    sq = np.einsum("ij,ij->i", X, X)[:, None]
    ones = np.ones((n, 1))
    left = np.hstack([-2.0 * X, sq, ones])
    right = np.hstack([X, ones, sq])

    def block_totals(start: int) -> np.ndarray:
        """Summed silhouette of the rows start..start+_ROWS under each labelling."""
        block = slice(start, min(start + _ROWS, n))
        dist = left[block] @ right.T
        np.maximum(dist, 0.0, out=dist)
        np.sqrt(dist, out=dist)
        sums = dist @ one_hot  # (rows, all segments): summed distance to each segment
        rows = np.arange(len(sums))[:, None]
        mine, mine_size = own[block], own_size[block]
        # a: mean distance to the other members of one's own segment (self-distance 0).
        a = sums[rows, mine] / np.maximum(mine_size - 1, 1)
        mean_other = sums / sizes
        mean_other[rows, mine] = np.inf
        b = np.minimum.reduceat(mean_other, offsets[:-1], axis=1)
        with np.errstate(invalid="ignore"):
            score = (b - a) / np.maximum(a, b)
        # A customer alone in its segment scores 0 (scikit-learn's convention).
        scores = np.where(mine_size > 1, np.nan_to_num(score), 0.0)
        # Each labelling's scores summed as one contiguous row: the same bits whether it
        # is scored alone (the app's k slider) or with the other k.
        return np.ascontiguousarray(scores.T).sum(axis=1)

    starts = range(0, n, _ROWS)
    if len(starts) > 1:
        # Blocks on the process's threads, each with a one-thread BLAS: NumPy releases the
        # GIL on these large arrays, and BLAS's own threads on a block of rows cost more
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
