"""custseg's Kneedle (selection/kneedle.py) gives kneed's answer on every curve tried."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg.selection.kneedle import kneedle_elbow

kneed = pytest.importorskip("kneed")


def _kneed(x, y, s):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        knee = kneed.KneeLocator(x, y, curve="convex", direction="decreasing", S=s).knee
    return None if knee is None else int(knee)


def test_hand_worked_elbow():
    # Normalised, flipped: y' = [0, .65, .96, .98, .99, 1] against x' = [0, .2, ..., 1]; the
    # difference peaks at k=3 (0.56) and falls below 0.56 - 0.2 right after.
    assert kneedle_elbow([1, 2, 3, 4, 5, 6], [100, 40, 12, 10, 9, 8]) == 3
    assert kneedle_elbow([1, 2, 3], [3.0, 2.0, 1.0]) is None  # a straight line: no knee


@settings(max_examples=300, deadline=None)
@given(
    drops=st.lists(st.floats(0.0, 100.0), min_size=2, max_size=12),
    start=st.integers(1, 3),
    s=st.sampled_from([0.5, 1.0, 2.0]),
    noise=st.booleans(),
)
def test_same_knee_as_kneed(drops, start, s, noise):
    # Decreasing inertia-like curves: cumulative drops, sorted largest first unless noisy.
    steps = np.array(drops if noise else sorted(drops, reverse=True))
    y = 1000.0 - np.concatenate([[0.0], np.cumsum(steps)])
    x = list(range(start, start + len(y)))
    if np.ptp(y) == 0:
        return
    assert kneedle_elbow(x, list(y), sensitivity=s) == _kneed(x, list(y), s)


def test_elbow_does_not_import_kneed_scipy_signal_or_pyplot():
    code = (
        "import sys; from custseg.selection import find_elbow; "
        "find_elbow([1, 2, 3, 4, 5], [100, 30, 12, 10, 9]); "
        "print(sorted({'kneed', 'scipy.signal', 'matplotlib.pyplot'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
