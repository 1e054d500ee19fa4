"""custseg's own indices, map axes and nearest neighbours against scikit-learn's.

A run on a small table imports no scikit-learn (its import costs more than the run), so
the pieces it used are custseg's: each must give scikit-learn's numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.neighbors import NearestNeighbors

from custseg.features.pca import principal_axes
from custseg.selection.indices import calinski_harabasz, davies_bouldin, silhouette
from custseg.selection.structure import nearest_squared


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    n=st.integers(6, 400),
    d=st.integers(1, 6),
    k=st.integers(2, 8),
)
def test_property_indices_equal_sklearns(seed, n, d, k):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 50, d)
    labels = 3 * rng.integers(0, k, n) + 7  # any integer labels, not 0..k-1
    if not 2 <= len(np.unique(labels)) < n:  # the indices are defined for 2..n-1 segments
        return
    assert calinski_harabasz(X, labels) == pytest.approx(
        calinski_harabasz_score(X, labels), rel=1e-12
    )
    # scikit-learn's distances (|a|^2 - 2ab + |b|^2) lose about 1e-8 to cancellation; custseg's
    # Davies-Bouldin takes differences directly.
    assert davies_bouldin(X, labels) == pytest.approx(davies_bouldin_score(X, labels), rel=1e-6)
    assert silhouette(X, labels) == pytest.approx(silhouette_score(X, labels), abs=1e-6)


def test_indices_of_identical_customers():
    X = np.zeros((6, 2))
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert calinski_harabasz(X, labels) == calinski_harabasz_score(X, labels) == 1.0
    assert davies_bouldin(X, labels) == davies_bouldin_score(X, labels) == 0.0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 100_000), n=st.integers(10, 2000), d=st.integers(3, 12))
def test_property_principal_axes_equal_sklearns_pca(seed, n, d):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.uniform(-5, 5, d)
    ref = PCA(n_components=2).fit(X)
    ours = principal_axes(X)
    scale = np.abs(ref.transform(X)).max()
    assert np.allclose(ours.transform(X), ref.transform(X), atol=1e-9 * scale)
    assert np.allclose(ours.explained, ref.explained_variance_ratio_, atol=1e-12)


def test_nearest_distances_equal_sklearns():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(700, 5))
    X[10] = X[11]  # a duplicate customer: its nearest other customer is at 0
    probes = rng.uniform(-2, 2, size=(40, 5))
    nn = NearestNeighbors(n_neighbors=2).fit(X)
    assert np.allclose(
        np.sqrt(nearest_squared(probes, X, 1))[:, 0], nn.kneighbors(probes, 1)[0][:, 0]
    )
    sampled = X[[3, 10, 500]]
    second = np.sqrt(nearest_squared(sampled, X, 2))[:, 1]
    assert np.allclose(second, nn.kneighbors(sampled, 2)[0][:, 1], atol=1e-7)
    assert second[1] < 1e-7
