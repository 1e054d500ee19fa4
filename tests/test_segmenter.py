"""The estimator contract of Segmenter, and pipeline invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from custseg import NotFittedError, SegmentationConfig, Segmenter, segment


def test_predict_before_fit_is_a_clear_error(make_customers):
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        Segmenter().predict(make_customers(20))


def test_init_only_stores_params():
    seg = Segmenter(method="hierarchical", k=3, random_state=5)
    assert seg.get_params()["method"] == "hierarchical"
    assert seg.set_params(k=4).k == 4
    # scikit-learn's repr: the parameters that differ from their defaults, by name
    assert repr(seg) == "Segmenter(k=4, method='hierarchical', random_state=5)"


@pytest.mark.parametrize("method", ["kmeans", "hierarchical"])
def test_fit_predict_equals_predict_on_training_data(make_customers, method):
    df = make_customers(400)
    seg = Segmenter(method=method, random_state=0).fit(df)
    assert seg.fit_predict(df).shape == (400,)
    pred = seg.predict(df)
    if method == "kmeans":
        assert np.array_equal(pred, seg.labels_)
    else:
        assert adjusted_rand_score(pred, seg.labels_) > 0.9
        assert seg.model_.assignment_agreement == pytest.approx((pred == seg.labels_).mean())


def test_row_order_does_not_change_segments(make_customers):
    df = make_customers(300)
    a = segment(df, SegmentationConfig(features=("Annual Income (k$)", "Spending Score (1-100)")))
    shuffled = df.sample(frac=1.0, random_state=1)
    b = segment(
        shuffled, SegmentationConfig(features=("Annual Income (k$)", "Spending Score (1-100)"))
    )
    assert [s.name for s in a.segments] == [s.name for s in b.segments]
    assert [s.size for s in a.segments] == [s.size for s in b.segments]
    by_id_a = dict(zip(df["CustomerID"], a.labels))
    by_id_b = dict(zip(shuffled["CustomerID"], b.labels))
    assert by_id_a == by_id_b


def test_invariants_sizes_shares_ids(make_customers):
    r = segment(make_customers(500), SegmentationConfig(method="hierarchical", linkage="average"))
    assert [s.id for s in r.segments] == list(range(1, r.k + 1))
    assert sum(s.size for s in r.segments) == r.data.n_used == 500
    assert sum(s.share for s in r.segments) == pytest.approx(1.0)
    assert [s.size for s in r.segments] == sorted((s.size for s in r.segments), reverse=True)
    assert len({s.name for s in r.segments}) == r.k
    assert all(s.recommendation.action for s in r.segments)


def test_uniform_noise_gives_an_answer_not_a_crash():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.uniform(size=(200, 2)), columns=["a", "b"])
    r = segment(df)
    assert 2 <= r.k <= 10
    assert r.k_selection.note


def test_tiny_table_three_customers():
    df = pd.DataFrame({"a": [0.0, 1.0, 10.0]})
    r = segment(df)
    assert r.k == 2
    assert "k_max lowered from 10 to 2" in r.k_selection.note
