"""A short readable rule per segment, from a shallow decision tree that imitates the segments.

Centres and levels say what a segment is like on average; a rule says who is in it,
in the units of the data ("Annual Income (k$) > 69.5 and Spending Score (1-100) <= 40.5"). A
decision tree of depth at most :data:`MAX_DEPTH` is fitted to predict the segments
from the features (a *surrogate* of the clustering, as in interpretable-ML practice);
each segment's rule is the path to the leaves the tree gives it, and how far to trust
the rule is stated as the tree's **fidelity** (the share of customers whose segment it
predicts), and per segment its **precision** (the share of customers matching the rule
who are in the segment) and **recall** (the share of the segment the rule covers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .tree import Tree, fit_tree

MAX_DEPTH = 3
MAX_LEAVES_PER_RULE = 2
SAMPLE = 20_000
"""The tree learns on a seeded sample of at most this many customers (seconds at any n)."""


@dataclass(frozen=True)
class SegmentRule:
    """Who is in one segment, as a rule over the features."""

    text: str
    precision: float
    recall: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "precision": self.precision, "recall": self.recall}


@dataclass(frozen=True)
class Surrogate:
    """The surrogate tree: fidelity, depth, and one rule per segment."""

    depth: int
    fidelity: float
    n_customers: int
    rules: tuple[SegmentRule | None, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "fidelity": self.fidelity,
            "n_customers": self.n_customers,
        }


def _fmt(value: float) -> str:
    """A threshold as people write it: '352.5', '67,650' (never '6.765e+04')."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _regions(tree: Tree) -> list[tuple[int, int, list[tuple[int, str, float]]]]:
    """(node, class, path) for the largest subtrees whose leaves all predict one class,
    so that two sibling leaves of one segment read as one condition, not two."""
    leaf_class = tree.node_class()

    def uniform(node: int) -> int | None:
        left, right = int(tree.left[node]), int(tree.right[node])
        if left < 0:
            return int(leaf_class[node])
        a, b = uniform(left), uniform(right)
        return a if a is not None and a == b else None

    out: list[tuple[int, int, list[tuple[int, str, float]]]] = []
    stack: list[tuple[int, list[tuple[int, str, float]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        cls = uniform(node)
        if cls is not None:
            out.append((node, int(tree.classes[cls]), path))
            continue
        f, thr = int(tree.feature[node]), float(tree.threshold[node])
        stack.append((int(tree.right[node]), [*path, (f, ">", thr)]))
        stack.append((int(tree.left[node]), [*path, (f, "<=", thr)]))
    out.sort(key=lambda r: r[0])
    return out


def _simplify(path: list[tuple[int, str, float]], names: list[str]) -> str:
    """One bound per feature and side: 'a > 3 and a > 5' reads 'a > 5'; both sides read
    '3 < a <= 7'."""
    lower: dict[int, float] = {}
    upper: dict[int, float] = {}
    order: list[int] = []
    for f, op, thr in path:
        if f not in order:
            order.append(f)
        if op == ">":
            lower[f] = max(lower.get(f, -np.inf), thr)
        else:
            upper[f] = min(upper.get(f, np.inf), thr)
    parts = []
    for f in order:
        name = names[f]
        if f in lower and f in upper:
            parts.append(f"{_fmt(lower[f])} < {name} <= {_fmt(upper[f])}")
        elif f in lower:
            parts.append(f"{name} > {_fmt(lower[f])}")
        else:
            parts.append(f"{name} <= {_fmt(upper[f])}")
    return " and ".join(parts) if parts else "every customer"


def surrogate_rules(
    X: np.ndarray, labels: np.ndarray, k: int, features: tuple[str, ...], seed: int = 0
) -> Surrogate:
    """Fit the surrogate tree on X (n_customers, n_features, original units) and labels
    0..k-1; return its fidelity and one rule per segment (``None`` for a segment the tree
    gives no leaf: its customers are predicted as others).

    Examples
    --------
    >>> X = np.array([[1.0], [2.0], [3.0], [10.0], [11.0], [12.0]])
    >>> s = surrogate_rules(X, np.array([0, 0, 0, 1, 1, 1]), 2, ("Spend",))
    >>> s.fidelity, s.rules[1].text
    (1.0, 'Spend > 6.5')
    """
    n = len(X)
    rows = np.arange(n)
    if n > SAMPLE:
        rows = np.sort(np.random.default_rng(seed).choice(n, SAMPLE, replace=False))
    Xt, yt = np.asarray(X[rows], dtype=np.float64), labels[rows]
    tree = fit_tree(Xt, yt, max_depth=MAX_DEPTH, min_samples_leaf=max(1, len(rows) // 100))
    fidelity = float((tree.predict(Xt) == yt).mean())
    regions = _regions(tree)
    in_node = tree.decision_path(Xt)  # customers x nodes: who passes each node
    names = list(features)
    rules: list[SegmentRule | None] = []
    for s in range(k):
        members = yt == s
        mine = [(node, path) for node, cls, path in regions if cls == s]
        if not mine or not members.any():
            rules.append(None)
            continue

        # The regions holding most of the segment, at most two, read best.
        masks = {node: in_node[:, node] for node, _ in mine}
        mine.sort(key=lambda r: (-int((members & masks[r[0]]).sum()), r[0]))
        kept = mine[:MAX_LEAVES_PER_RULE]
        covered = np.logical_or.reduce([masks[node] for node, _ in kept])
        texts = [_simplify(path, names) for _, path in kept]
        text = texts[0] if len(texts) == 1 else " or ".join(f"({t})" for t in texts)
        rules.append(
            SegmentRule(
                text=text,
                precision=float((members & covered).sum() / max(1, covered.sum())),
                recall=float((members & covered).sum() / members.sum()),
            )
        )
    return Surrogate(
        depth=tree.depth,
        fidelity=fidelity,
        n_customers=len(rows),
        rules=tuple(rules),
    )
