"""Words match numbers: on any data, a level or a name never contradicts the means beside it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from custseg.profiling import name_segments, profile_segments

column = st.one_of(
    # any numbers, spread or tied
    arrays(np.float64, st.integers(4, 60), elements=st.floats(-1e6, 1e6, width=32)),
    # 0/1 flags
    arrays(np.float64, st.integers(4, 60), elements=st.sampled_from([0.0, 1.0])),
    # skewed non-negative amounts with many zeros
    arrays(np.float64, st.integers(4, 60), elements=st.sampled_from([0.0, 0.0, 1.0, 3.0, 1e4])),
    # shares
    arrays(np.float64, st.integers(4, 60), elements=st.floats(0, 1)),
)


@settings(max_examples=300, deadline=None)
@given(column, st.integers(1, 4), st.randoms(use_true_random=False))
def test_levels_and_names_agree_with_the_means(values, k, rnd):
    n = len(values)
    labels = np.array([rnd.randrange(k) for _ in range(n)])
    labels[:k] = np.arange(k)[: min(k, n)]  # every segment has someone
    X = values.reshape(-1, 1)
    pop, profiles = profile_segments(X, labels, k, ("Spend",))
    base_mean = pop["Spend"].mean
    names = name_segments(
        [p.levels for p in profiles],
        [p.fine_levels for p in profiles],
        [p.effect for p in profiles],
        ["Spend"],
    )
    for p, name in zip(profiles, names):
        mean = p.stats["Spend"].mean
        for level in (p.levels["Spend"], p.fine_levels["Spend"]):
            if level.endswith("high"):
                assert mean > base_mean
            if level.endswith("low"):
                assert mean < base_mean
        if "High Spend" in name:
            assert mean > base_mean
        if "Low Spend" in name:
            assert mean < base_mean
        if p.size == n:
            assert p.levels["Spend"] == "average"
