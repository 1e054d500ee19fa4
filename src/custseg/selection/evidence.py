"""Gather the evidence of the combined rule and of per-segment stability for one run.

Resampling costs one clustering per resample, so the curves by k are computed on
a seeded sample of at most ``EVIDENCE_SAMPLE`` customers (the indices of the k
sweep use the whole sweep sample), and each segment's stability on the sweep
sample (at most 20,000 customers; Ward's tree at most ``WARD_STABILITY_SAMPLE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._threads import one_blas_thread
from ..cluster.hierarchical import cut_tree, linkage_tree
from ..cluster.sweep import kmeans_sweep
from .stability import N_RESAMPLES, Fit, segment_stability, split_stability
from .structure import GapCurve, gap_statistic, hopkins

#: Customers the gap and stability curves by k are computed on.
EVIDENCE_SAMPLE = 1_000
#: Resamples per k for the stability curve (per segment of the chosen k: N_RESAMPLES).
CURVE_RESAMPLES = 10
#: Ward's tree is O(n^2) in memory and time: its resamples use at most this many customers.
WARD_STABILITY_SAMPLE = 2_000
#: k-means restarts in each resample (the full fit uses n_init; a resample needs less).
RESAMPLE_N_INIT = 2


def refit(method: str, linkage: str, compiled: bool | None = None) -> Fit:
    """The clustering that resamples are re-clustered with: same method as the run
    (k-means: with the sweep's step, ``compiled``; see
    :func:`custseg.cluster.sweep.compiled_for`). One call serves every k asked: one tree
    cut at each k, or one k-means sweep (each k with its own seeded starts, as alone)."""
    if method == "hierarchical":

        def fit_tree(X: np.ndarray, ks: list[int], seed: int) -> dict[int, np.ndarray]:
            tree = linkage_tree(X, linkage)
            return {k: cut_tree(tree, k) for k in ks}

        return fit_tree

    def fit_kmeans(X: np.ndarray, ks: list[int], seed: int) -> dict[int, np.ndarray]:
        fits = kmeans_sweep(X, ks, n_init=RESAMPLE_N_INIT, seed=seed, compiled=compiled)
        return {k: fit.labels for k, fit in fits.items()}

    return fit_kmeans


@dataclass(frozen=True)
class Curves:
    """Gap curve (k = 1..k_max), worst-segment stability by k, Hopkins, sample size."""

    gap: GapCurve
    stability: dict[int, float]
    hopkins: float
    sample_size: int


def _sample(n: int, size: int, seed: int) -> np.ndarray | None:
    if n <= size:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def k_curves(
    X: np.ndarray,
    ks: list[int],
    *,
    method: str,
    linkage: str,
    seed: int,
    compiled: bool | None = None,
) -> Curves:
    """Gap statistic, stability by k and the Hopkins statistic on a sample of X.

    Parameters
    ----------
    X : ndarray of shape (n, n_features), scaled
    ks : candidate k (the gap curve runs from 1 to max(ks))
    """
    # Hundreds of small fits: starting a thread pool for each costs more than the fit
    # (30x on a busy 2-core machine), so they run on one thread.
    with one_blas_thread():
        return _k_curves(X, ks, method=method, linkage=linkage, seed=seed, compiled=compiled)


def _k_curves(
    X: np.ndarray,
    ks: list[int],
    *,
    method: str,
    linkage: str,
    seed: int,
    compiled: bool | None,
) -> Curves:
    rows = _sample(len(X), EVIDENCE_SAMPLE, seed)
    Xe = np.asarray(X if rows is None else X[rows], dtype=np.float64)
    k_max = min(max(ks), len(Xe) - 1)

    def inertias(Z: np.ndarray, fit_ks: list[int], s: int) -> dict[int, float]:
        fits = kmeans_sweep(Z, fit_ks, n_init=RESAMPLE_N_INIT, seed=s, compiled=compiled)
        return {k: f.inertia for k, f in fits.items()}

    gap = gap_statistic(Xe, max(k_max, 2), inertias, seed=seed)
    fit = refit(method, linkage, compiled)
    usable = [k for k in ks if k < len(Xe)]
    # Resamples in parallel where the fits release the GIL (the compiled k-means step).
    parallel = method == "kmeans" and bool(compiled)
    stability = split_stability(
        Xe, usable, fit, n_resamples=CURVE_RESAMPLES, seed=seed, parallel=parallel
    )
    return Curves(gap=gap, stability=stability, hopkins=hopkins(Xe, seed=seed), sample_size=len(Xe))


def per_segment_stability(
    X: np.ndarray,
    labels: np.ndarray,
    k: int,
    *,
    method: str,
    linkage: str,
    seed: int,
    compiled: bool | None = None,
) -> tuple[np.ndarray, int]:
    """(bootstrap Jaccard of each segment, customers resampled) for the chosen segmentation.

    ``X`` is the sweep sample and ``labels`` (0..k-1) its final segments.
    """
    rows = None
    if method == "hierarchical":
        rows = _sample(len(X), WARD_STABILITY_SAMPLE, seed)
    Xs = np.asarray(X if rows is None else X[rows], dtype=np.float64)
    lab = np.asarray(labels if rows is None else labels[rows], dtype=np.int64)
    with one_blas_thread():
        values = segment_stability(
            Xs,
            lab,
            k,
            refit(method, linkage, compiled),
            n_resamples=N_RESAMPLES,
            seed=seed,
            parallel=method == "kmeans" and bool(compiled),
        )
    return values, len(Xs)
