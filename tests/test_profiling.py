"""Profiles, levels and names on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.profiling import display_name, level_of, name_segments, profile_segments


def test_levels_against_the_base_terciles():
    # Feature 0: 0..8; segment 0 = {0,1,2} (low), 1 = {3,4,5} (average), 2 = {6,7,8} (high).
    X = np.arange(9, dtype=float).reshape(-1, 1)
    labels = np.repeat([0, 1, 2], 3)
    pop, profiles = profile_segments(X, labels, 3, ("Income",))
    assert [p.levels["Income"] for p in profiles] == ["low", "average", "high"]
    assert pop["Income"].mean == 4.0
    assert profiles[2].stats["Income"].min == 6.0 and profiles[2].stats["Income"].max == 8.0
    assert profiles[0].share == pytest.approx(1 / 3)
    assert profiles[0].centre == {"Income": 1.0}


def test_level_of_boundaries():
    assert level_of(20.0, (20.0, 40.0)) == "average"
    assert level_of(40.0, (20.0, 40.0)) == "average"
    assert level_of(19.99, (20.0, 40.0)) == "low"


def test_category_distribution_per_segment():
    X = np.array([[0.0], [0.1], [10.0], [10.1]])
    cats = pd.DataFrame({"Gender": ["F", "F", "M", None]})
    _, profiles = profile_segments(X, np.array([0, 0, 1, 1]), 2, ("x",), cats)
    assert profiles[0].categories["Gender"] == {"F": 1.0}
    assert profiles[1].categories["Gender"] == {"(missing)": 0.5, "M": 0.5}


def test_display_name_drops_units():
    assert display_name("Annual Income (k$)") == "Annual Income"
    assert display_name("Spending Score (1-100)") == "Spending Score"
    assert display_name("monthly_spend [EUR]") == "monthly spend"


def test_names_from_levels_and_vocabulary():
    levels = [{"Age": "low", "Spend": "high"}, {"Age": "average", "Spend": "low"}]
    effects = [{"Age": -1.0, "Spend": 1.0}, {"Age": 0.1, "Spend": -1.0}]
    names = name_segments(levels, levels, effects, ["Age", "Spend"], {"Age": {"low": "Younger"}})
    assert names == ["Younger · High Spend", "Average Age · Low Spend"]


def test_names_are_unique():
    levels = [{"x": "high"}, {"x": "high"}, {"x": "high"}]
    fine = [{"x": "very high"}, {"x": "high"}, {"x": "high"}]
    effects = [{"x": 2.0}, {"x": 0.8}, {"x": 0.7}]
    names = name_segments(levels, fine, effects, ["x"])
    assert names == ["Very High x", "High x", "High x (2)"]
    assert len(set(names)) == 3


def test_many_features_name_the_most_distinctive_three():
    feats = ["a", "b", "c", "d", "e"]
    levels = [{"a": "high", "b": "low", "c": "average", "d": "high", "e": "high"}]
    effects = [{"a": 0.6, "b": -2.0, "c": 0.0, "d": 1.5, "e": 0.7}]
    assert name_segments(levels, levels, effects, feats) == ["Low b · High d · High e"]
    avg = [{f: "average" for f in feats}]
    assert name_segments(avg, avg, [{f: 0.0 for f in feats}], feats) == ["Average on Every Feature"]
