"""Profiles from an engine's aggregates (issue 18): the same profiles as from the arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.profiling import name_segments, profile_segments
from custseg.profiling.profile import (
    FeatureAggregates,
    GroupFigures,
    describe_numeric,
    profile_from_aggregates,
)


def _figures(col: np.ndarray) -> GroupFigures:
    # pandas, not the profile's own NumPy code: an independent computation, as an engine's.
    s = pd.Series(col)
    return GroupFigures(
        n=len(s),
        mean=float(s.mean()),
        median=float(s.median()),
        min=float(s.min()),
        max=float(s.max()),
        std=float(s.std(ddof=0)),
        log_mean=float(np.log1p(s.clip(lower=0)).mean()),
    )


def _aggregates(X: np.ndarray, labels: np.ndarray, k: int) -> list[FeatureAggregates]:
    out = []
    for j in range(X.shape[1]):
        col = X[:, j]
        centred = col - col.mean()
        var = float((centred**2).mean())
        skew = float((centred**3).mean() / var**1.5) if var > 0 else 0.0
        out.append(
            FeatureAggregates(
                base=_figures(col),
                segments=tuple(_figures(col[labels == s]) for s in range(k)),
                skewness=skew,
                binary=bool(np.isin(col, [0.0, 1.0]).all()),
                log_var=float(np.log1p(np.clip(col, 0, None)).var()),
            )
        )
    return out


def _customers(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=n)
    spend = rng.lognormal(3 + 0.6 * labels, 1.0)  # skewed: compared on log(1 + x)
    age = rng.normal(30 + 8 * labels, 6)
    churned = (rng.random(n) < 0.1 + 0.15 * (labels == 2)).astype(float)  # a flag
    share = rng.beta(2 + labels, 5)  # within 0..1
    X = np.column_stack([spend, age, churned, share])
    region = np.array(["north", "south", "east"])[rng.integers(0, 3, size=n)].astype(object)
    region[rng.random(n) < 0.05] = None
    cats = pd.DataFrame({"Region": region, "Complain": (rng.random(n) < 0.2 + 0.2 * (labels == 1))})
    return X, labels, cats


def test_profiles_from_aggregates_equal_profiles_from_arrays():
    X, labels, cats = _customers()
    features = ("Spend", "Age", "Churned", "Share")
    k = 4
    pop, profiles = profile_segments(X, labels, k, features, cats)
    counts = {
        "Region": [
            {
                (None if pd.isna(v) else v): int(c)
                for v, c in cats["Region"][labels == s].value_counts(dropna=False).items()
            }
            for s in range(k)
        ],
        "Complain": [
            {str(v): int(c) for v, c in cats["Complain"][labels == s].value_counts().items()}
            for s in range(k)
        ],
    }
    pop2, profiles2 = profile_from_aggregates(
        _aggregates(X, labels, k), features, counts, describe_numeric(cats, labels, k)
    )
    for f in features:
        assert pop2[f].mean == pytest.approx(pop[f].mean, rel=1e-12)
        assert pop2[f].std == pytest.approx(pop[f].std, rel=1e-9)
        assert pop2[f].median == pytest.approx(pop[f].median, rel=1e-12)
    for a, b in zip(profiles, profiles2, strict=True):
        assert (a.size, a.share) == (b.size, b.share)
        assert a.levels == b.levels and a.fine_levels == b.fine_levels
        assert a.distinctive == b.distinctive
        assert a.categories == b.categories
        assert a.described == b.described
        for f in features:
            assert b.effect[f] == pytest.approx(a.effect[f], rel=1e-9, abs=1e-12)
            assert b.evidence[f].vtest == pytest.approx(a.evidence[f].vtest, rel=1e-9, abs=1e-12)
            sa, sb = a.stats[f], b.stats[f]
            assert (sb.min, sb.max) == (sa.min, sa.max)
            assert sb.mean == pytest.approx(sa.mean, rel=1e-12)
            assert sb.median == pytest.approx(sa.median, rel=1e-12)
            assert sb.std == pytest.approx(sa.std, rel=1e-9)
    # The words agree too: the names are computed from the levels.
    names = [
        name_segments(
            [p.levels for p in ps], [p.fine_levels for p in ps], [p.effect for p in ps], features
        )
        for ps in (profiles, profiles2)
    ]
    assert names[0] == names[1]
    # The kinds were recognised from the aggregates alone: Spend robust, Churned a flag.
    assert profiles2[0].evidence["Churned"].ratio is not None
    assert profiles2[0].evidence["Share"].ratio is not None
    assert profiles2[0].evidence["Age"].ratio is None


def test_hand_worked_aggregates():
    # Segment 0: 0, 1, 2 (mean 1); segment 1: 6, 7, 8 (mean 7); base mean 4, variance
    # (16+9+4+4+9+16)/6 = 58/6. d = (1 - 4) / sqrt(58/6) = -0.965: low; the v-test
    # -3 / sqrt(58/6 / 3 * 3 / 5) = -3.86 is significant.
    seg = (
        GroupFigures(n=3, mean=1.0, median=1.0, min=0.0, max=2.0, std=np.sqrt(2 / 3)),
        GroupFigures(n=3, mean=7.0, median=7.0, min=6.0, max=8.0, std=np.sqrt(2 / 3)),
    )
    base = GroupFigures(n=6, mean=4.0, median=4.0, min=0.0, max=8.0, std=np.sqrt(58 / 6))
    agg = FeatureAggregates(base=base, segments=seg, skewness=0.0, binary=False)
    pop, profiles = profile_from_aggregates(
        [agg], ("Income",), {"Gender": [{"F": 3}, {"M": 2, None: 1}]}
    )
    assert [p.levels["Income"] for p in profiles] == ["low", "high"]
    assert profiles[0].evidence["Income"].effect == pytest.approx(-3 / np.sqrt(58 / 6))
    assert profiles[0].evidence["Income"].vtest == pytest.approx(-3 / np.sqrt(58 / 6 / 3 * 3 / 5))
    assert profiles[1].categories["Gender"] == {"M": 2 / 3, "(missing)": 1 / 3}
    assert pop["Income"].max == 8.0 and profiles[0].share == 0.5
