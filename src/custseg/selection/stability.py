"""How far segments survive a resample: bootstrap Jaccard per segment, and per k.

Per segment this is Hennig's ``clusterboot`` (R package fpc; Hennig 2007,
"Cluster-wise assessment of cluster stability", CSDA 52:258-271): draw the
customers with replacement, cluster the resample again, and score each original
segment by the Jaccard similarity with its best-matching segment of the
resample, computed on the distinct customers drawn. The mean over resamples is
the segment's stability, 0 to 1. Reading, from fpc's documentation:

* below 0.6: the segment should not be trusted (*unstable*);
* 0.6 to 0.75: it indicates a pattern, but which customers belong to it is
  highly doubtful (*fairly stable*);
* 0.75 or more: a valid, *stable* segment; 0.85 or more: *highly stable*.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._threads import pool_map

#: Labels of a resample for each k asked: ``fit(X_resample, ks, seed) -> {k: labels}``
#: (labels 0..k-1). All the k of one resample come from one call: one sweep (k-means) or
#: one tree (hierarchical) serves them all.
Fit = Callable[[np.ndarray, list[int], int], dict[int, np.ndarray]]

N_RESAMPLES = 20
UNSTABLE_BELOW = 0.6
STABLE_FROM = 0.75
HIGHLY_STABLE_FROM = 0.85


def stability_word(value: float | None) -> str:
    """Plain-word reading of a bootstrap Jaccard stability (fpc's published thresholds).

    Examples
    --------
    >>> [stability_word(v) for v in (0.95, 0.8, 0.7, 0.4)]
    ['highly stable', 'stable', 'fairly stable', 'unstable']
    """
    if value is None:
        return "not measured"
    if value >= HIGHLY_STABLE_FROM:
        return "highly stable"
    if value >= STABLE_FROM:
        return "stable"
    if value >= UNSTABLE_BELOW:
        return "fairly stable"
    return "unstable"


def best_match_jaccard(reference: np.ndarray, other: np.ndarray, k: int) -> np.ndarray:
    """For each reference segment 0..k-1, its Jaccard similarity with the best ``other`` group.

    Both label arrays describe the same customers. A segment with no customer
    here scores 0.

    Examples
    --------
    >>> best_match_jaccard(np.array([0, 0, 1, 1]), np.array([1, 1, 1, 0]), 2).tolist()
    [0.6666666666666666, 0.5]
    """
    _, other_codes = np.unique(other, return_inverse=True)
    m = int(other_codes.max()) + 1 if len(other_codes) else 0
    table = np.zeros((k, max(m, 1)))
    np.add.at(table, (reference, other_codes), 1.0)
    size_ref = table.sum(axis=1)
    size_other = table.sum(axis=0)
    union = size_ref[:, None] + size_other[None, :] - table
    jaccard = np.divide(table, union, out=np.zeros_like(table), where=union > 0)
    return jaccard.max(axis=1)


def segment_stability(
    X: np.ndarray,
    labels: np.ndarray,
    k: int,
    fit: Fit,
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    parallel: bool = False,
) -> np.ndarray:
    """Mean bootstrap Jaccard of each of the k segments of ``labels`` (as fpc::clusterboot).

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
        The customers that ``labels`` segments (scaled units).
    labels : ndarray of shape (n,), values 0..k-1
    fit : callable
        ``fit(X_resample, [k], seed)`` clusters a resample with the same method (see
        :data:`Fit`).
    n_resamples : int
        Bootstrap resamples (fpc's default is 100; 20 keeps it to seconds).
    parallel : bool
        Cluster the resamples on custseg's threads (for a ``fit`` that releases the GIL,
        as the compiled k-means step does); the same numbers either way.

    Returns
    -------
    ndarray of shape (k,), each in 0..1 (NaN for a segment no resample drew).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.1, (30, 2)), rng.normal(5, 0.1, (30, 2))])
    >>> labels = np.repeat([0, 1], 30)
    >>> def fit(Xb, ks, seed):
    ...     return {k: (Xb[:, 0] > 2.5).astype(int) for k in ks}
    >>> segment_stability(X, labels, 2, fit, n_resamples=5).round(2).tolist()
    [1.0, 1.0]
    """
    draws, boots = _resampled(X, [k], fit, n_resamples, seed, parallel)
    return _mean_jaccard(labels, k, draws, [b[k] for b in boots])


def _resampled(
    X: np.ndarray, ks: list[int], fit: Fit, n_resamples: int, seed: int, parallel: bool
) -> tuple[list[np.ndarray], list[dict[int, np.ndarray]]]:
    """(rows drawn, labels of each k) of each bootstrap resample of X. The draws depend on
    the seed and len(X) only: every k is scored on the same resamples."""
    rng = np.random.default_rng(seed)
    n = len(X)
    draws = [rng.integers(0, n, size=n) for _ in range(n_resamples)]

    def refit(b: int) -> dict[int, np.ndarray]:
        return fit(X[draws[b]], ks, seed + b + 1)

    # On custseg's threads each fit runs its restarts in its own thread; the results are
    # combined in resample order either way.
    resamples = range(n_resamples)
    boots = pool_map(refit, resamples) if parallel else [refit(b) for b in resamples]
    return draws, boots


def _mean_jaccard(
    labels: np.ndarray, k: int, draws: list[np.ndarray], boots: list[np.ndarray]
) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.int64)
    totals = np.zeros(k)
    present = np.zeros(k)
    for rows, boot in zip(draws, boots):
        boot = np.asarray(boot, dtype=np.int64)
        # The Jaccard is taken over the distinct customers drawn (a duplicate is one customer).
        distinct, first = np.unique(rows, return_index=True)
        ref = labels[distinct]
        totals += best_match_jaccard(ref, boot[first], k)
        # A segment none of whose customers was drawn is not scored on that resample.
        present += np.bincount(ref, minlength=k) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present > 0, totals / np.maximum(present, 1), np.nan)


def split_stability(
    X: np.ndarray,
    ks: list[int],
    fit: Fit,
    *,
    n_resamples: int = 10,
    seed: int = 0,
    parallel: bool = False,
) -> dict[int, float]:
    """Stability of the whole partition at each k: the worst segment's bootstrap Jaccard.

    For every k the data are clustered once, and each resample is compared with
    that clustering as in :func:`segment_stability`; the score of k is the mean
    over resamples of its least stable segment. A k that splits a real group, or
    merges two, has one segment that moves from resample to resample.
    """
    if not ks:
        return {}
    full = fit(X, ks, seed)
    draws, boots = _resampled(X, ks, fit, n_resamples, seed, parallel)
    out = {}
    for k in ks:
        per_segment = _mean_jaccard(full[k], k, draws, [b[k] for b in boots])
        out[k] = float(np.nanmin(per_segment)) if np.any(np.isfinite(per_segment)) else 0.0
    return out


def prediction_strength(
    X: np.ndarray, ks: list[int], fit: Fit, *, n_splits: int = 5, seed: int = 0
) -> dict[int, float]:
    """Tibshirani & Walther's (2005) prediction strength of each k, averaged over random halves.

    One half is clustered and its centres label the other half; for the
    worst-predicted segment of the other half's own clustering, the prediction
    strength is the share of its pairs of customers that the centres also put together.
    """
    rng = np.random.default_rng(seed)
    n = len(X)
    sums = dict.fromkeys(ks, 0.0)
    for s in range(n_splits):
        order = rng.permutation(n)
        train, test = X[order[: n // 2]], X[order[n // 2 :]]
        train_by_k, test_by_k = fit(train, ks, seed + s), fit(test, ks, seed + s)
        for k in ks:
            train_labels = np.asarray(train_by_k[k], dtype=np.int64)
            test_labels = np.asarray(test_by_k[k], dtype=np.int64)
            centres = np.array(
                [
                    train[train_labels == j].mean(axis=0)
                    if np.any(train_labels == j)
                    else np.full(X.shape[1], np.inf)
                    for j in range(k)
                ]
            )
            d2 = ((test[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
            predicted = np.argmin(d2, axis=1)
            worst = 1.0
            for j in range(k):
                members = predicted[test_labels == j]
                m = len(members)
                if m < 2:
                    continue
                counts = np.bincount(members)
                together = float((counts * (counts - 1)).sum()) / (m * (m - 1))
                worst = min(worst, together)
            sums[k] += worst
    return {k: v / n_splits for k, v in sums.items()}
