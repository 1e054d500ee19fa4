"""The k-means sweep: n_init restarts for every candidate k, from scikit-learn's own starts.

Choosing k fits k-means ``n_init`` times for each candidate k (90 runs by default) on at
most a sample of customers (the pipeline's ``SWEEP_SAMPLE``). scikit-learn's ``KMeans``
does each run well, but with a fixed cost per call (input checks, an OpenMP team that
spins while it waits: slow on a busy machine) that dominates on everyday tables. Here:

* The starts are scikit-learn's: for each k, ``np.random.RandomState(seed)`` draws the
  k-means++ centres of restart 1, 2, ... in turn as :func:`sklearn.cluster.kmeans_plusplus`
  does (:mod:`.seeding`, draw for draw) on the column-centred data, exactly as
  ``KMeans(n_init=10, random_state=seed)`` does, so the same starts give the same
  segments (up to floating-point rounding of ties).
* Lloyd's iterations and the stopping rule are scikit-learn's (stop when the labels do not
  change, or when the squared shift of the centres is at most ``tol`` times the mean
  feature variance; then label by the last centres), and so is the choice among restarts
  (the lowest inertia, unless it is the same segmentation as the best so far).
* What is shared: the centred copy of the data and its squared norms are made once for
  every k, and the restarts of all k run on a pool of threads (one per core) with a
  compiled iteration that releases the GIL.
* A restart stops early when it cannot end anywhere new. Lloyd's step depends only on the
  labels, so when a restart's labels after a step equal those of a finished restart at a
  step after which that one went on, every later step is the same and so is the result
  (compared by a 128-bit digest of the labels); likewise when they equal a finished
  restart's final labels that the step maps to themselves. The result, and scikit-learn's
  iteration count, are then taken from that restart.
* Small tables (``n_customers * n_features <= NUMPY_MAX_ELEMENTS``) use a NumPy iteration,
  so that a first run on a small table compiles nothing; larger ones compile the iteration
  once per machine with Numba (about 1-2 s, then cached on disk).

Float32 data (large files read by the fast path) get their starts drawn in float32, as
scikit-learn draws them, and are iterated in float64 (scikit-learn iterates in float32):
the fits then agree to float32 precision, not bit for bit.

A run whose centre loses all its customers is redone by scikit-learn from the same start
(scikit-learn moves an empty centre to a far customer, which this iteration does not).
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from dataclasses import replace
from functools import lru_cache

import numpy as np

from .._threads import n_threads, one_blas_thread, pool_map
from .kmeans import KMeansFit
from .seeding import kmeans_plusplus

#: Tables up to this many values (customers x features) are iterated with NumPy: nothing to
#: compile, and fast enough (the compiled iteration pays off from about 10,000 x 3).
NUMPY_MAX_ELEMENTS = 30_000


def _step_numpy(X, centres, labels, sums, counts):  # same contract as _step_numba
    """Label each row by its nearest centre; per-label sums and counts; rows relabelled."""
    cc = np.einsum("ij,ij->i", centres, centres)
    dist = X @ centres.T
    dist *= -2.0
    dist += cc
    new = dist.argmin(axis=1)
    changed = int(np.count_nonzero(new != labels))
    labels[:] = new
    k, d = centres.shape
    counts[:] = np.bincount(new, minlength=k)
    for j in range(d):
        sums[:, j] = np.bincount(new, weights=X[:, j], minlength=k)
    return changed


def _inertia_numpy(X, centres, labels):
    diff = X - centres[labels]
    return float(np.einsum("ij,ij->", diff, diff))


def _step_source(X, centres, labels, sums, counts):  # pragma: no cover - compiled
    """Label each row by its nearest centre; per-label sums and counts; rows relabelled.

    Each centre's score ``|c|^2 - 2 x.c`` is summed over the features in order; four
    centres are scored side by side (four independent sums: the additions of one wait on
    the previous, not on the others'), which gives the same bits, up to 1.7x faster.
    """
    n, d = X.shape
    k = centres.shape[0]
    cc = np.empty(k)
    for c in range(k):
        s = 0.0
        for j in range(d):
            s += centres[c, j] * centres[c, j]
        cc[c] = s
    sums[:] = 0.0
    counts[:] = 0.0
    changed = 0
    k4 = k - k % 4
    for i in range(n):
        best = np.inf
        lab = 0
        for c in range(0, k4, 4):
            s0 = cc[c]
            s1 = cc[c + 1]
            s2 = cc[c + 2]
            s3 = cc[c + 3]
            for j in range(d):
                x2 = 2.0 * X[i, j]
                s0 -= x2 * centres[c, j]
                s1 -= x2 * centres[c + 1, j]
                s2 -= x2 * centres[c + 2, j]
                s3 -= x2 * centres[c + 3, j]
            # Ties go to the first centre, as in scikit-learn.
            if s0 < best:
                best = s0
                lab = c
            if s1 < best:
                best = s1
                lab = c + 1
            if s2 < best:
                best = s2
                lab = c + 2
            if s3 < best:
                best = s3
                lab = c + 3
        for c in range(k4, k):
            s = cc[c]
            for j in range(d):
                s -= 2.0 * X[i, j] * centres[c, j]
            if s < best:
                best = s
                lab = c
        if labels[i] != lab:
            changed += 1
        labels[i] = lab
        counts[lab] += 1.0
        for j in range(d):
            sums[lab, j] += X[i, j]
    return changed


def _inertia_source(X, centres, labels):  # pragma: no cover - compiled
    n, d = X.shape
    total = 0.0
    for i in range(n):
        c = labels[i]
        for j in range(d):
            diff = X[i, j] - centres[c, j]
            total += diff * diff
    return total


@lru_cache(maxsize=1)
def _kernels():
    """The compiled step and inertia. Numba keeps their machine code in its cache (beside
    the package, or its user-wide folder); an unusable cache means compiling in memory."""
    import numba

    X = np.zeros((2, 1))
    C = np.zeros((1, 1))
    labels = np.zeros(2, dtype=np.int64)
    for cache in (True, False):
        try:
            step = numba.njit(nogil=True, cache=cache)(_step_source)
            inertia = numba.njit(nogil=True, cache=cache)(_inertia_source)
            step(X, C, labels, np.zeros((1, 1)), np.zeros(1))
            inertia(X, C, labels)
            return step, inertia
        except Exception:
            if not cache:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def compiled_for(X: np.ndarray) -> bool:
    """Whether the sweep iterates X with the compiled step (more than
    :data:`NUMPY_MAX_ELEMENTS` values, and Numba available).

    The small fits of a run's evidence take the same path as its sweep (passed as
    ``compiled=``): once the compiled step is loaded they are faster with it, and the
    choice still depends on the data only, so a run gives the same numbers every time.
    """
    if X.size <= NUMPY_MAX_ELEMENTS:
        return False
    from .lloyd import numba_available

    return numba_available()


class _Runs:
    """Lloyd runs on one (centred, float64, row-order) matrix, shared by every k."""

    def __init__(
        self, X: np.ndarray, max_iter: int, tol: float, compiled: bool | None = None
    ) -> None:
        self.X = X
        self.max_iter = max_iter
        # scikit-learn's tolerance: tol times the mean feature variance.
        self.threshold = tol * float(np.mean(np.var(X, axis=0)))
        if compiled is None:
            compiled = compiled_for(X)
        if compiled:
            self.step, self.inertia = _kernels()
        else:
            self.step, self.inertia = _step_numpy, _inertia_numpy
        self.lock = threading.Lock()
        # Per k: a digest of the labels after iteration t of a finished run -> (its fit, t,
        # whether t was its last iteration and it stopped there with unchanged labels).
        self.seen: dict[int, dict[bytes, tuple[KMeansFit, int, bool]]] = {}

    def run(self, start: np.ndarray) -> KMeansFit | None:
        """One Lloyd run from ``start`` (k, d); None when a centre lost every customer."""
        X = self.X
        n, d = X.shape
        k = len(start)
        centres = np.array(start, dtype=np.float64)
        labels = np.full(n, -1, dtype=np.int64)
        sums = np.empty((k, d))
        counts = np.empty(k)
        seen = self.seen.setdefault(k, {})
        path: list[bytes] = []
        strict = False
        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            changed = self.step(X, centres, labels, sums, counts)
            if (counts == 0).any():
                return None
            new = sums / counts[:, None]
            shift = float(((new - centres) ** 2).sum())
            centres = new
            stop = changed == 0 or shift <= self.threshold
            if seen:
                digest = _digest(labels)
                hit = seen.get(digest)
                if hit is not None:
                    fit, t, fixed = hit
                    if fixed:
                        # Labels that Lloyd's step maps to themselves: this run ends on that
                        # run's centres and labels, now or after one more (unchanged) step.
                        last = stop or n_iter == self.max_iter
                        return replace(fit, n_iter=n_iter if last else n_iter + 1)
                    if not stop and n_iter + fit.n_iter - t <= self.max_iter:
                        # Same labels, so the same centres, and both runs go on: every later
                        # step is that run's (the same arithmetic on the same numbers).
                        return replace(fit, n_iter=n_iter + fit.n_iter - t)
                path.append(digest)
            else:
                path.append(_digest(labels))
            if stop:
                strict = changed == 0
                break
        if not strict:  # the labels of the last centres, as scikit-learn returns them
            self.step(X, centres, labels, sums, counts)
        fit = KMeansFit(
            centres=centres,
            labels=labels,
            inertia=float(self.inertia(X, centres, labels)),
            n_iter=n_iter,
        )
        with self.lock:
            # The last step's labels only count when they were a fixed point; a run that
            # stopped on the tolerance might have gone on from them.
            for t, digest in enumerate(path[:-1], start=1):
                seen.setdefault(digest, (fit, t, False))
            if strict:
                seen.setdefault(path[-1], (fit, n_iter, True))
        return fit


def _digest(labels: np.ndarray) -> bytes:
    """A 128-bit digest of a labelling: equal labellings meet, unequal ones (2^-128) not."""
    return hashlib.blake2b(labels.tobytes(), digest_size=16).digest()


def _same_clustering(a: np.ndarray, b: np.ndarray, k: int) -> bool:
    """True when two labellings are the same partition up to renumbering."""
    mapping = np.full(k, -1, dtype=np.int64)
    mapping[a] = b
    return bool(np.array_equal(mapping[a], b))


def kmeans_sweep(
    X: np.ndarray,
    ks: list[int],
    *,
    n_init: int = 10,
    seed: int = 0,
    max_iter: int = 300,
    tol: float = 1e-4,
    threads: int | None = None,
    compiled: bool | None = None,
) -> dict[int, KMeansFit]:
    """k-means for every k in ``ks`` on X (n_customers, n_features), keeping the best of
    ``n_init`` restarts for each; the same segments as scikit-learn's
    ``KMeans(n_clusters=k, n_init=n_init, random_state=seed)`` (see the module's notes).
    ``compiled``: iterate with the compiled step (True) or NumPy's (False); by default as
    :func:`compiled_for` decides from X's size (both give the same segments).

    Returns
    -------
    dict mapping each k to its :class:`KMeansFit` (centres in X's units, labels 0..k-1).

    Examples
    --------
    >>> X = np.array([[0.0, 0], [0, 1], [10, 0], [10, 1], [20, 0], [20, 1]])
    >>> fits = kmeans_sweep(X, [2, 3])
    >>> fits[3].inertia, sorted(np.bincount(fits[3].labels).tolist())
    (1.5, [2, 2, 2])
    """
    X = np.asarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    mean = X.mean(axis=0)
    # scikit-learn centres the columns (in X's precision) before seeding and iterating.
    Xc = X - mean
    squared_norms = np.einsum("ij,ij->i", Xc, Xc)
    X64 = np.ascontiguousarray(Xc, dtype=np.float64)
    runs = _Runs(X64, max_iter, tol, compiled)

    starts: dict[int, list[np.ndarray]] = {k: [] for k in ks}

    def seeded():  # the starts in (k, restart) order, each drawn as the runs need it
        for k in ks:
            rng = np.random.RandomState(seed)
            for _ in range(n_init):
                # The seeding's products have a few rows: BLAS's threads cost more than they
                # gain there (twice the time on a busy 2-core machine), and one thread gives
                # the same bits. Only the drawing is limited, not the runs between yields.
                with one_blas_thread():
                    starts[k].append(_start(Xc, k, squared_norms, rng))
                yield starts[k][-1]

    tasks = [(k, r) for k in ks for r in range(n_init)]
    # The NumPy iteration of a small table holds the GIL most of the time: one thread.
    workers = 1 if runs.step is _step_numpy else min(threads or n_threads(), len(tasks))
    # On threads, each run starts as soon as its start is drawn: the seeding (Python, in
    # this thread) overlaps the compiled runs (which release the GIL).
    done = pool_map(runs.run, seeded()) if workers > 1 else [runs.run(s) for s in seeded()]
    results = dict(zip(tasks, done))

    fits: dict[int, KMeansFit] = {}
    for k in ks:
        best: KMeansFit | None = None
        for r in range(n_init):
            fit = results[(k, r)]
            if fit is None:
                fit = _sklearn_from(X64, starts[k][r], max_iter)
            if best is None or (
                fit.inertia < best.inertia and not _same_clustering(fit.labels, best.labels, k)
            ):
                best = fit
        assert best is not None
        fits[k] = KMeansFit(
            centres=best.centres + mean.astype(np.float64),
            labels=best.labels,
            inertia=best.inertia,
            n_iter=best.n_iter,
        )
    return fits


def _start(
    X: np.ndarray, k: int, squared_norms: np.ndarray, rng: np.random.RandomState
) -> np.ndarray:
    """scikit-learn's k-means++ start (custseg's copy on float64, scikit-learn's on float32)."""
    if X.dtype == np.float64:
        return kmeans_plusplus(X, k, squared_norms, rng)
    from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

    return sklearn_kmeans_plusplus(X, k, x_squared_norms=squared_norms, random_state=rng)[0]


def lloyd_from(
    X: np.ndarray, init: np.ndarray, *, max_iter: int = 300, tol: float = 1e-4
) -> KMeansFit:
    """One k-means run on X from the centres ``init`` (k, n_features), as scikit-learn's
    ``KMeans(init=init, n_init=1)``: the final fit on every customer of a mid-sized table."""
    X = np.asarray(X)
    mean = X.mean(axis=0, dtype=np.float64)
    X64 = np.ascontiguousarray(X, dtype=np.float64) - mean
    fit = _Runs(X64, max_iter, tol).run(np.asarray(init, dtype=np.float64) - mean)
    if fit is None:
        fit = _sklearn_from(X64, np.asarray(init, dtype=np.float64) - mean, max_iter)
    return KMeansFit(
        centres=fit.centres + mean, labels=fit.labels, inertia=fit.inertia, n_iter=fit.n_iter
    )


def _sklearn_from(X: np.ndarray, start: np.ndarray, max_iter: int) -> KMeansFit:
    from .kmeans import sklearn_kmeans

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sklearn_kmeans(
            X, len(start), init=np.asarray(start, dtype=np.float64), max_iter=max_iter
        )
