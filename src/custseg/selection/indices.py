"""Cluster-quality indices for one labelling: silhouette, Calinski–Harabasz, Davies–Bouldin."""

from __future__ import annotations

import numpy as np

SILHOUETTE_SAMPLE = 10_000


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
        if len(np.unique(labels[idx])) < 2:
            sil = None
        else:
            sil = float(silhouette_score(X[idx], labels[idx]))
    else:
        sil = float(silhouette_score(X, labels))
    ch = float(calinski_harabasz_score(X, labels))
    db = float(davies_bouldin_score(X, labels))
    return sil, ch, db
