"""The local engine: NumPy, scikit-learn and SciPy on one machine."""

from __future__ import annotations

import numpy as np

from ..cluster.hierarchical import linkage_tree, ward_tree
from ..cluster.kmeans import KMeansFit, kmeans
from .base import MicroClusters, register_engine

ASSIGN_CHUNK = 65_536


class LocalEngine:
    name = "local"

    def kmeans(
        self, X: np.ndarray, k: int, *, n_init: int, seed: int, init: np.ndarray | None = None
    ) -> KMeansFit:
        return kmeans(X, k, n_init=n_init, seed=seed, init=init)

    def kmeans_sweep(
        self, X: np.ndarray, ks: list[int], *, n_init: int, seed: int
    ) -> dict[int, KMeansFit]:
        return {k: kmeans(X, k, n_init=n_init, seed=seed) for k in ks}

    def assign(self, X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(X)
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
        from sklearn.cluster import MiniBatchKMeans

        m = min(m, len(X))
        model = MiniBatchKMeans(
            n_clusters=m, random_state=seed, batch_size=max(4096, 4 * m), n_init=1, max_iter=50
        )
        model.fit(X)
        labels, _ = self.assign(X, model.cluster_centers_)
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
