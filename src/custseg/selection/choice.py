"""custseg's default rule for k: the k ranked best by five kinds of evidence, never tiny.

The rule (``k_rule="combined"``, what ``"auto"`` means; docs/guide.md has the
benchmark behind it):

1. **Big enough.** A k whose smallest segment holds fewer than
   ``max(1% of customers, 10)`` customers is not offered; the customers that
   would form such a segment are reported as atypical instead.
2. **Ranked by five indices.** Every remaining k is ranked by the silhouette,
   the Calinski–Harabasz index, the Davies–Bouldin index, the gap statistic and
   the bootstrap stability of its least stable segment; the k with the lowest
   total rank wins (a Borda count), ties to the smaller k. Each index fails on
   its own kind of data (the silhouette merges nearby groups, Calinski–Harabasz
   over-splits, the gap statistic stops early); summing ranks lets the others
   outvote one index's mistake.

Separately, the gap statistic and the Hopkins statistic say whether there is
group structure at all (:func:`clear_structure`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .structure import GapCurve

MIN_SEGMENT_SHARE = 0.01
MIN_SEGMENT_SIZE = 10


@dataclass(frozen=True)
class KEvidence:
    """Everything the rules read, per candidate k (k = ``ks``)."""

    ks: tuple[int, ...]
    inertia: dict[int, float]
    silhouette: dict[int, float | None]
    calinski: dict[int, float | None]
    davies: dict[int, float | None]
    merge_gap: dict[int, float]
    gap: GapCurve
    stability: dict[int, float]
    smallest: dict[int, int]
    n: int
    extra: dict[str, Any] = field(default_factory=dict)


def min_segment_size(n: int) -> int:
    """The smallest segment the automatic k may produce: 1% of customers, at least 10.

    Examples
    --------
    >>> min_segment_size(200), min_segment_size(5000)
    (10, 50)
    """
    return max(MIN_SEGMENT_SIZE, int(np.ceil(MIN_SEGMENT_SHARE * n - 1e-9)))


def _ranks(ks: tuple[int, ...], scores: dict[int, float | None], lowest: bool) -> dict[int, int]:
    """Rank 0 = best; a k the index could not score ranks last."""
    worst = float("inf")

    def key(k: int) -> float:
        v = scores.get(k)
        if v is None or not np.isfinite(v):
            return worst
        return v if lowest else -v

    order = sorted(ks, key=lambda k: (key(k), k))
    return {k: order.index(k) for k in ks}


def rank_table(ev: KEvidence) -> dict[str, dict[int, int]]:
    """Each index's rank of each candidate k (0 = that index's favourite)."""
    return {
        "silhouette": _ranks(ev.ks, ev.silhouette, lowest=False),
        "calinski": _ranks(ev.ks, ev.calinski, lowest=False),
        "davies": _ranks(ev.ks, ev.davies, lowest=True),
        "gap": _ranks(ev.ks, {k: ev.gap.value(k) for k in ev.ks}, lowest=False),
        "stability": _ranks(ev.ks, dict(ev.stability), lowest=False),
    }


def combined_choice(
    ev: KEvidence, *, min_size: int, min_stability: float | None = None
) -> tuple[int, int, str]:
    """(k, k without the size rule, one-sentence reason) by the rule of this module.

    With ``min_stability`` (used when the data has no clear group structure), only the
    k whose least stable segment reaches it are ranked; when none does, the k whose
    least stable segment is the most stable is taken.

    Examples
    --------
    >>> from custseg.selection.structure import GapCurve
    >>> ev = KEvidence(
    ...     ks=(2, 3, 4), inertia={}, silhouette={2: 0.5, 3: 0.7, 4: 0.6},
    ...     calinski={2: 10.0, 3: 30.0, 4: 40.0}, davies={2: 0.9, 3: 0.5, 4: 0.6},
    ...     merge_gap={}, gap=GapCurve((1, 2, 3, 4), (0, 1, 2, 1.5), (0.1,) * 4),
    ...     stability={2: 0.9, 3: 0.95, 4: 0.6}, smallest={2: 50, 3: 30, 4: 5}, n=100)
    >>> combined_choice(ev, min_size=10)[:2]
    (3, 3)
    """
    ranks = rank_table(ev)
    total = {k: sum(r[k] for r in ranks.values()) for k in ev.ks}
    unconstrained = min(ev.ks, key=lambda k: (total[k], k))
    big = [k for k in ev.ks if ev.smallest.get(k, 0) >= min_size]
    pool = big or list(ev.ks)
    steady = ""
    if min_stability is not None:
        stable = [k for k in pool if ev.stability.get(k, 0.0) >= min_stability]
        if stable:
            pool = stable
            steady = (
                f"; with no clear group structure, only the k whose every segment is stable "
                f"(bootstrap Jaccard {min_stability} or more) are ranked: "
                + ", ".join(str(k) for k in stable)
            )
        else:
            best = max(pool, key=lambda c: (ev.stability.get(c, 0.0), -c))
            reason = (
                f"with no clear group structure and no k whose every segment is stable, k={best} "
                f"is the one whose least stable segment is the most stable "
                f"({ev.stability.get(best, 0.0):.2f})"
            )
            return best, unconstrained, reason
    k = min(pool, key=lambda c: (total[c], c))
    firsts = [name for name, r in ranks.items() if r[k] == 0]
    led = f"; it is the best k by {', '.join(_SHORT[f] for f in firsts)}" if firsts else ""
    reason = (
        f"k={k} ranks best overall across silhouette, Calinski–Harabasz, Davies–Bouldin, "
        f"the gap statistic and bootstrap stability (total rank {total[k]}; 0 = first by "
        f"every index, {5 * (len(ev.ks) - 1)} = last by every index){led}"
    )
    reason += steady
    if not big:
        reason += f"; every k has a segment smaller than {min_size} customers"
    elif unconstrained != k:
        reason += (
            f"; k={unconstrained} ranks higher but has a segment smaller than {min_size} customers"
        )
    return k, unconstrained, reason


_SHORT = {
    "silhouette": "silhouette",
    "calinski": "Calinski–Harabasz",
    "davies": "Davies–Bouldin",
    "gap": "the highest gap statistic",
    "stability": "stability",
}

#: Hopkins statistic from which the customers are clumped rather than spread uniformly.
HOPKINS_CLUMPED = 0.75


def clear_structure(gap: GapCurve, hopkins_value: float) -> tuple[bool, str]:
    """Whether the customers form groups at all, with the evidence in one sentence.

    Both must hold: some k beats k = 1 on the gap statistic by more than its
    standard error (the "global SE max" criterion of R's ``cluster::maxSE``), and
    the Hopkins statistic is at least 0.75 (customers clumped, not spread uniformly).
    One Gaussian blob fails the first; uniform noise fails the second.
    """
    best = int(np.argmax(gap.gap))
    k_best, g_best, se_best = gap.ks[best], gap.gap[best], gap.se[best]
    g1 = gap.gap[0]
    gap_says = k_best > 1 and g1 < g_best - se_best
    clumped = hopkins_value >= HOPKINS_CLUMPED
    gap_text = (
        f"gap statistic {g_best:.2f} at k={k_best} against {g1:.2f} at k=1 "
        f"(standard error {se_best:.2f})"
        if k_best > 1
        else f"the gap statistic is highest at k=1 ({g1:.2f}, standard error {se_best:.2f})"
    )
    evidence = (
        f"{gap_text}; Hopkins statistic {hopkins_value:.2f} "
        f"(0.5 = spread uniformly, 1 = clumped; {HOPKINS_CLUMPED} or more = clumped)"
    )
    if gap_says and clumped:
        return True, "Clear group structure: " + evidence + "."
    why = []
    if not gap_says:
        why.append(
            "the customers are clumped, but as one group: no k splits them better than it "
            "splits data without groups"
            if clumped
            else "no k splits the customers better than it splits data without groups"
        )
    if not clumped:
        why.append("the customers are spread almost uniformly")
    return False, f"No clear structure: {' and '.join(why)} ({evidence})."
