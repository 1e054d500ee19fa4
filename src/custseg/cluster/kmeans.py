"""k-means (Lloyd's algorithm with k-means++ seeding and restarts)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KMeansFit:
    """centres: (k, n_features); labels: (n_customers,) in 0..k-1; inertia: within-segment SS."""

    centres: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int


def kmeans(
    X: np.ndarray,
    k: int,
    *,
    n_init: int = 10,
    seed: int = 0,
    init: np.ndarray | None = None,
    max_iter: int = 300,
    sample_weight: np.ndarray | None = None,
    compiled: bool | None = None,
) -> KMeansFit:
    """Fit k-means on X of shape (n_customers, n_features).

    With ``init`` (k, n_features) the fit starts from those centres once;
    otherwise k-means++ seeding is restarted ``n_init`` times and the best
    (lowest inertia) run is kept. The same ``seed`` gives the same result, and the
    same segments as scikit-learn's ``KMeans(n_init=n_init, random_state=seed)``:
    unweighted fits run custseg's sweep (:mod:`custseg.cluster.sweep`: scikit-learn's
    starts, iteration and stopping rule, without its fixed cost per call; ``compiled`` as
    there), weighted ones scikit-learn itself.

    Examples
    --------
    >>> X = np.array([[0.0, 0], [0, 1], [10, 0], [10, 1]])
    >>> fit = kmeans(X, 2, seed=0)
    >>> sorted(fit.centres[:, 0].tolist()), fit.inertia
    ([0.0, 10.0], 1.0)
    """
    if sample_weight is None:
        from .sweep import kmeans_sweep, lloyd_from

        if init is not None:
            return lloyd_from(X, init, max_iter=max_iter)
        return kmeans_sweep(X, [k], n_init=n_init, seed=seed, max_iter=max_iter, compiled=compiled)[
            k
        ]
    return sklearn_kmeans(
        X, k, n_init=n_init, seed=seed, init=init, max_iter=max_iter, sample_weight=sample_weight
    )


def sklearn_kmeans(
    X: np.ndarray,
    k: int,
    *,
    n_init: int = 10,
    seed: int = 0,
    init: np.ndarray | None = None,
    max_iter: int = 300,
    sample_weight: np.ndarray | None = None,
) -> KMeansFit:
    """:func:`kmeans` by scikit-learn's ``KMeans`` (weighted fits, and runs whose centre
    lost every customer: scikit-learn moves it to a far customer)."""
    from sklearn.cluster import KMeans

    model = KMeans(
        n_clusters=k,
        init="k-means++" if init is None else init,
        n_init=n_init if init is None else 1,
        max_iter=max_iter,
        random_state=seed,
        algorithm="lloyd",
    )
    with warnings.catch_warnings():
        # Duplicate points can make sklearn warn about fewer distinct clusters;
        # callers check distinct rows before asking for k.
        warnings.simplefilter("ignore")
        model.fit(X, sample_weight=sample_weight)
    return KMeansFit(
        centres=np.asarray(model.cluster_centers_, dtype=np.float64),
        labels=np.asarray(model.labels_, dtype=np.int64),
        inertia=float(model.inertia_),
        n_iter=int(model.n_iter_),
    )
