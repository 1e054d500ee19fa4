"""Agglomerative trees in SciPy's linkage format, and cutting them into k segments.

:func:`ward_tree` runs Ward's method on weighted points (a point of weight w
stands for w customers at that spot). Ward's merge cost between two groups
depends only on their sizes and centroids, so on micro-cluster summaries the
tree above the micro-clusters is exact for them; with unit weights it equals
SciPy's ``linkage(X, "ward")``.
"""

from __future__ import annotations

import numpy as np


def linkage_tree(X: np.ndarray, method: str = "ward") -> np.ndarray:
    """SciPy linkage matrix (n-1, 4) of X (n_customers, n_features), Euclidean distance."""
    from scipy.cluster.hierarchy import linkage

    return linkage(np.asarray(X, dtype=np.float64), method=method, metric="euclidean")


def ward_tree(centroids: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Ward's agglomerative tree over weighted points (nearest-neighbour chain).

    Parameters
    ----------
    centroids : ndarray of shape (m, n_features)
    weights : ndarray of shape (m,), optional
        How many customers each point stands for (default 1).

    Returns
    -------
    Z : ndarray of shape (m-1, 4), SciPy's linkage format; ``Z[:, 3]`` counts customers.

    Notes
    -----
    The merge height is SciPy's Ward distance
    ``sqrt(2 * na * nb / (na + nb)) * ||ca - cb||``. Time O(m^2 d), memory O(m d).
    """
    C = np.array(centroids, dtype=np.float64)
    m = len(C)
    w = np.ones(m) if weights is None else np.asarray(weights, dtype=np.float64).copy()
    if m < 2:
        return np.empty((0, 4))
    active = np.ones(m, dtype=bool)
    merges = []
    chain: list[int] = []
    n_active = m
    while n_active > 1:
        if not chain:
            chain.append(int(np.flatnonzero(active)[0]))
        a = chain[-1]
        idx = np.flatnonzero(active)
        idx = idx[idx != a]
        diff = C[idx] - C[a]
        d = np.sqrt(2.0 * w[a] * w[idx] / (w[a] + w[idx]) * np.einsum("ij,ij->i", diff, diff))
        j = int(np.argmin(d))
        b, dist = int(idx[j]), float(d[j])
        if len(chain) >= 2:
            prev = chain[-2]
            dprev = float(
                np.sqrt(2.0 * w[a] * w[prev] / (w[a] + w[prev]) * np.sum((C[a] - C[prev]) ** 2))
            )
            if dprev <= dist:
                b, dist = prev, dprev
        if len(chain) >= 2 and b == chain[-2]:
            chain.pop()
            chain.pop()
            lo, hi = min(a, b), max(a, b)
            merges.append((lo, hi, dist))
            wsum = w[lo] + w[hi]
            C[hi] = (w[lo] * C[lo] + w[hi] * C[hi]) / wsum
            w[hi] = wsum
            active[lo] = False
            n_active -= 1
        else:
            chain.append(b)
    return _relabel(merges, m, weights)


def _relabel(
    merges: list[tuple[int, int, float]], m: int, weights: np.ndarray | None
) -> np.ndarray:
    """Sort merges by height and give clusters SciPy's ids (m + row)."""
    order = sorted(range(len(merges)), key=lambda i: merges[i][2])
    parent = np.arange(m)
    cluster_id = np.arange(m)
    size = np.ones(m) if weights is None else np.asarray(weights, dtype=np.float64).copy()

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    Z = np.empty((len(merges), 4))
    for row, i in enumerate(order):
        a, b, h = merges[i]
        ra, rb = find(a), find(b)
        ia, ib = cluster_id[ra], cluster_id[rb]
        Z[row] = (min(ia, ib), max(ia, ib), h, size[ra] + size[rb])
        parent[ra] = rb
        cluster_id[rb] = m + row
        size[rb] = size[ra] + size[rb]
    return Z


def cut_tree(Z: np.ndarray, k: int) -> np.ndarray:
    """Labels 0..k-1 of the n leaves when the tree is cut into k groups.

    The first n-k merges are applied; labels are numbered by first leaf.
    """
    n = len(Z) + 1
    if not 1 <= k <= n:
        raise ValueError(f"k={k} must be between 1 and {n}")
    parent = np.arange(2 * n - 1)
    merged = Z[: n - k, :2].astype(np.int64)
    new_ids = np.arange(n, 2 * n - k)
    parent[merged[:, 0]] = new_ids
    parent[merged[:, 1]] = new_ids
    root = parent[:n].copy()
    while True:
        nxt = parent[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
        parent = parent[parent]
    _, first, labels = np.unique(root, return_index=True, return_inverse=True)
    # Number by order of first appearance so labels do not depend on internal ids.
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[labels.ravel()]


def merge_gaps(Z: np.ndarray, ks: list[int]) -> dict[int, float]:
    """Gap between the merge heights just above and just below a cut into k groups.

    The dendrogram rule cuts where this gap is largest: the merge it skips is
    far more expensive than the ones before it.
    """
    h = Z[:, 2]
    n = len(Z) + 1
    return {k: float(h[n - k] - h[n - k - 1]) for k in ks if 2 <= k <= n - 1}
