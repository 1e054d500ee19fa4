"""k-means and hierarchical maths on tiny hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score

from custseg.cluster import cut_tree, kmeans, merge_gaps, ward_tree


def test_kmeans_four_customers_known_centres_and_inertia():
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0]])
    fit = kmeans(X, 2, seed=0)
    centres = sorted(map(tuple, fit.centres.round(9)))
    assert centres == [(0.0, 1.0), (10.0, 1.0)]
    assert fit.inertia == pytest.approx(4.0)
    assert fit.labels[0] == fit.labels[1] != fit.labels[2] == fit.labels[3]


def test_kmeans_same_seed_same_result():
    X = np.random.default_rng(1).normal(size=(300, 3))
    a, b = kmeans(X, 4, seed=7), kmeans(X, 4, seed=7)
    assert np.array_equal(a.labels, b.labels)
    assert a.inertia == b.inertia


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ward_tree_equals_scipy_ward_on_singletons(seed):
    X = np.random.default_rng(seed).normal(size=(60, 3))
    ours = ward_tree(X)
    ref = linkage(X, "ward")
    assert np.allclose(ours[:, 2], ref[:, 2])
    assert np.array_equal(ours[:, 3], ref[:, 3])
    for k in (2, 3, 5):
        assert adjusted_rand_score(cut_tree(ours, k), cut_tree(ref, k)) == 1.0


def test_weighted_ward_equals_ward_on_duplicated_points():
    rng = np.random.default_rng(3)
    C = rng.normal(size=(15, 2)) * 5
    w = rng.integers(1, 4, size=15)
    expanded = np.repeat(C, w, axis=0)
    ref = linkage(expanded, "ward")
    ours = ward_tree(C, w)
    # The top merges of the expanded tree are the weighted tree's merges.
    assert np.allclose(ours[:, 2], ref[-(len(C) - 1) :, 2])


def test_cut_tree_matches_fcluster():
    X = np.random.default_rng(4).normal(size=(80, 2))
    Z = linkage(X, "ward")
    for k in (2, 4, 7):
        ref = fcluster(Z, k, "maxclust")
        assert adjusted_rand_score(cut_tree(Z, k), ref) == 1.0
        assert len(np.unique(cut_tree(Z, k))) == k


def test_merge_gaps_hand_worked():
    # Points 0, 1, 10, 11 on a line: merges at 1, 1 (pairs) then a big one.
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    Z = linkage(X, "single")
    gaps = merge_gaps(Z, [2, 3])
    assert gaps[2] == pytest.approx(9.0 - 1.0)
    assert gaps[3] == pytest.approx(0.0)
