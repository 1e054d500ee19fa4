"""Choosing k: each rule on data whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg import SegmentationConfig, segment
from custseg.results import KCandidate
from custseg.selection import choose_k, find_elbow


def blobs(k: int, n_per: int = 60, seed: int = 0, spread: float = 0.4) -> pd.DataFrame:
    """k tight groups at the corners of a simplex (every pair equally far apart)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(k) * 10
    X = np.vstack([rng.normal(c, spread, size=(n_per, k)) for c in centres])
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(k)])


def test_elbow_known_curve():
    assert find_elbow([1, 2, 3, 4, 5, 6], [100, 40, 12, 10, 9, 8]) == (
        3,
        "Kneedle knee of the inertia curve",
    )


def test_no_clear_elbow_is_an_answer_with_a_reason():
    k, reason = find_elbow([2, 3, 4, 5], [10, 10, 10, 10])
    assert k is None and "does not decrease" in reason
    k, reason = find_elbow([2, 3], [10, 5])
    assert k is None and "at least 3" in reason


@pytest.mark.parametrize("true_k", [3, 4, 6])
@pytest.mark.parametrize("rule", ["elbow", "silhouette", "calinski", "davies", "consensus"])
def test_kmeans_rules_find_well_separated_k(true_k, rule):
    result = segment(blobs(true_k), SegmentationConfig(k_rule=rule, k_max=8, n_init=3))
    assert result.k_selection.chosen == true_k


@pytest.mark.parametrize("true_k", [2, 3, 5])
def test_dendrogram_rule_finds_well_separated_k(true_k):
    config = SegmentationConfig(method="hierarchical", k_rule="dendrogram")
    result = segment(blobs(true_k, n_per=40), config)
    assert result.k_selection.rule == "dendrogram"
    assert result.k_selection.chosen == true_k
    assert result.dendrogram is not None


def _cands(sil, ch, db):
    return tuple(
        KCandidate(k=k, inertia=100.0 / k, silhouette=s, calinski_harabasz=c, davies_bouldin=d)
        for k, s, c, d in zip(range(2, 2 + len(sil)), sil, ch, db)
    )


def test_disagreement_is_stated_with_runner_up():
    cands = _cands([0.5, 0.6, 0.4], [10, 30, 20], [0.9, 0.8, 0.5])
    sel = choose_k(cands, rule="elbow", method="kmeans", elbow=3, elbow_reason="")
    assert sel.chosen == 3
    assert not sel.agree
    assert sel.preferred == {"elbow": 3, "silhouette": 3, "calinski": 3, "davies": 4}
    assert sel.runner_up == 4
    assert "disagree" in sel.note and "Davies–Bouldin prefers 4" in sel.note


def test_consensus_ties_broken_by_silhouette():
    # elbow 2, silhouette 3, calinski 2, davies 3: a 2-2 tie; silhouette is higher at 3.
    cands = _cands([0.5, 0.7], [30, 10], [0.9, 0.5])
    sel = choose_k(cands, rule="consensus", method="kmeans", elbow=2, elbow_reason="")
    assert sel.chosen == 3
    assert sel.runner_up == 2


def test_elbow_missing_falls_back_to_silhouette_and_says_so():
    cands = _cands([0.5, 0.7, 0.6], [30, 10, 5], [0.9, 0.5, 0.7])
    sel = choose_k(cands, rule="elbow", method="kmeans", elbow=None, elbow_reason="no knee")
    assert sel.chosen == 3
    assert sel.rule == "silhouette"
    assert sel.note.startswith("No clear elbow: no knee.")


def test_fixed_k_keeps_the_evidence():
    result = segment(blobs(3), SegmentationConfig(k=4, n_init=2))
    assert result.k == 4
    assert result.k_selection.rule == "fixed"
    assert result.k_selection.preferred["silhouette"] == 3
    assert [c.k for c in result.k_selection.candidates] == list(range(2, 11))


def test_a_run_of_one_k_reuses_the_automatic_runs_indices(monkeypatch):
    """The app's k slider: a run of one k the automatic run scored takes its indices
    (the same sample, the same segments) instead of measuring the silhouette again."""
    import custseg.pipeline as pipeline
    from custseg import make_customers
    from custseg.config import SegmentationConfig

    frame = make_customers(400, seed=3)
    auto_config = SegmentationConfig()
    prepared = pipeline.prepare_input(frame, auto_config)
    auto = pipeline.segment_prepared(prepared, auto_config)
    k = next(c.k for c in auto.k_selection.candidates if c.k != auto.k)
    one_k = SegmentationConfig(k=k, k_min=k, k_max=k)
    measured = pipeline.segment_prepared(prepared, one_k)

    def no_measuring(*args, **kwargs):
        raise AssertionError("the indices were measured again")

    monkeypatch.setattr(pipeline, "quality_indices_by_k", no_measuring)
    reused = pipeline.segment_prepared(prepared, one_k, known=auto.k_selection)
    assert reused.k_selection.candidates == measured.k_selection.candidates
    assert [s.size for s in reused.segments] == [s.size for s in measured.segments]
    assert [s.name for s in reused.segments] == [s.name for s in measured.segments]
