"""A shallow classification tree (CART, Gini) for the surrogate rules of the segments.

The algorithm of scikit-learn's ``DecisionTreeClassifier(max_depth=..., min_samples_leaf=...)``
with every feature considered at every node: the features are read as float32, each node
takes the split with the best Gini proxy over every feature and every position between two
distinct values (more than 1e-7 apart) that leaves ``min_samples_leaf`` customers on each
side, at the midpoint of the two values; a node is a leaf at ``max_depth``, when pure, or
when no split is allowed. Nodes are numbered depth first, left child first. Where two
features split equally well, scikit-learn takes the first in a random order of the
features and this tree the first in column order; otherwise the trees are the same
(tested against scikit-learn). It exists because the surrogate tree is the one part of a
run that needed scikit-learn at all, whose import costs more than a whole run on a
small table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Values closer than this are one value (scikit-learn's FEATURE_THRESHOLD).
FEATURE_THRESHOLD = 1e-7
_EPSILON = np.finfo(np.float64).eps


@dataclass(frozen=True)
class Tree:
    """Nodes in depth-first order; a leaf has ``left == right == -1``.

    ``value`` (n_nodes, n_classes) holds the class counts of the training customers
    reaching each node; ``classes`` the labels of its columns.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    classes: np.ndarray

    @property
    def depth(self) -> int:
        """Edges on the longest path from the root to a leaf."""

        def down(node: int) -> int:
            if self.left[node] < 0:
                return 0
            return 1 + max(down(int(self.left[node])), down(int(self.right[node])))

        return down(0)

    def node_class(self) -> np.ndarray:
        """Index (into ``classes``) of the majority class of each node (ties: the first)."""
        return np.argmax(self.value, axis=1)

    def decision_path(self, X: np.ndarray) -> np.ndarray:
        """(n_customers, n_nodes) booleans: whether each customer passes through each node."""
        X32 = np.asarray(X, dtype=np.float32)
        out = np.zeros((len(X32), len(self.left)), dtype=bool)
        out[:, 0] = True
        for node in range(len(self.left)):  # parents come before their children
            if self.left[node] < 0:
                continue
            here = out[:, node]
            goes_left = X32[:, self.feature[node]] <= self.threshold[node]
            out[:, self.left[node]] = here & goes_left
            out[:, self.right[node]] = here & ~goes_left
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The class of the leaf each customer reaches."""
        path = self.decision_path(X)
        leaves = np.flatnonzero(self.left < 0)
        leaf = leaves[np.argmax(path[:, leaves], axis=1)]
        return self.classes[self.node_class()[leaf]]


def fit_tree(X: np.ndarray, y: np.ndarray, *, max_depth: int, min_samples_leaf: int) -> Tree:
    """Fit the tree to X (n, d) and labels y (n,).

    Examples
    --------
    >>> X = np.array([[1.0], [2.0], [3.0], [10.0], [11.0], [12.0]])
    >>> t = fit_tree(X, np.array([0, 0, 0, 1, 1, 1]), max_depth=3, min_samples_leaf=1)
    >>> t.feature[0], float(t.threshold[0]), t.depth
    (0, 6.5, 1)
    """
    X32 = np.asarray(X, dtype=np.float32)
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    onehot = np.zeros((len(codes), len(classes)))
    onehot[np.arange(len(codes)), codes] = 1.0
    n_total = float(len(codes))
    left: list[int] = []
    right: list[int] = []
    feature: list[int] = []
    threshold: list[float] = []
    value: list[np.ndarray] = []

    def grow(rows: np.ndarray, depth: int) -> int:
        node = len(left)
        counts = onehot[rows].sum(axis=0)
        n = len(rows)
        left.append(-1)
        right.append(-1)
        feature.append(-2)
        threshold.append(-2.0)
        value.append(counts)
        impurity = 1.0 - float((counts * counts).sum()) / (float(n) * float(n))
        if depth >= max_depth or n < 2 or n < 2 * min_samples_leaf or impurity <= _EPSILON:
            return node
        split = _best_split(X32[rows], onehot[rows], counts, min_samples_leaf)
        if split is None:
            return node
        f, thr, goes_left, improvement_terms = split
        n_left = float(goes_left.sum())
        n_right = n - n_left
        imp_left, imp_right = improvement_terms
        improvement = (n / n_total) * (
            impurity - (n_right / n * imp_right) - (n_left / n * imp_left)
        )
        if improvement + _EPSILON < 0.0:
            return node
        feature[node] = f
        threshold[node] = thr
        left[node] = grow(rows[goes_left], depth + 1)
        right[node] = grow(rows[~goes_left], depth + 1)
        return node

    grow(np.arange(len(codes)), 0)
    return Tree(
        left=np.array(left, dtype=np.int64),
        right=np.array(right, dtype=np.int64),
        feature=np.array(feature, dtype=np.int64),
        threshold=np.array(threshold, dtype=np.float64),
        value=np.array(value),
        classes=classes,
    )


def _best_split(
    X32: np.ndarray, onehot: np.ndarray, counts: np.ndarray, min_leaf: int
) -> tuple[int, float, np.ndarray, tuple[float, float]] | None:
    """(feature, threshold, customers going left, (left, right) Gini) of the node's best
    split, or None when no position is allowed."""
    n = len(X32)
    nl = np.arange(1, n, dtype=np.float64)  # customers on the left of position p = 1..n-1
    nr = n - nl
    allowed_size = (nl >= min_leaf) & (nr >= min_leaf)
    best = -np.inf
    found: tuple[int, float] | None = None
    for f in range(X32.shape[1]):
        order = np.argsort(X32[:, f], kind="stable")
        v = X32[order, f].astype(np.float64)
        if v[-1] <= v[0] + FEATURE_THRESHOLD:
            continue  # constant in this node
        left = np.cumsum(onehot[order], axis=0)[:-1]
        right = counts - left
        gini_left = 1.0 - (left * left).sum(axis=1) / (nl * nl)
        gini_right = 1.0 - (right * right).sum(axis=1) / (nr * nr)
        # scikit-learn's proxy of the impurity decrease, in its arithmetic.
        proxy = -nr * gini_right - nl * gini_left
        proxy[~(allowed_size & (v[1:] > v[:-1] + FEATURE_THRESHOLD))] = -np.inf
        i = int(np.argmax(proxy))
        if proxy[i] > best:
            best = float(proxy[i])
            found = (f, v[i] / 2.0 + v[i + 1] / 2.0)
    if found is None:
        return None
    f, thr = found
    goes_left = X32[:, f].astype(np.float64) <= thr
    lc = onehot[goes_left].sum(axis=0)
    rc = counts - lc
    n_l, n_r = float(goes_left.sum()), float(n - goes_left.sum())
    gini_l = 1.0 - float((lc * lc).sum()) / (n_l * n_l)
    gini_r = 1.0 - float((rc * rc).sum()) / (n_r * n_r)
    return f, float(thr), goes_left, (gini_l, gini_r)


__all__ = ["FEATURE_THRESHOLD", "Tree", "fit_tree"]
