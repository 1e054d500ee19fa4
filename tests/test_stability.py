"""Segments you can trust: group structure, per-segment stability, tiny segments, the rule."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from custseg import SegmentationConfig, segment
from custseg.cluster.kmeans import kmeans
from custseg.report.text import summary_lines
from custseg.selection.choice import KEvidence, combined_choice, min_segment_size
from custseg.selection.stability import best_match_jaccard, segment_stability, stability_word
from custseg.selection.structure import GapCurve, hopkins


def blobs(k: int, n_per: int = 60, seed: int = 0, spread: float = 0.5) -> pd.DataFrame:
    """k tight groups on a circle of radius 10 in two features."""
    rng = np.random.default_rng(seed)
    angles = np.linspace(0, 2 * np.pi, k, endpoint=False)
    centres = 10 * np.column_stack([np.cos(angles), np.sin(angles)])
    X = np.vstack([rng.normal(c, spread, size=(n_per, 2)) for c in centres])
    return pd.DataFrame(X, columns=["spend", "visits"])


def uniform(n: int = 300, seed: int = 3) -> pd.DataFrame:
    X = np.random.default_rng(seed).uniform(0, 100, size=(n, 2))
    return pd.DataFrame(X, columns=["spend", "visits"])


def one_blob(n: int = 300, seed: int = 4) -> pd.DataFrame:
    X = np.random.default_rng(seed).normal(50, 10, size=(n, 3))
    return pd.DataFrame(X, columns=["spend", "visits", "tenure"])


FAST = {"n_init": 3, "k_max": 8}


def _fit(X: np.ndarray, ks: list[int], seed: int) -> dict[int, np.ndarray]:
    return {k: kmeans(X, k, n_init=2, seed=seed).labels for k in ks}


# --- hand-worked pieces ---------------------------------------------------------------


def test_best_match_jaccard_by_hand():
    # Segment 0 = {0, 1}; its best match {0, 1, 2}: 2 shared / 3 in the union.
    # Segment 1 = {2, 3}; best match {3} (1/2) beats {0, 1, 2} (1/4).
    jac = best_match_jaccard(np.array([0, 0, 1, 1]), np.array([1, 1, 1, 0]), 2)
    assert jac.tolist() == pytest.approx([2 / 3, 1 / 2])


def test_absent_segment_scores_zero_in_best_match():
    assert best_match_jaccard(np.array([0, 0]), np.array([0, 0]), 2).tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (1.0, "highly stable"),
        (0.85, "highly stable"),
        (0.84, "stable"),
        (0.75, "stable"),
        (0.74, "fairly stable"),
        (0.6, "fairly stable"),
        (0.59, "unstable"),
        (None, "not measured"),
    ],
)
def test_stability_words_follow_fpc_thresholds(value, word):
    assert stability_word(value) == word


def test_min_segment_size_is_one_percent_and_at_least_ten():
    assert [min_segment_size(n) for n in (50, 1000, 1001, 20_000)] == [10, 10, 11, 200]


def test_combined_rule_skips_a_k_with_a_tiny_segment():
    gap = GapCurve((1, 2, 3, 4), (0.0, 1.0, 2.0, 3.0), (0.1,) * 4)
    ev = KEvidence(
        ks=(2, 3, 4),
        inertia={},
        silhouette={2: 0.5, 3: 0.6, 4: 0.7},
        calinski={2: 10.0, 3: 20.0, 4: 30.0},
        davies={2: 0.9, 3: 0.8, 4: 0.7},
        merge_gap={},
        gap=gap,
        stability={2: 0.7, 3: 0.8, 4: 0.9},
        smallest={2: 100, 3: 40, 4: 3},
        n=200,
    )
    # k=4 is first by every index but has a segment of 3 customers.
    k, best, reason = combined_choice(ev, min_size=10)
    assert (k, best) == (3, 4)
    assert "k=4 ranks higher but has a segment smaller than 10 customers" in reason


# --- stability of segments --------------------------------------------------------------


def test_well_separated_segments_are_stable():
    X = blobs(4).to_numpy()
    labels = _fit(X, [4], 0)[4]
    values = segment_stability(X, labels, 4, _fit, n_resamples=20, seed=0)
    assert values.min() > 0.95


def test_splitting_one_blob_is_unstable():
    X = np.random.default_rng(1).normal(size=(300, 2))
    labels = _fit(X, [6], 0)[6]
    values = segment_stability(X, labels, 6, _fit, n_resamples=20, seed=0)
    assert values.min() < 0.75
    assert values.mean() < 0.85


def test_stability_in_result_json_and_summary(tmp_path):
    path = tmp_path / "c.csv"
    blobs(3).to_csv(path, index=False)
    out = tmp_path / "o"
    code, stdout, err = run_cli("segment", str(path), "--out", str(out), "--no-plots")
    assert code == 0, err
    doc = json.loads((out / "segments.json").read_text())
    assert doc["k"] == 3
    for seg in doc["segments"]:
        assert 0.95 <= seg["stability"] <= 1.0
        assert seg["stability_reading"] == "highly stable"
    assert doc["k_selection"]["stability_resamples"] == 20
    assert doc["k_selection"]["stability_sample_size"] == 180
    assert "stability 1.00 (highly stable)" in stdout
    assert (
        "stability: mean Jaccard agreement of each segment with its best match over 20 "
        "bootstrap resamples of 180 customers" in stdout
    )
    html = (out / "report.html").read_text()
    assert "Stability <strong>1.00</strong>: highly stable" in html
    # The note holds the reason, so no "Why k=3:" line repeats it under the note.
    reason = doc["k_selection"]["reason"]
    assert reason in html and "Why k=3:" not in html


# --- is there structure at all? ---------------------------------------------------------


def test_clear_structure_on_well_separated_blobs():
    result = segment(blobs(4), SegmentationConfig(**FAST))
    sel = result.k_selection
    assert sel.rule == "combined"
    assert sel.chosen == 4
    assert sel.clear_structure is True
    assert sel.structure_note.startswith("Clear group structure: gap statistic")
    assert sel.hopkins > 0.9


@pytest.mark.parametrize("data", [uniform(), one_blob()], ids=["uniform", "one blob"])
def test_no_clear_structure_is_an_answer_with_a_segmentation(data):
    result = segment(data, SegmentationConfig(**FAST))
    sel = result.k_selection
    assert sel.clear_structure is False
    assert sel.structure_note.startswith("No clear structure:")
    assert "Hopkins statistic" in sel.structure_note
    assert "partition of a continuum" in "\n".join(summary_lines(result))
    assert "No clear" not in sel.note  # said once, by the structure note
    assert result.k >= 2  # best effort, still given
    assert result.to_dict()["k_selection"]["clear_structure"] is False
    # Without groups the automatic k keeps to slices that resampling reproduces.
    assert sel.rule == "combined"
    stable = [c.k for c in sel.candidates if (c.stability or 0) >= 0.75]
    if stable:
        assert result.k in stable and "only the k whose every segment is stable" in sel.note
    else:
        best = max(sel.candidates, key=lambda c: (c.stability or 0, -c.k))
        assert result.k == best.k and "the most stable" in sel.note
    if sel.hopkins >= 0.75:
        assert "clumped, but as one group" in sel.structure_note


def test_an_explicit_combined_rule_is_kept_without_structure():
    result = segment(one_blob(), SegmentationConfig(**{**FAST, "k_rule": "combined"}))
    assert result.k_selection.clear_structure is False
    assert result.k_selection.rule == "combined"


def test_no_clear_structure_with_a_fixed_k_still_gives_that_k(tmp_path):
    path = tmp_path / "flat.csv"
    uniform().to_csv(path, index=False)
    out = tmp_path / "o"
    code, stdout, err = run_cli("segment", str(path), "--k", "4", "--out", str(out), "--no-plots")
    assert code == 0, err
    doc = json.loads((out / "segments.json").read_text())
    assert doc["k"] == 4 and doc["k_selection"]["clear_structure"] is False
    assert (
        "These segments are a partition of a continuum: useful to divide customers into "
        "groups of similar size and profile, not natural groups." in stdout
    )
    assert "No clear structure." in (out / "report.html").read_text()


def test_hopkins_separates_uniform_from_clumped():
    rng = np.random.default_rng(2)
    assert 0.35 < hopkins(rng.uniform(size=(400, 2))) < 0.65
    assert hopkins(blobs(3).to_numpy()) > 0.9


# --- tiny segments ----------------------------------------------------------------------


def with_outliers() -> pd.DataFrame:
    """Three groups of 100 plus 4 far-away customers that k-means would give a segment."""
    frame = blobs(3, n_per=100, seed=5)
    far = pd.DataFrame({"spend": [40.0, 40.5, 41.0, 40.2], "visits": [40.0, 40.3, 39.8, 40.1]})
    frame = pd.concat([frame, far], ignore_index=True)
    frame.insert(0, "id", [f"c{i}" for i in range(len(frame))])
    return frame


def test_automatic_k_never_makes_a_tiny_segment_and_reports_atypical():
    result = segment(with_outliers(), SegmentationConfig(id_column="id", **FAST))
    sel = result.k_selection
    assert min(s.size for s in result.segments) >= sel.min_segment_size == 10
    assert sel.atypical is not None
    assert sel.atypical["count"] == 4
    assert sorted(sel.atypical["ids"]) == ["c300", "c301", "c302", "c303"]
    assert sel.chosen == 3


def test_a_fixed_k_may_make_a_tiny_segment():
    result = segment(with_outliers(), SegmentationConfig(id_column="id", k=4, n_init=3))
    assert sorted(s.size for s in result.segments)[0] == 4
    assert result.k_selection.atypical is None


# --- determinism --------------------------------------------------------------------------


def test_same_seed_same_evidence_and_stability():
    a = segment(one_blob(200), SegmentationConfig(seed=7, **FAST)).to_dict()
    b = segment(one_blob(200), SegmentationConfig(seed=7, **FAST)).to_dict()
    assert a["k_selection"] == b["k_selection"]
    assert [s["stability"] for s in a["segments"]] == [s["stability"] for s in b["segments"]]


def test_documented_rules_remain_available():
    frame = blobs(3)
    for rule in ("elbow", "silhouette", "gap", "stability", "consensus"):
        result = segment(frame, SegmentationConfig(k_rule=rule, **FAST))
        assert result.k_selection.rule == rule
        assert result.k_selection.chosen == 3
    assert segment(frame, SegmentationConfig(**FAST)).k_selection.elbow == 3
