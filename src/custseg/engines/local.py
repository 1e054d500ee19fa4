"""The local engine: NumPy, scikit-learn and SciPy on one machine."""

from __future__ import annotations

import warnings

import numpy as np

from ..cluster.hierarchical import linkage_tree, ward_tree
from ..cluster.kmeans import KMeansFit
from ..cluster.lloyd import MAX_FEATURES, group_sums, lloyd, numba_available, supported
from ..cluster.nearest import COMPILED_ROWS, nearest_centres
from ..cluster.sweep import kmeans_sweep, lloyd_from
from .base import MicroClusters, register_engine

ASSIGN_CHUNK = 65_536
#: From this many customers on, a fit started from given centres (the final fit on all
#: customers) runs custseg's fused Lloyd pass (docs/performance.md); below it scikit-learn's
#: iteration is as fast and needs no compiling.
FUSED_LLOYD_ROWS = 200_000
SUMMARY_SAMPLE_PER_MICRO = 50


class LocalEngine:
    name = "local"

    def kmeans(
        self, X: np.ndarray, k: int, *, n_init: int, seed: int, init: np.ndarray | None = None
    ) -> KMeansFit:
        if (
            init is not None
            and len(X) >= FUSED_LLOYD_ROWS
            and supported(X.shape[1], k, np.asarray(X).dtype)
        ):
            return lloyd(X, init)
        if init is not None:
            return lloyd_from(X, init)
        return kmeans_sweep(X, [k], n_init=n_init, seed=seed)[k]

    def kmeans_sweep(
        self, X: np.ndarray, ks: list[int], *, n_init: int, seed: int
    ) -> dict[int, KMeansFit]:
        return kmeans_sweep(X, ks, n_init=n_init, seed=seed)

    def assign(self, X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(X)
        if n >= COMPILED_ROWS and X.shape[1] <= MAX_FEATURES and numba_available():
            return nearest_centres(X, centres)
        labels = np.empty(n, dtype=np.int64)
        dist = np.empty(n, dtype=np.float64)
        c_sq = np.einsum("ij,ij->i", centres, centres)
        for start in range(0, n, ASSIGN_CHUNK):
            block = np.asarray(X[start : start + ASSIGN_CHUNK], dtype=np.float64)
            d2 = np.einsum("ij,ij->i", block, block)[:, None] - 2 * block @ centres.T + c_sq
            lab = np.argmin(d2, axis=1)
            labels[start : start + len(block)] = lab
            dist[start : start + len(block)] = np.sqrt(
                np.maximum(d2[np.arange(len(block)), lab], 0.0)
            )
        return labels, dist

    def summarise(self, X: np.ndarray, m: int, *, seed: int) -> MicroClusters:
        n = len(X)
        if n <= m:
            # Every customer its own micro-cluster: the two-stage tree is then exact Ward.
            labels = np.arange(n, dtype=np.int64)
            counts, sums, sumsq = self.segment_sums(X, labels, n)
            return MicroClusters(counts=counts, sums=sums, sumsq=sumsq, labels=labels)
        from sklearn.cluster import MiniBatchKMeans

        # The centres are learnt on a seeded sample (SUMMARY_SAMPLE_PER_MICRO customers per
        # micro-cluster is plenty to place them); fitting on all rows would also make
        # scikit-learn label every row once more, which dominates the time at 10^7 rows.
        rng = np.random.default_rng(seed)
        size = min(n, SUMMARY_SAMPLE_PER_MICRO * m)
        fit_rows = np.sort(rng.choice(n, size=size, replace=False)) if size < n else slice(None)
        model = MiniBatchKMeans(
            n_clusters=m,
            random_state=seed,
            batch_size=max(4096, 4 * m),
            n_init=1,
            # A few passes place the centres well enough: Ward only needs each micro-cluster
            # to be small and compact, and the summaries below are exact for any partition.
            max_iter=10,
            max_no_improvement=3,
        )
        with warnings.catch_warnings():
            # Duplicate rows can leave fewer distinct centres; empty ones are dropped below.
            warnings.simplefilter("ignore")
            model.fit(X[fit_rows])
        # One pass over every customer with scikit-learn's fused chunked nearest-centre search
        # (no n x m distance matrix in memory).
        labels = np.asarray(model.predict(X), dtype=np.int64)
        counts, sums, sumsq = self.segment_sums(X, labels, m)
        keep = counts > 0
        remap = np.cumsum(keep) - 1
        return MicroClusters(
            counts=counts[keep], sums=sums[keep], sumsq=sumsq[keep], labels=remap[labels]
        )

    def tree(self, X: np.ndarray, linkage: str, weights: np.ndarray | None = None) -> np.ndarray:
        if linkage == "ward" and weights is not None:
            return ward_tree(X, weights)
        return linkage_tree(X, linkage)

    def segment_sums(
        self, X: np.ndarray, labels: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if (
            len(X) >= FUSED_LLOYD_ROWS
            and np.asarray(X).dtype in (np.float32, np.float64)
            and numba_available()
        ):
            return group_sums(X, labels, k)
        counts = np.bincount(labels, minlength=k).astype(np.float64)
        d = X.shape[1]
        sums = np.empty((k, d))
        sumsq = np.empty((k, d))
        for j in range(d):
            col = np.asarray(X[:, j], dtype=np.float64)
            sums[:, j] = np.bincount(labels, weights=col, minlength=k)
            sumsq[:, j] = np.bincount(labels, weights=col * col, minlength=k)
        return counts, sums, sumsq


register_engine("local", LocalEngine)
