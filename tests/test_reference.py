"""The founding analysis of ../shared/data/README.md, reproduced with custseg's defaults."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli
from custseg import SegmentationConfig, segment

INCOME, SPENDING, AGE = "Annual Income (k$)", "Spending Score (1-100)", "Age"


def test_kmeans_income_spending_chooses_five_named_segments(mall_path):
    result = segment(mall_path, SegmentationConfig(features=(INCOME, SPENDING)))
    # The default (combined) rule and the founding analysis's elbow both give 5.
    assert result.k_selection.rule == "combined"
    assert result.k_selection.chosen == 5
    assert result.k_selection.elbow == 5
    assert result.k_selection.clear_structure is True
    assert all(s.stability is not None and s.stability >= 0.85 for s in result.segments)
    assert [s.size for s in result.segments] == [81, 39, 35, 23, 22]
    expected = [
        ((55, 50), "Average Annual Income · Average Spending Score", "lift-spending"),
        ((87, 82), "High Annual Income · High Spending Score", "loyalty"),
        ((88, 17), "High Annual Income · Low Spending Score", "high-value-products"),
        ((26, 21), "Low Annual Income · Low Spending Score", "budget"),
        ((26, 79), "Low Annual Income · High Spending Score", "value-deals"),
    ]
    for seg, (centre, name, rule) in zip(result.segments, expected):
        assert seg.centre[INCOME] == pytest.approx(centre[0], abs=1.5)
        assert seg.centre[SPENDING] == pytest.approx(centre[1], abs=1.5)
        assert seg.name == name
        assert seg.recommendation.rule == rule


def test_ward_age_spending_unscaled_chooses_two(mall_path):
    # The founding analysis cut Ward's tree at its largest gap: the default for
    # hierarchical clustering (--k-rule combined prefers 4 here; see docs/guide.md).
    config = SegmentationConfig(method="hierarchical", features=(AGE, SPENDING), scale="none")
    result = segment(mall_path, config)
    assert result.k_selection.rule == "dendrogram"
    assert [s.size for s in result.segments] == [143, 57]
    young = result.segments[1]
    assert young.stats[AGE].min >= 18 and young.stats[AGE].max <= 40
    assert young.stats[SPENDING].min >= 68 and young.stats[SPENDING].max == 99
    assert young.name == "Younger · High Spending Score"
    assert result.segments[0].levels[SPENDING] == "low"


def test_ward_scaling_is_a_real_choice_and_is_recorded(mall_path):
    config = SegmentationConfig(method="hierarchical", features=(AGE, SPENDING))
    result = segment(mall_path, config)
    assert sorted(s.size for s in result.segments) == [83, 117]
    assert result.to_dict()["scale"] == "standard"


def test_reference_through_the_cli(mall_path, tmp_path):
    out = tmp_path / "result"
    code, stdout, stderr = run_cli(
        "segment", str(mall_path), "--features", f"{INCOME},{SPENDING}", "--out", str(out), "-q"
    )
    assert code == 0, stderr
    doc = json.loads((out / "segments.json").read_text())
    assert doc["k"] == 5
    assert doc["k_selection"]["chosen"] == 5
    assert [s["size"] for s in doc["segments"]] == [81, 39, 35, 23, 22]
    assert "High Annual Income · High Spending Score" in stdout
    assignments = (out / "assignments.csv").read_text().splitlines()
    assert assignments[0] == "CustomerID,segment,segment_name,left_out_reason"
    assert len(assignments) == 201

    out2 = tmp_path / "hier"
    code, stdout, _ = run_cli(
        "segment",
        str(mall_path),
        "--method",
        "hierarchical",
        "--features",
        f"{AGE},{SPENDING}",
        "--scale",
        "none",
        "--k-rule",
        "dendrogram",
        "--out",
        str(out2),
        "-q",
        "--png",
    )
    assert code == 0
    doc = json.loads((out2 / "segments.json").read_text())
    assert [s["size"] for s in doc["segments"]] == [143, 57]
    assert doc["assignment_agreement"] == 0.95
    assert "agrees with the tree for 95.0% of these customers" in stdout
    assert doc["scale"] == "none"
    assert (out2 / "dendrogram.png").stat().st_size > 1000
    assert np.isclose(sum(s["share"] for s in doc["segments"]), 1.0)
