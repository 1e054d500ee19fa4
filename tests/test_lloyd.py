"""The fused Lloyd pass (custseg.cluster.lloyd) against scikit-learn's Lloyd iteration.

Hand-worked cases, equality with scikit-learn from the same start, invariance to the
number of threads and to chunking, the empty-centre fallback, the disk cache, and the
pipeline's use of it above FUSED_LLOYD_ROWS.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from custseg._threads import n_threads
from custseg.cluster import lloyd as lloyd_mod
from custseg.cluster.lloyd import CHUNK, lloyd, supported


def _sklearn(X: np.ndarray, init: np.ndarray) -> KMeans:
    return KMeans(len(init), init=init, n_init=1, algorithm="lloyd").fit(X)


def _data(n: int, d: int, k: int, dtype=np.float64, seed: int = 0):
    X, _ = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=1.5, random_state=seed)
    X = X.astype(dtype)
    rng = np.random.default_rng(seed)
    init = X[rng.choice(n, size=k, replace=False)].astype(np.float64)
    return X, init


def test_hand_worked():
    # Two pairs; centres start off-centre and move to each pair's mean in one step.
    X = np.array([[0.0, 0.0], [0.0, 2.0], [6.0, 0.0], [6.0, 2.0], [7.0, 1.0]])
    fit = lloyd(X, np.array([[1.0, 1.0], [5.0, 1.0]]))
    assert fit.labels.tolist() == [0, 0, 1, 1, 1]
    assert np.allclose(fit.centres, [[0.0, 1.0], [19 / 3, 1.0]])
    # Within-segment SS: 1 + 1 for the first pair; the second group around (19/3, 1).
    expected = 2.0 + ((X[2:] - [19 / 3, 1.0]) ** 2).sum()
    assert fit.inertia == pytest.approx(expected)
    assert fit.n_iter == 2  # the second iteration moves nothing


def test_one_centre_is_the_mean():
    X = np.arange(12.0).reshape(6, 2)
    fit = lloyd(X, np.array([[100.0, -5.0]]))
    assert np.allclose(fit.centres, [X.mean(axis=0)])
    assert fit.labels.tolist() == [0] * 6
    assert fit.inertia == pytest.approx(((X - X.mean(axis=0)) ** 2).sum())


@pytest.mark.parametrize(
    ("n", "d", "k", "dtype"),
    [
        (5_000, 2, 2, np.float64),
        (20_000, 3, 5, np.float64),
        (20_000, 3, 9, np.float32),  # two groups of 4 centres and a single one
        (CHUNK + 7_000, 2, 6, np.float32),  # two chunks, the second one short
    ],
)
def test_equals_scikit_learn_from_the_same_start(n, d, k, dtype):
    X, init = _data(n, d, k, dtype)
    ours = lloyd(X, init)
    ref = _sklearn(X, init)
    assert ours.n_iter == ref.n_iter_
    assert np.array_equal(ours.labels, ref.labels_)
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    assert ours.inertia == pytest.approx(ref.inertia_, rel=rtol)
    assert np.allclose(ours.centres, ref.cluster_centers_, rtol=rtol, atol=rtol)


def test_same_result_for_any_number_of_threads():
    X, init = _data(3 * CHUNK + 11, 2, 4, np.float32)
    one = lloyd(X, init, threads=1)
    two = lloyd(X, init, threads=2)
    three = lloyd(X, init, threads=3)
    for other in (two, three):
        assert np.array_equal(one.labels, other.labels)
        assert np.array_equal(one.centres, other.centres)  # bit for bit
        assert one.inertia == other.inertia
        assert one.n_iter == other.n_iter


def test_permuting_customers_keeps_the_segments():
    X, init = _data(30_000, 3, 4)
    perm = np.random.default_rng(1).permutation(len(X))
    a = lloyd(X, init)
    b = lloyd(X[perm], init)
    assert np.array_equal(a.labels[perm], b.labels)
    assert np.allclose(a.centres, b.centres, rtol=1e-12)


def test_a_centre_left_empty_falls_back_to_scikit_learn():
    X, init = _data(4_000, 2, 3)
    init[2] = [1e6, 1e6]  # nobody is nearest to it
    ours = lloyd(X, init)
    ref = _sklearn(X, init)
    assert (np.bincount(ours.labels, minlength=3) > 0).all()
    assert np.array_equal(ours.labels, ref.labels_)


def test_shapes_it_does_not_compile_use_scikit_learn(monkeypatch):
    assert supported(3, 5, np.float32) and supported(3, 5, np.float64)
    assert not supported(lloyd_mod.MAX_FEATURES + 1, 5)
    assert not supported(3, 5, np.int64)

    X, init = _data(2_000, 2, 3)
    monkeypatch.setattr(lloyd_mod, "MAX_FEATURES", 1)
    calls = []
    real = lloyd_mod._sklearn
    monkeypatch.setattr(lloyd_mod, "_sklearn", lambda *a: calls.append(1) or real(*a))
    fit = lloyd(X, init)
    assert calls == [1]
    assert np.array_equal(fit.labels, _sklearn(X, init).labels_)


def test_compiled_pass_is_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTSEG_CACHE_DIR", str(tmp_path))
    assert lloyd_mod.cache_dir() == tmp_path
    lloyd_mod._compiled.cache_clear()
    try:
        X, init = _data(1_000, 2, 2)
        lloyd(X, init)
        sources = list(tmp_path.glob("lloyd_2_float64_*.py"))
        assert len(sources) == 1
        assert any((tmp_path / "__pycache__").glob("*.nbi"))  # Numba's index
    finally:
        lloyd_mod._compiled.cache_clear()


def test_unwritable_cache_folder_still_works(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("CUSTSEG_CACHE_DIR", str(blocker / "cache"))
    assert lloyd_mod.cache_dir() is None
    lloyd_mod._compiled.cache_clear()
    try:
        X, init = _data(1_000, 2, 2)
        assert np.array_equal(lloyd(X, init).labels, _sklearn(X, init).labels_)
    finally:
        lloyd_mod._compiled.cache_clear()


def test_threads_follow_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert n_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert n_threads() >= 1


def test_pipeline_final_fit_uses_it_and_matches_scikit_learn(monkeypatch):
    """Above FUSED_LLOYD_ROWS the final fit on every customer is the fused pass; the
    segments are those scikit-learn's iteration gives from the same sample centres."""
    from custseg.config import SegmentationConfig
    from custseg.data.fast import prepare_matrix
    from custseg.engines import local
    from custseg.pipeline import segment_prepared

    X, _ = make_blobs(n_samples=30_000, n_features=3, centers=4, random_state=3)
    X = X.astype(np.float32)
    features = ("f0", "f1", "f2")
    config = SegmentationConfig(k_max=6)

    calls = []
    real = local.lloyd
    monkeypatch.setattr(local, "lloyd", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    monkeypatch.setattr(local, "FUSED_LLOYD_ROWS", 25_000)
    fused = segment_prepared(prepare_matrix(X.copy(), features), config)
    assert calls == [1]
    monkeypatch.setattr(local, "FUSED_LLOYD_ROWS", 10**9)
    plain = segment_prepared(prepare_matrix(X.copy(), features), config)
    assert calls == [1]
    assert np.array_equal(fused.labels, plain.labels)
    assert [s.name for s in fused.segments] == [s.name for s in plain.segments]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["standard", "minmax", "robust", "none"])
