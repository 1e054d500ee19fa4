"""Micro-clusters over any engine's handle: the first stage of hierarchical clustering above
:data:`custseg.pipeline.EXACT_TREE_LIMIT` customers (docs/performance.md).

The same calls on every engine, so that the same data and seed give the same micro-clusters:

1. :meth:`~custseg.engines.contract.CustomerData.sample` brings the seeded sample
   (:func:`~custseg.engines.contract.sample_keys`: the same rows on every engine) to the
   driver, where :func:`micro_centres` learns the centres with mini-batch k-means;
2. :meth:`~custseg.engines.contract.CustomerData.assign` puts every customer in its nearest
   micro-cluster and :meth:`~custseg.engines.contract.CustomerData.group_sums` returns each
   micro-cluster's count, sum and sum of squares (one pass; exact for that partition).

Ward's tree over the weighted micro-clusters then runs locally
(:func:`custseg.cluster.hierarchical.ward_tree`). When the customers stay on the engine (a
table longer than the driver's head), :meth:`MicroSummary.segments` turns the tree's cut
into each centre's segment and the segments' sums, and
:meth:`~custseg.engines.contract.CustomerData.relabel` gives every customer its
micro-cluster's segment there.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .contract import CustomerData, GroupSums

#: Customers of the seeded sample per micro-cluster: 50 are plenty to place the centres.
SUMMARY_SAMPLE_PER_MICRO = 50


@dataclass(frozen=True)
class MicroSummary:
    """Micro-clusters of an engine's customers.

    sums: count, sum and sum of squares of each non-empty micro-cluster (m', d);
    centres: (m, d) the centres customers were assigned to (empty ones included);
    remap: (m,) index in ``sums`` of each centre's micro-cluster (-1 when empty);
    assigned: the engine's handle with each customer's centre (0..m-1) as its segment.
    """

    sums: GroupSums
    centres: np.ndarray
    remap: np.ndarray
    assigned: CustomerData

    def labels(self, centre: np.ndarray) -> np.ndarray:
        """Micro-cluster (0..m'-1) of customers assigned to ``centre`` (0..m-1)."""
        return self.remap[np.asarray(centre, dtype=np.int64)]

    def segments(self, leaf: np.ndarray, k: int) -> tuple[np.ndarray, GroupSums]:
        """Given the segment (0..k-1) of each micro-cluster, ``leaf`` (m',): the segment of
        each of the m centres (what :meth:`~custseg.engines.contract.CustomerData.relabel`
        maps ``assigned`` with; 0 for an empty centre, which holds no customer) and each
        segment's count, sum and sum of squares (exact, from the micro-clusters' sums)."""
        leaf = np.asarray(leaf, dtype=np.int64)
        of_centre = np.where(self.remap >= 0, leaf[np.maximum(self.remap, 0)], 0)
        return of_centre, merge_groups(self.sums, leaf, k)


def merge_groups(sums: GroupSums, group: np.ndarray, k: int) -> GroupSums:
    """Count (k,), sum and sum of squares (k, d) of k groups of micro-clusters, from the
    micro-clusters' ``sums`` and the group (0..k-1) of each, ``group`` (m',).

    Examples
    --------
    >>> one = np.array([[1.0], [3.0], [5.0]])
    >>> merged = merge_groups(GroupSums(np.ones(3), one, one**2), np.array([0, 0, 1]), 2)
    >>> merged.counts.tolist(), merged.sums.tolist(), merged.sse.tolist()
    ([2.0, 1.0], [[4.0], [5.0]], [2.0, 0.0])
    """
    counts = np.bincount(group, weights=sums.counts, minlength=k)
    total = np.zeros((k, sums.sums.shape[1]))
    np.add.at(total, group, sums.sums)
    squares = np.zeros((k, sums.sumsq.shape[1]))
    np.add.at(squares, group, sums.sumsq)
    return GroupSums(counts=counts, sums=total, sumsq=squares)


def micro_centres(X: np.ndarray, m: int, *, seed: int) -> np.ndarray:
    """At most m micro-cluster centres (m, d) learnt on the sample X (n, d) by mini-batch
    k-means; every row its own centre when there are at most m rows.

    Examples
    --------
    >>> micro_centres(np.array([[0.0], [1.0]]), 5, seed=0).tolist()
    [[0.0], [1.0]]
    """
    X = np.asarray(X, dtype=np.float64)
    if len(X) <= m:
        # Every customer its own micro-cluster: the two-stage tree is then exact Ward.
        return X.copy()
    from sklearn.cluster import MiniBatchKMeans

    model = MiniBatchKMeans(
        n_clusters=m,
        random_state=seed,
        batch_size=max(4096, 4 * m),
        n_init=1,
        # A few passes place the centres well enough: Ward only needs each micro-cluster
        # to be small and compact, and the summaries are exact for any partition.
        max_iter=10,
        max_no_improvement=3,
    )
    with warnings.catch_warnings():
        # Duplicate rows can leave fewer distinct centres; empty ones are dropped later.
        warnings.simplefilter("ignore")
        model.fit(X)
    return np.asarray(model.cluster_centers_, dtype=np.float64)


def summarise(data: CustomerData, m: int, *, seed: int) -> MicroSummary:
    """Summarise an engine's customers (in scaled units) into at most m micro-clusters.

    Parameters
    ----------
    data : CustomerData
        Any engine's handle.
    m : int
        Most micro-clusters.
    seed : int
        Seed of the sample and of mini-batch k-means.

    Returns
    -------
    MicroSummary
        Only the m' sums come back as arrays; each customer's micro-cluster stays on the
        engine (``assigned``).
    """
    sample = data.sample(SUMMARY_SAMPLE_PER_MICRO * m, seed=seed)
    centres = micro_centres(sample.X, m, seed=seed)
    assigned = data.assign(centres)
    sums = assigned.group_sums(len(centres))
    keep = sums.counts > 0
    remap = np.where(keep, np.cumsum(keep) - 1, -1)
    kept = GroupSums(counts=sums.counts[keep], sums=sums.sums[keep], sumsq=sums.sumsq[keep])
    return MicroSummary(sums=kept, centres=centres, remap=remap, assigned=assigned)
