"""The surrogate's tree (custseg.profiling.tree) against scikit-learn's DecisionTreeClassifier.

The same algorithm: on any data the two trees are the same, node for node, except where
two features split a node equally well (scikit-learn then takes the first in a random
order of the features, custseg the first column); such a node is checked to be a tie.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.tree import DecisionTreeClassifier

from custseg.profiling.tree import FEATURE_THRESHOLD, fit_tree


def test_hand_worked_two_levels():
    # x splits 0-1 from 2-3 at 5 (midpoint of 4 and 6); then y splits 2 from 3 at 1.5.
    X = np.array([[1.0, 0], [2, 0], [4, 0], [6, 1], [7, 1], [8, 2], [9, 2]])
    y = np.array([0, 0, 0, 2, 2, 3, 3])
    t = fit_tree(X, y, max_depth=3, min_samples_leaf=1)
    assert t.left.tolist() == [1, -1, 3, -1, -1]
    assert t.feature[[0, 2]].tolist() == [0, 0]
    assert t.threshold[[0, 2]].tolist() == [5.0, 7.5]
    assert t.depth == 2
    assert t.predict(X).tolist() == y.tolist()
    path = t.decision_path(X)
    assert path[:, 0].all() and path[:, 1].sum() == 3 and path[:, 2].sum() == 4


def test_min_samples_leaf_and_depth_are_respected():
    X = np.arange(20.0)[:, None]
    y = (np.arange(20) % 2).astype(int)  # alternating: every split is as bad as another
    t = fit_tree(X, y, max_depth=2, min_samples_leaf=5)
    leaves = t.left < 0
    assert t.depth <= 2
    assert (t.value[leaves].sum(axis=1) >= 5).all()


def _proxy(X32: np.ndarray, y: np.ndarray, classes: np.ndarray, f: int, leaf: int) -> float:
    """The best Gini proxy of feature f on one node's customers (scikit-learn's arithmetic)."""
    onehot = (y[:, None] == classes[None, :]).astype(float)
    n = len(y)
    order = np.argsort(X32[:, f], kind="stable")
    v = X32[order, f].astype(np.float64)
    left = np.cumsum(onehot[order], axis=0)[:-1]
    right = onehot.sum(axis=0) - left
    nl = np.arange(1, n, dtype=float)
    nr = n - nl
    p = -nr * (1 - (right**2).sum(1) / nr**2) - nl * (1 - (left**2).sum(1) / nl**2)
    ok = (nl >= leaf) & (nr >= leaf) & (v[1:] > v[:-1] + FEATURE_THRESHOLD)
    return float(p[ok].max()) if ok.any() else -np.inf


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    n=st.integers(5, 1500),
    d=st.integers(1, 5),
    k=st.integers(2, 7),
    rounded=st.booleans(),
)
def test_property_same_tree_as_sklearn_but_for_ties(seed, n, d, k, rounded):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 1000, d)
    if rounded:  # repeated values, as integer ages and counts
        X = np.round(X / 50)
    y = (rng.integers(0, k, n) + 2 * (X[:, 0] > np.median(X[:, 0]))) % k
    leaf = max(1, n // 100)
    ref = DecisionTreeClassifier(max_depth=3, min_samples_leaf=leaf, random_state=seed).fit(X, y)
    ours = fit_tree(X, y, max_depth=3, min_samples_leaf=leaf)
    t = ref.tree_
    same = (
        np.array_equal(t.children_left, ours.left)
        and np.array_equal(t.feature, ours.feature)
        and np.array_equal(t.threshold, ours.threshold)
    )
    if same:
        assert np.array_equal(ref.predict(X), ours.predict(X))
        assert np.array_equal(ref.decision_path(X).toarray().astype(bool), ours.decision_path(X))
        assert ours.depth == ref.get_depth()
        return
    node = next(
        i
        for i in range(min(len(t.feature), len(ours.feature)))
        if t.feature[i] != ours.feature[i] or t.threshold[i] != ours.threshold[i]
    )
    rows = ref.decision_path(X).toarray()[:, node].astype(bool)
    X32 = X[rows].astype(np.float32)
    classes = np.unique(y)
    theirs = _proxy(X32, y[rows], classes, int(t.feature[node]), leaf)
    mine = _proxy(X32, y[rows], classes, int(ours.feature[node]), leaf)
    assert mine == theirs, "the trees differ where the splits are not tied"