def test_column_order_scaling_equals_row_order(kind, dtype):
    from custseg.features.scaling import fit_scaler

    X = np.random.default_rng(0).normal(5, 3, size=(40_000, 3)).astype(dtype)
    scaler = fit_scaler(X, kind)
    rows, cols = scaler.transform(X), scaler.transform(X, order="F")
    assert cols.flags.f_contiguous and cols.dtype == rows.dtype
    assert np.array_equal(rows, cols)


@pytest.mark.parametrize("order", ["C", "F"])
def test_group_sums_equal_bincount(order):
    from custseg.cluster.lloyd import group_sums

    rng = np.random.default_rng(0)
    X = np.asarray(rng.normal(size=(2 * CHUNK + 5, 3)).astype(np.float32), order=order)
    labels = rng.integers(0, 4, len(X))
    counts, sums, sumsq = group_sums(X, labels, 5, threads=2)  # label 4 is empty
    assert counts.tolist() == np.bincount(labels, minlength=5).tolist()
    for j in range(3):
        col = X[:, j].astype(np.float64)
        assert np.allclose(sums[:, j], np.bincount(labels, col, minlength=5), rtol=1e-12)
        assert np.allclose(sumsq[:, j], np.bincount(labels, col * col, minlength=5), rtol=1e-12)
    one = group_sums(X, labels, 5, threads=1)
    assert all(np.array_equal(a, b) for a, b in zip(one, (counts, sums, sumsq), strict=True))


