"""The local engine: NumPy, scikit-learn and SciPy on one machine."""

from __future__ import annotations

import numpy as np

from ..cluster.hierarchical import linkage_tree, ward_tree
from ..cluster.kmeans import KMeansFit
from ..cluster.lloyd import MAX_FEATURES, group_sums, lloyd, numba_available, supported
from ..cluster.nearest import NUMPY_TERMS, nearest_centres
from ..cluster.sweep import kmeans_sweep, lloyd_from
from .base import MicroClusters, register_engine
from .contract import MANY_CENTRES, nearest_of_many

ASSIGN_CHUNK = 65_536
#: From this many customers on, a fit started from given centres (the final fit on all
#: customers) runs custseg's fused Lloyd pass (docs/performance.md); below it scikit-learn's
#: iteration is as fast and needs no compiling.
FUSED_LLOYD_ROWS = 200_000


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
        if len(centres) >= MANY_CENTRES:
            # Micro-clusters: the compiled pass loops over every centre and the matrix
            # product below would hold a chunk x centres matrix; the same search as Spark's.
            return nearest_of_many(X, centres)
        if centres.size <= NUMPY_TERMS or (X.shape[1] <= MAX_FEATURES and numba_available()):
            # Exact squared differences, the same bits with NumPy (small models: nothing to
            # load) or compiled; at every n, so a file's last chunk is assigned as the rest.
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
        from .local_data import LocalData
        from .micro import summarise

        # The same seam calls as every engine (seeded sample_keys sample, assign, sums), so
        # a Spark run finds the same micro-clusters; X is wrapped as it is (no float64 copy).
        data = LocalData(X=X, features=tuple(f"x{j}" for j in range(X.shape[1])))
        summary = summarise(data, m, seed=seed)
        assigned = summary.assigned
        assert isinstance(assigned, LocalData) and assigned.segment is not None
        sums = summary.sums
        return MicroClusters(
            counts=sums.counts,
            sums=sums.sums,
            sumsq=sums.sumsq,
            labels=summary.labels(assigned.segment),
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
