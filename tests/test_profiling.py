"""Profiles, levels and names on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.profiling import (
    column_base,
    display_name,
    infer_kind,
    name_segments,
    profile_segments,
    segment_level,
)


def test_levels_from_the_standardised_difference():
    # Feature 0: 0..8 three times; segment 0 = the 0,1,2s (low), 1 = 3,4,5 (average), 2 = 6,7,8.
    X = np.tile(np.arange(9, dtype=float), 3).reshape(-1, 1)
    labels = np.tile(np.repeat([0, 1, 2], 3), 3)
    pop, profiles = profile_segments(X, labels, 3, ("Income",))
    assert [p.levels["Income"] for p in profiles] == ["low", "average", "high"]
    assert pop["Income"].mean == 4.0
    assert profiles[2].stats["Income"].min == 6.0 and profiles[2].stats["Income"].max == 8.0
    assert profiles[0].share == pytest.approx(1 / 3)
    assert profiles[0].centre == {"Income": 1.0}
    # d = (1 - 4) / sd(0..8) = -3 / 2.582 = -1.16; v = -3 / sqrt(6.667 / 9 * 18 / 26) = -4.19
    ev = profiles[0].evidence["Income"]
    assert ev.effect == pytest.approx(-3 / np.sqrt(60 / 9))
    assert ev.vtest == pytest.approx(-3 / np.sqrt(60 / 9 / 9 * 18 / 26))
    assert ev.fine == "very low"


def test_small_or_chance_differences_are_average():
    base = column_base(np.arange(100, dtype=float))  # mean 49.5, sd 28.87
    # d = 5 / 28.87 = 0.17 < 0.3: small
    assert segment_level(base, 50, 54.5).level == "average"
    # d = 0.52, but 3 customers: v = 15 / sqrt(833.25 / 3 * 97 / 99) = 0.91, could be chance
    assert segment_level(base, 3, 64.5).level == "average"
    assert segment_level(base, 30, 64.5).level == "high"
    # A segment holding every customer is the base.
    assert segment_level(base, 100, 49.5).level == "average"


def test_flags_use_the_rate_ratio():
    flag = np.array([1.0] * 10 + [0.0] * 90)  # base rate 10%
    base = column_base(flag)
    assert infer_kind(flag) == "flag"
    high = segment_level(base, 30, 0.25)  # 2.5x the rate
    assert (high.level, high.fine, high.ratio) == ("high", "very high", 2.5)
    assert segment_level(base, 60, 0.11).level == "average"  # 1.1x: same rate
    assert segment_level(base, 50, 0.0).level == "low"
    # 0.1% reads high nowhere: 2 of 1,000 against 1 in 1,000 is chance.
    rare = column_base(np.array([1.0] + [0.0] * 999))
    assert segment_level(rare, 500, 0.002).level == "average"


def test_skewed_amounts_are_compared_in_robust_units():
    rng = np.random.default_rng(0)
    spend = rng.lognormal(3, 1.2, size=2000)
    base = column_base(spend)
    assert base.robust
    # A third of the base mean is never "high", even if the log-mean were above the base's.
    lv = segment_level(base, 200, base.mean / 3, base.log_mean + 1.0)
    assert lv.level == "average"
    lv = segment_level(base, 200, base.mean / 3, base.log_mean - 1.0)
    assert lv.level == "low"


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
    assert name_segments(avg, avg, [{f: 0.0 for f in feats}], feats) == ["Typical customers"]


def test_surrogate_rule_per_segment_on_separated_groups():
    from custseg.profiling.surrogate import surrogate_rules

    # Three groups on Income, Spend irrelevant: each rule names Income only, exactly.
    income = np.array([10.0, 12, 14, 50, 52, 54, 90, 92, 94])
    spend = np.array([5.0, 50, 95, 5, 50, 95, 5, 50, 95])
    labels = np.repeat([0, 1, 2], 3)
    s = surrogate_rules(np.column_stack([income, spend]), labels, 3, ("Income", "Spend"))
    assert s.fidelity == 1.0
    assert [r.text for r in s.rules] == ["Income <= 32", "32 < Income <= 72", "Income > 72"]
    assert all(r.precision == 1.0 and r.recall == 1.0 for r in s.rules)


def test_surrogate_sibling_leaves_of_one_segment_read_as_one_condition():
    from custseg.profiling.surrogate import surrogate_rules

    rng = np.random.default_rng(1)
    X = rng.uniform(0, 100, size=(2000, 2))
    labels = (X[:, 0] > 60).astype(int)
    # Below a = 60, some of segment 1 where b > 50: the tree splits on b there, and both
    # children still belong to segment 0, so its rule must not fragment into two.
    flip = (X[:, 0] <= 60) & (X[:, 1] > 50) & (rng.uniform(size=2000) < 0.3)
    labels[flip] = 1
    s = surrogate_rules(X, labels, 2, ("a", "b"))
    assert s.rules[0].text.startswith("a <= 60") or s.rules[0].text.startswith("a <= 59")
    assert " or " not in s.rules[0].text and "b" not in s.rules[0].text


def test_rule_thresholds_read_as_people_write_them():
    from custseg.profiling.surrogate import surrogate_rules

    # Two groups split half-way between 62,000 and 73,000: '67,500', not '6.75e+04'.
    X = np.array([[60_000.0], [61_000.0], [62_000.0], [73_000.0], [74_000.0], [75_301.0]])
    s = surrogate_rules(X, np.array([0, 0, 0, 1, 1, 1]), 2, ("Income",))
    assert s.rules[1].text == "Income > 67,500"
    assert "e+" not in s.rules[0].text
