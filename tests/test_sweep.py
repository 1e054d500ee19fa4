"""The k-means sweep (custseg.cluster.sweep) against scikit-learn's KMeans(n_init=10).

Same starts, same segments: the sweep draws scikit-learn's k-means++ starts and runs
scikit-learn's Lloyd iteration and stopping rule, so the fits must match on every k.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from custseg.cluster import sweep as sweep_mod
from custseg.cluster.sweep import NUMPY_MAX_ELEMENTS, kmeans_sweep, lloyd_from


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_hand_worked_three_pairs():
    X = np.array([[0.0, 0], [0, 1], [10, 0], [10, 1], [20, 0], [20, 1]])
    fits = kmeans_sweep(X, [2, 3])
    assert fits[3].inertia == pytest.approx(1.5)
    assert sorted(map(tuple, fits[3].centres.tolist())) == [(0, 0.5), (10, 0.5), (20, 0.5)]
    # k=2: one outer pair alone (0.5), the other four around x = 5 or 15 (4 * 25 + 4 * 0.25).
    assert fits[2].inertia == pytest.approx(0.5 + 101.0)


@pytest.mark.parametrize("n,d", [(300, 3), (4000, 11)])  # NumPy path, compiled path
def test_same_segments_as_sklearn(n, d):
    X, _ = make_blobs(n_samples=n, n_features=d, centers=6, cluster_std=2.5, random_state=1)
    assert (X.size <= NUMPY_MAX_ELEMENTS) == (n == 300)
    fits = kmeans_sweep(X, list(range(2, 9)), n_init=10, seed=3)
    for k, fit in fits.items():
        ref = KMeans(n_clusters=k, n_init=10, random_state=3).fit(X)
        assert fit.inertia == pytest.approx(ref.inertia_, rel=1e-9)
        assert _same_partition(fit.labels, ref.labels_)
        assert fit.n_iter == ref.n_iter_
        assert np.allclose(np.sort(fit.centres, axis=0), np.sort(ref.cluster_centers_, axis=0))


def test_threads_and_paths_agree(monkeypatch):
    X, _ = make_blobs(n_samples=3000, n_features=4, centers=5, random_state=2)
    compiled = kmeans_sweep(X, [3, 5], threads=2)
    one = kmeans_sweep(X, [3, 5], threads=1)
    monkeypatch.setattr(sweep_mod, "NUMPY_MAX_ELEMENTS", 10**9)
    numpy = kmeans_sweep(X, [3, 5], threads=1)
    for k in (3, 5):
        assert np.array_equal(compiled[k].labels, one[k].labels)
        assert np.array_equal(compiled[k].labels, numpy[k].labels)
        assert compiled[k].inertia == pytest.approx(numpy[k].inertia, rel=1e-12)


def test_lloyd_from_equals_sklearn_single_run():
    X, _ = make_blobs(n_samples=5000, n_features=6, centers=4, random_state=4)
    init = X[[0, 1, 2, 3]]
    fit = lloyd_from(X, init)
    ref = KMeans(n_clusters=4, init=init, n_init=1).fit(X)
    assert np.array_equal(fit.labels, ref.labels_)
    assert fit.inertia == pytest.approx(ref.inertia_, rel=1e-9)


def test_empty_centre_falls_back_to_sklearn():
    # A start with a centre far from every customer: it loses them all on the first step.
    X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    fit = lloyd_from(X, np.array([[0.0], [10.0], [1000.0]]))
    ref = KMeans(n_clusters=3, init=np.array([[0.0], [10.0], [1000.0]]), n_init=1).fit(X)
    assert fit.inertia == pytest.approx(ref.inertia_)
    assert len(set(fit.labels.tolist())) == 3


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(20, 200),
    d=st.integers(1, 4),
    k=st.integers(2, 6),
)
def test_property_matches_sklearn(seed, n, d, k):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, d) + rng.integers(0, 3, (n, 1))
    fit = kmeans_sweep(X, [k], n_init=4, seed=seed)[k]
    ref = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(X)
    assert fit.inertia == pytest.approx(ref.inertia_, rel=1e-7)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 300),
    d=st.integers(1, 6),
    k=st.integers(1, 10),
    rounded=st.booleans(),
)
def test_property_seeding_is_sklearns_draw_for_draw(seed, n, d, k, rounded):
    from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

    from custseg.cluster.seeding import kmeans_plusplus

    k = min(k, n)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 100, d)
    if rounded:  # ties between customers and between distances
        X = np.round(X)
    X = X - X.mean(axis=0)
    norms = np.einsum("ij,ij->i", X, X)
    ours, theirs = np.random.RandomState(seed), np.random.RandomState(seed)
    for _ in range(3):  # consecutive starts from one generator, as n_init restarts draw them
        expected = sklearn_kmeans_plusplus(X, k, x_squared_norms=norms, random_state=theirs)[0]
        assert np.array_equal(kmeans_plusplus(X, k, norms, ours), expected)


def test_kmeans_equals_sklearn_kmeans_on_small_fits():
    # The evidence's small fits (n_init=2) go through the sweep: scikit-learn's segments.
    from custseg.cluster.kmeans import kmeans

    X, _ = make_blobs(n_samples=500, n_features=5, centers=4, cluster_std=3.0, random_state=7)
    for k in (2, 4, 7):
        for seed in (0, 11):
            fit = kmeans(X, k, n_init=2, seed=seed)
            ref = KMeans(n_clusters=k, n_init=2, random_state=seed).fit(X)
            assert _same_partition(fit.labels, ref.labels_)
            assert fit.inertia == pytest.approx(ref.inertia_, rel=1e-9)


def test_pool_map_keeps_order_and_runs_inline_in_the_pools_own_threads():
    # A sweep started from a pool task (e.g. a future parallel caller) must not wait on a
    # full pool: inside the pool the work runs in the calling thread.
    import threading

    from custseg._threads import pool_map, shared_pool

    assert pool_map(lambda x: x * x, range(7)) == [0, 1, 4, 9, 16, 25, 36]

    def nested() -> set[str]:
        names = pool_map(lambda _: threading.current_thread().name, range(4))
        return {*names, threading.current_thread().name}

    assert len(shared_pool().submit(nested).result(timeout=30)) == 1
    X, _ = make_blobs(n_samples=2000, n_features=4, centers=3, random_state=5)
    inside = shared_pool().submit(lambda: kmeans_sweep(X, [3], threads=2)).result(timeout=60)
    assert np.array_equal(inside[3].labels, kmeans_sweep(X, [3], threads=2)[3].labels)