def test_a_shared_cache_folder_is_not_used(tmp_path, monkeypatch):
    """Generated code and Numba's pickles are run from the cache folder: a default folder
    others may write to is refused (here: the temporary-directory fallback)."""
    monkeypatch.delenv("CUSTSEG_CACHE_DIR", raising=False)
    home_cache = tmp_path / "xdg"
    home_cache.mkdir()
    (home_cache / "custseg").mkdir(mode=0o777)
    (home_cache / "custseg").chmod(0o777)  # group- and world-writable
    monkeypatch.setenv("XDG_CACHE_HOME", str(home_cache))
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    (shared_tmp / f"custseg-{os.getuid()}").mkdir(mode=0o700)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(shared_tmp))
    assert lloyd_mod.cache_dir() == shared_tmp / f"custseg-{os.getuid()}"
    (home_cache / "custseg").chmod(0o700)
    assert lloyd_mod.cache_dir() == home_cache / "custseg"


def test_float32_far_from_zero_matches_scikit_learn():
    """Unscaled float32 values (a year next to small scores) are centred before distances
    and sums, as scikit-learn centres them: no cancellation moves customers."""
    rng = np.random.default_rng(0)
    C = np.array([[2016, 2, 1], [2019, 5, 3], [2022, 3, 6], [2020, 8, 8]], dtype=float)
    X = (C[rng.integers(0, 4, 250_000)] + rng.normal(size=(250_000, 3))).astype(np.float32)
    init = X[rng.choice(len(X), 4, replace=False)].astype(np.float64)
    ours = lloyd(X, init)
    ref = _sklearn(X, init)
    assert (ours.labels != ref.labels_).sum() <= 5  # float32 rounding at the boundary
    assert ours.n_iter == ref.n_iter_
    exact = sum(
        ((X[ours.labels == c].astype(np.float64) - ours.centres[c]) ** 2).sum() for c in range(4)
    )
    assert ours.inertia == pytest.approx(exact, rel=1e-4)
    assert np.allclose(ours.centres, ref.cluster_centers_, atol=1e-3)


def test_empty_centre_fallback_counts_every_iteration():
    X = np.array([[2.0]] * 10 + [[3.0], [7.0]] + [[8.0]] * 10)
    init = np.array([[0.0], [5.0], [10.0]])
    ours = lloyd(X, init)
    ref = _sklearn(X, init)
    assert np.array_equal(ours.labels, ref.labels_)
    assert ours.n_iter == ref.n_iter_


def test_a_damaged_numba_cache_is_not_fatal(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTSEG_CACHE_DIR", str(tmp_path))
    X, init = _data(1_000, 2, 2)
    lloyd_mod._compiled.cache_clear()
    try:
        expected = lloyd(X, init).labels
        damaged = list((tmp_path / "__pycache__").glob("*.nb*"))
        assert damaged
        for f in damaged:
            f.write_bytes(f.read_bytes()[:20])  # truncated, as by a full disk
        lloyd_mod._compiled.cache_clear()
        assert np.array_equal(lloyd(X, init).labels, expected)
    finally:
        lloyd_mod._compiled.cache_clear()
