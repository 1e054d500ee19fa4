"""Segmenter as a scikit-learn estimator: the official checks and the integrations users need."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn.exceptions
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.estimator_checks import parametrize_with_checks

from custseg import NotFittedError, Segmenter

INCOME, SPEND = "Annual Income (k$)", "Spending Score (1-100)"


@parametrize_with_checks([Segmenter()])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def blobs(n_per: int = 30, seed: int = 0) -> np.ndarray:
    """Three well-separated groups in two columns (income-like and score-like units)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[20.0, 80.0], [60.0, 50.0], [100.0, 20.0]])
    return np.vstack([c + rng.normal(0, 3, size=(n_per, 2)) for c in centres])


def test_not_fitted_error_is_scikit_learns(make_customers):
    with pytest.raises(sklearn.exceptions.NotFittedError, match="before transform"):
        Segmenter().transform(make_customers(20))
    assert issubclass(NotFittedError, sklearn.exceptions.NotFittedError)
    assert not hasattr(Segmenter(), "labels_")  # hasattr sees an AttributeError


def test_numpy_input_labels_centres_in_input_units():
    X = blobs()
    seg = Segmenter(k=3, random_state=0).fit(X)
    assert seg.n_features_in_ == 2 and not hasattr(seg, "feature_names_in_")
    assert sorted(np.unique(seg.labels_)) == [0, 1, 2]
    # Centres are the segments' means in the units of X, not of the scaled space.
    for j in range(3):
        assert seg.cluster_centers_[j] == pytest.approx(X[seg.labels_ == j].mean(axis=0))
    assert list(seg.segment_ids_) == [1, 2, 3]
    assert np.array_equal(seg.segment_ids_[seg.labels_], seg.result_.labels)
    assert list(seg.segment_names_) == [s.name for s in seg.result_.segments]
    assert np.array_equal(seg.predict(X), seg.labels_)


def test_rows_left_out_are_minus_one_and_nan_distances():
    X = blobs()
    X[[4, 50], 1] = np.nan
    seg = Segmenter(k=3, missing="drop", random_state=0).fit(X)
    assert seg.labels_[4] == seg.labels_[50] == -1
    assert (seg.labels_ >= 0).sum() == len(X) - 2
    assert np.array_equal(seg.predict(X), seg.labels_)
    d = seg.transform(X)
    assert d.shape == (len(X), 3)
    assert np.isnan(d[[4, 50]]).all() and not np.isnan(np.delete(d, [4, 50], axis=0)).any()


def test_dataframe_names_transform_and_score(make_customers):
    df = make_customers(200)
    seg = Segmenter(features=[INCOME, SPEND], k=4, random_state=0).fit(df)
    assert seg.n_features_in_ == df.shape[1]
    assert list(seg.feature_names_in_) == list(df.columns)
    assert seg.features_ == (INCOME, SPEND)
    assert seg.cluster_centers_.shape == (4, 2)
    d = seg.transform(df)
    assert np.array_equal(d.argmin(axis=1), seg.predict(df))
    assert seg.score(df) == pytest.approx(-(d.min(axis=1) ** 2).sum())
    # Columns are found by name: order and extra columns do not matter.
    assert np.array_equal(seg.predict(df[[SPEND, INCOME]]), seg.labels_)


def test_clone_and_pickle(make_customers):
    seg = Segmenter(method="hierarchical", k=3, random_state=4, features=("Age", SPEND))
    copy = clone(seg)
    assert copy.get_params() == seg.get_params() and not hasattr(copy, "model_")
    df = make_customers(120)
    seg.fit(df)
    again = pickle.loads(pickle.dumps(seg))
    assert np.array_equal(again.predict(df), seg.predict(df))


def test_unknown_parameter_is_a_type_error():
    with pytest.raises(TypeError, match="n_clusters"):
        Segmenter(n_clusters=3)


def test_pipeline_with_a_column_transformer_in_front(make_customers):
    df = make_customers(200)
    pipe = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("numbers", "passthrough", [INCOME, SPEND]),
                        ("gender", OneHotEncoder(drop="first", sparse_output=False), ["Gender"]),
                    ]
                ),
            ),
            ("segments", Segmenter(k=5, random_state=0)),
        ]
    )
    labels = pipe.fit_predict(df)
    assert set(labels) == set(range(5))
    assert np.array_equal(pipe.predict(df), labels)
    assert pipe.transform(df).shape == (200, 5)
    assert pipe[-1].n_features_in_ == 3


def test_pipeline_with_pandas_output_keeps_names(make_customers):
    df = make_customers(150)
    front = ColumnTransformer(
        [("numbers", "passthrough", [INCOME, SPEND])], verbose_feature_names_out=False
    ).set_output(transform="pandas")
    pipe = Pipeline([("columns", front), ("segments", Segmenter(k=3, random_state=0))]).fit(df)
    assert list(pipe[-1].feature_names_in_) == [INCOME, SPEND]
    assert pipe[-1].result_.data.features == (INCOME, SPEND)


def test_grid_search_over_k_and_method():
    X = blobs(n_per=20)
    search = GridSearchCV(
        Segmenter(random_state=0, k_max=4, n_init=3),  # a short sweep: k is fixed anyway
        {"k": [2, 3], "method": ["kmeans", "hierarchical"]},
        cv=2,
        error_score="raise",
    ).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.isfinite(scores).all()
    # Negative inertia: more segments fit the three groups better.
    assert search.best_params_["k"] == 3
    assert search.best_estimator_.labels_.shape == (len(X),)


def test_result_and_model_stay_available(make_customers):
    df = make_customers(150)
    seg = Segmenter(random_state=0).fit(df)
    assert [s.id for s in seg.result_.segments] == list(seg.segment_ids_)
    assert seg.model_ is seg.result_.model
    frame = pd.DataFrame(seg.result_.assignments())
    assert list(frame["segment"].astype(int)) == list(seg.segment_ids_[seg.labels_])


def test_one_feature_given_as_text(make_customers):
    seg = Segmenter(features="Annual Income (k$)", k=3, random_state=0).fit(make_customers(90))
    assert seg.features_ == ("Annual Income (k$)",)
