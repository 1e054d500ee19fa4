"""Is there group structure at all? The gap statistic and the Hopkins statistic.

The gap statistic (Tibshirani, Walther & Hastie 2001) compares the log
within-segment sum of squares of the data with its expectation under a
reference without groups: points uniform in the box aligned with the data's
principal components. ``Gap(k) = E*[log W_k] - log W_k``. Its answer is the
smallest k with ``Gap(k) >= Gap(k+1) - s_{k+1}``; when that is k = 1, splitting
the customers explains no more than it would on data without groups, so the
table has no clear structure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: ``inertias(X, ks, seed) -> {k: within-segment sum of squares}`` of k-means fits: all
#: the k of one data set in one call, so that one sweep shares its threads among them.
Inertias = Callable[[np.ndarray, list[int], int], dict[int, float]]

N_REFERENCES = 10


@dataclass(frozen=True)
class GapCurve:
    """Gap statistic by k (k = 1..k_max) and its answer.

    ``gap[i]`` and ``se[i]`` belong to ``ks[i]``; ``se`` is Tibshirani's
    ``s_k = sd_k * sqrt(1 + 1/B)``.
    """

    ks: tuple[int, ...]
    gap: tuple[float, ...]
    se: tuple[float, ...]

    def first_k(self, start: int = 1) -> int | None:
        """The smallest k >= start with Gap(k) >= Gap(k+1) - s_{k+1} (the 1-SE rule)."""
        for i, k in enumerate(self.ks[:-1]):
            if k >= start and self.gap[i] >= self.gap[i + 1] - self.se[i + 1]:
                return k
        return None

    @property
    def k(self) -> int:
        """Tibshirani's estimate over k = 1..k_max (the largest k when no k qualifies)."""
        found = self.first_k(1)
        return found if found is not None else self.ks[-1]

    def value(self, k: int) -> float | None:
        return self.gap[self.ks.index(k)] if k in self.ks else None


def reference_box(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniform in the box of X's principal components, rotated back (option b)."""
    centre = X.mean(axis=0)
    Xc = X - centre
    _, _, vt = np.linalg.svd(Xc, full_matrices=False)
    Z = Xc @ vt.T
    lo, hi = Z.min(axis=0), Z.max(axis=0)
    return rng.uniform(lo, hi, size=(n, Z.shape[1])) @ vt + centre


def gap_statistic(
    X: np.ndarray,
    k_max: int,
    inertias: Inertias,
    *,
    data_inertia: dict[int, float] | None = None,
    n_references: int = N_REFERENCES,
    seed: int = 0,
) -> GapCurve:
    """Gap(k) for k = 1..k_max with ``n_references`` uniform reference sets.

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    k_max : int
    inertias : callable
        ``inertias(X, ks, seed)``: within-segment sum of squares of a k-means fit for each
        k in ``ks`` (all >= 2), as a dict.
    data_inertia : dict, optional
        Inertia of X already known for some k (the k sweep), reused instead of refitting.

    Examples
    --------
    >>> from custseg.cluster.sweep import kmeans_sweep
    >>> def inertias(Z, ks, s):
    ...     return {k: f.inertia for k, f in kmeans_sweep(Z, ks, n_init=2, seed=s).items()}
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(c, 0.3, (50, 2)) for c in ([0, 0], [6, 0], [0, 6])])
    >>> gap_statistic(X, 5, inertias).k
    3
    """
    X = np.asarray(X, dtype=np.float64)
    rng = np.random.default_rng(seed)
    ks = list(range(1, k_max + 1))
    known = data_inertia or {}

    def log_w(Z: np.ndarray, s: int, cached: dict[int, float]) -> list[float]:
        fit = [k for k in ks if k > 1 and k not in cached]
        w = {**cached, **(inertias(Z, fit, s) if fit else {})}
        w[1] = float(((Z - Z.mean(axis=0)) ** 2).sum())
        return [float(np.log(max(w[k], 1e-300))) for k in ks]

    observed = np.array(log_w(X, seed, known))
    refs = np.empty((n_references, len(ks)))
    for b in range(n_references):
        R = reference_box(X, len(X), rng)
        refs[b] = log_w(R, seed + b, {})
    gap = refs.mean(axis=0) - observed
    se = refs.std(axis=0) * np.sqrt(1.0 + 1.0 / n_references)
    return GapCurve(ks=tuple(ks), gap=tuple(gap.tolist()), se=tuple(se.tolist()))


def nearest_squared(A: np.ndarray, X: np.ndarray, j: int) -> np.ndarray:
    """The j smallest squared distances from each row of A to the rows of X, ascending
    (exact, by blocks of A: m x n distances for the at most 100 probes of a sample)."""
    out = np.empty((len(A), j))
    x_norms = np.einsum("ij,ij->i", X, X)
    for start in range(0, len(A), 256):
        block = A[start : start + 256]
        d2 = block @ X.T
        d2 *= -2.0
        d2 += np.einsum("ij,ij->i", block, block)[:, None]
        d2 += x_norms[None, :]
        np.maximum(d2, 0.0, out=d2)
        out[start : start + 256] = np.sort(np.partition(d2, j - 1, axis=1)[:, :j], axis=1)
    return out


def hopkins(
    X: np.ndarray, *, n_probes: int | None = None, n_repeats: int = 10, seed: int = 0
) -> float:
    """Hopkins statistic: about 0.5 for points spread uniformly, towards 1 for clumped points.

    ``H = sum u^d / (sum u^d + sum w^d)`` where u are the distances from uniform
    probes in the data's bounding box to the nearest customer and w those from
    sampled customers to their nearest other customer (d = number of features,
    the form of Wright's R package ``hopkins``, 2022). One draw of probes is noisy
    (the d-th powers let a few distances dominate), so H is averaged over
    ``n_repeats`` draws.

    Examples
    --------
    >>> X = np.random.default_rng(5).uniform(size=(500, 2))
    >>> 0.35 < hopkins(X) < 0.65
    True
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    # Its own random stream: probes drawn with the stream that made the data would sit
    # on top of the customers.
    rng = np.random.default_rng([seed, 0x48])
    m = n_probes or max(1, min(100, n // 10))
    values = []
    for _ in range(n_repeats):
        probes = rng.uniform(X.min(axis=0), X.max(axis=0), size=(m, d))
        sampled = X[rng.choice(n, size=m, replace=False)]
        u = np.sqrt(nearest_squared(probes, X, 1)[:, 0])
        # The nearest customer to a sampled one is itself (or a duplicate, at 0): the next.
        w = np.sqrt(nearest_squared(sampled, X, 2)[:, 1])
        # Distances are rescaled first: u^d overflows in high dimension otherwise.
        scale = max(float(np.max(u)), float(np.max(w)), 1e-300)
        ud, wd = (u / scale) ** d, (w / scale) ** d
        total = ud.sum() + wd.sum()
        values.append(float(ud.sum() / total) if total > 0 else 0.5)
    return float(np.mean(values))
