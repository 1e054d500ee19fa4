"""The contract every engine behind the data seam must pass, run against each engine.

The local engine is the reference: another engine must give the same sample, the same
statistics, the same Lloyd result (identical labels on tie-free data, centres to 1e-9
relative), the same assignment and the same sums. The Spark tests skip cleanly when
pyspark or Java is missing, and share one ``local[2]`` session for the whole run.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custseg.cluster.kmeans import kmeans
from custseg.engines.contract import (
    ENTRY_POINT_GROUP,
    CustomerData,
    DataEngine,
    data_engines,
    get_data_engine,
    register_data_engine,
    sample_keys,
)
from custseg.errors import ConfigError, OutputError
from custseg.features.scaling import fit_scaler, scaler_from_stats

# One Spark session per test process: every Spark test lands on the same xdist worker.
pytestmark = pytest.mark.xdist_group("spark")

FEATURES = ("spend", "visits", "tenure")


@pytest.fixture(params=["local", "spark"])
def engine(request):
    if request.param == "spark":
        session = request.getfixturevalue("spark_session")  # skips without pyspark or Java
        from custseg.engines.spark import SparkEngine

        return SparkEngine(session)
    return get_data_engine("local")


def make_blobs(n: int = 900, seed: int = 0):
    """Three separated groups of customers with continuous values (no ties), ids that are
    not row numbers, and a category column with missing values."""
    rng = np.random.default_rng(seed)
    centres = np.array([[20.0, 2.0, 1.0], [60.0, 8.0, 5.0], [110.0, 3.0, 9.0]])
    groups = rng.integers(0, 3, size=n)
    X = centres[groups] + rng.normal(0, [8.0, 1.2, 1.0], size=(n, 3))
    ids = 1000 + 7 * np.arange(n)
    city = rng.choice(np.array(["Lyon", "Oslo", None], dtype=object), size=n)
    return X, ids, {"city": city}


@pytest.fixture(scope="module")
def blobs():
    return make_blobs()


def _data(engine, blobs) -> CustomerData:
    X, ids, cats = blobs
    return engine.from_arrays(
        X, features=FEATURES, ids=ids, id_column="customer_id", categories=cats
    )


def test_engines_are_registered_by_name():
    assert {"local", "spark"} <= set(data_engines())
    assert isinstance(get_data_engine("local"), DataEngine)
    with pytest.raises(ConfigError, match=r"^engine='nope' is not available; choose one of "):
        get_data_engine("nope")


def test_a_third_engine_registers_without_changing_custseg(monkeypatch):
    class Fake:
        name = "fake"

    class EntryPoint:
        name = "fake"

        def load(self):
            return Fake

    monkeypatch.setattr(
        "custseg.engines.contract.entry_points",
        lambda group: [EntryPoint()] if group == ENTRY_POINT_GROUP else [],
    )
    monkeypatch.setattr("custseg.engines.contract._REGISTRY", {})
    assert "fake" in data_engines()
    assert isinstance(get_data_engine("fake"), Fake)
    register_data_engine("other", Fake)
    assert isinstance(get_data_engine("other"), Fake)


def test_a_missing_pyspark_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a)
    )
    monkeypatch.delitem(sys.modules, "custseg.engines.spark", raising=False)
    monkeypatch.setattr("custseg.engines.contract._REGISTRY", {})
    with pytest.raises(ConfigError) as err:
        get_data_engine("spark")
    assert str(err.value) == (
        "engine='spark' needs a package that is not installed (pyspark); "
        "install it with: pip install 'custseg[spark]'"
    )


def test_spark_engine_by_name_uses_the_running_session(spark_session):
    engine = get_data_engine("spark")
    assert engine.name == "spark" and isinstance(engine, DataEngine)
    assert engine.session is spark_session


def test_sample_keys_are_seeded_and_spread():
    rows = np.arange(100_000)
    a, b = sample_keys(rows, 1), sample_keys(rows, 2)
    assert (a >= 0).all() and np.array_equal(a, sample_keys(rows, 1))
    assert len(np.unique(a)) == len(rows)
    # The 1,000 smallest keys pick rows spread over the whole table, differently per seed.
    pick = np.sort(np.argsort(a)[:1000])
    assert 40_000 < pick.mean() < 60_000
    assert len(np.intersect1d(pick, np.argsort(b)[:1000])) < 50


def test_handle_is_the_protocol(engine, blobs):
    data = _data(engine, blobs)
    assert isinstance(data, CustomerData)
    assert data.engine == engine.name
    assert data.features == FEATURES
    assert data.count() == len(blobs[0])


def test_column_stats(engine, blobs):
    X = blobs[0]
    stats = _data(engine, blobs).column_stats()
    assert stats.n == len(X)
    np.testing.assert_allclose(stats.mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.std, X.std(axis=0), rtol=1e-9)
    np.testing.assert_array_equal(stats.min, X.min(axis=0))
    np.testing.assert_array_equal(stats.max, X.max(axis=0))
    n = len(X)
    slack = stats.quantile_error * n + 1
    for q, values in stats.quantiles.items():
        for j, v in enumerate(values):
            # A value whose rank is within the stated error of q * n.
            assert (X[:, j] < v).sum() <= q * n + slack
            assert (X[:, j] <= v).sum() >= q * n - slack


def test_scaling_from_stats_matches_fit_scaler(engine, blobs):
    X = blobs[0]
    stats = _data(engine, blobs).column_stats()
    for kind in ("standard", "minmax", "none"):
        from_stats, direct = scaler_from_stats(stats, kind), fit_scaler(X, kind)
        np.testing.assert_allclose(from_stats.center, direct.center, rtol=1e-12)
        np.testing.assert_allclose(from_stats.scale, direct.scale, rtol=1e-9)
    robust = scaler_from_stats(stats, "robust")
    assert robust.kind == "robust" and (robust.scale > 0).all()


def test_scale(engine, blobs):
    X = blobs[0]
    center, scale = X.mean(axis=0), X.std(axis=0)
    scaled = _data(engine, blobs).scale(center, scale).to_numpy()
    np.testing.assert_allclose(
        np.column_stack([scaled[f] for f in FEATURES]), (X - center) / scale, rtol=1e-15
    )
    np.testing.assert_array_equal(scaled["customer_id"], blobs[1])


def test_without_rows_keeps_the_others_in_order(engine, blobs):
    X, ids, _ = blobs
    dropped = np.array([0, 7, 450, len(X) - 1])
    kept = np.setdiff1d(np.arange(len(X)), dropped)
    data = _data(engine, blobs).without_rows(dropped)
    assert data.count() == len(kept)
    got = data.to_numpy()
    np.testing.assert_array_equal(np.column_stack([got[f] for f in FEATURES]), X[kept])
    np.testing.assert_array_equal(got["customer_id"], ids[kept])
    stats = data.column_stats()
    np.testing.assert_allclose(stats.mean, X[kept].mean(axis=0), rtol=1e-12)


def test_read_fills_empty_cells_before_the_log(engine, blobs, tmp_path):
    X, ids, _ = blobs
    X = X.copy()
    X[[2, 5], 0] = np.nan
    path = tmp_path / "gaps.parquet"
    pq.write_table(
        pa.table({"customer_id": ids, **{f: X[:, j] for j, f in enumerate(FEATURES)}}), path
    )
    data = engine.read(
        path,
        features=list(FEATURES),
        id_column="customer_id",
        log=(True, False, False),
        fill={FEATURES[0]: 50.0},
    )
    got = data.to_numpy()[FEATURES[0]]
    np.testing.assert_allclose(got[[2, 5]], np.log1p(50.0), rtol=1e-13)
    assert not np.isnan(got).any()


def test_read_logs_the_marked_features(engine, blobs, tmp_path):
    X, ids, _ = blobs
    path = tmp_path / "customers.parquet"
    pq.write_table(
        pa.table({"customer_id": ids, **{f: X[:, j] for j, f in enumerate(FEATURES)}}), path
    )
    data = engine.read(
        path, features=list(FEATURES), id_column="customer_id", log=(True, False, False)
    )
    got = data.to_numpy()
    expected = np.sign(X[:, 0]) * np.log1p(np.abs(X[:, 0]))
    np.testing.assert_allclose(got[FEATURES[0]], expected, rtol=1e-13)
    np.testing.assert_array_equal(got[FEATURES[1]], X[:, 1])


@pytest.mark.parametrize("m", [1, 50, 900, 5000])
def test_sample_is_the_same_rows_on_every_engine(engine, blobs, m):
    X, ids, _ = blobs
    sample = _data(engine, blobs).sample(m, seed=11)
    reference = get_data_engine("local").from_arrays(X, ids=ids).sample(m, seed=11)
    assert len(sample.rows) == min(m, len(X))
    np.testing.assert_array_equal(sample.rows, reference.rows)
    assert np.all(np.diff(sample.rows) > 0)
    np.testing.assert_array_equal(sample.X, X[sample.rows])
    np.testing.assert_array_equal(sample.ids, ids[sample.rows])
    # The m smallest seeded keys, so another seed gives other rows.
    if m < len(X):
        keys = sample_keys(np.arange(len(X)), 11)
        np.testing.assert_array_equal(sample.rows, np.sort(np.argsort(keys)[:m]))
        assert not np.array_equal(_data(engine, blobs).sample(m, seed=12).rows, sample.rows)


def test_sample_without_rows_keeps_the_files_row_numbers(engine, blobs):
    # The atypical customers are left out before sampling: the keys and the rows returned
    # stay those of the file on every engine, so both draw the same customers.
    X, ids, _ = blobs
    dropped = np.array([3, 40, 41, 600])
    kept = np.setdiff1d(np.arange(len(X)), dropped)
    data = _data(engine, blobs).without_rows(dropped)
    sample = data.sample(100, seed=5)
    keys = sample_keys(kept, 5)
    np.testing.assert_array_equal(sample.rows, np.sort(kept[np.argsort(keys)[:100]]))
    np.testing.assert_array_equal(sample.X, X[sample.rows])
    np.testing.assert_array_equal(sample.ids, ids[sample.rows])
    # Rows are file rows again when more are left out, and in what is written.
    again = data.without_rows(np.array([5]))
    np.testing.assert_array_equal(again.to_numpy()["row"], np.setdiff1d(kept, [5]))


def test_lloyd_matches_scikit_learn_from_the_same_start(engine, blobs):
    X = blobs[0]
    init = X[[0, 1, 2, 3]] + 0.25  # four centres for three groups: a few iterations
    result = _data(engine, blobs).lloyd(init)
    ref = kmeans(X, 4, init=init)
    np.testing.assert_allclose(result.centres, ref.centres, rtol=1e-9)
    assert result.n_iter == ref.n_iter
    np.testing.assert_allclose(result.inertia, ref.inertia, rtol=1e-9)
    np.testing.assert_array_equal(result.counts, np.bincount(ref.labels, minlength=4))
    labels = _data(engine, blobs).assign(result.centres).to_numpy()["segment"]
    np.testing.assert_array_equal(labels, ref.labels)


def test_lloyd_stops_at_max_iter(engine, blobs):
    X = blobs[0]
    init = X[[0, 1, 2]]
    one = _data(engine, blobs).lloyd(init, max_iter=1)
    ref = kmeans(X, 3, init=init, max_iter=1)
    assert one.n_iter == 1
    np.testing.assert_allclose(one.centres, ref.centres, rtol=1e-9)


def test_assign_with_distances(engine, blobs):
    X = blobs[0]
    centres = np.array([[20.0, 2.0, 1.0], [60.0, 8.0, 5.0], [110.0, 3.0, 9.0]])
    out = _data(engine, blobs).assign(centres).to_numpy()
    d = np.sqrt(((X[:, None, :] - centres[None]) ** 2).sum(axis=2))
    np.testing.assert_array_equal(out["segment"], d.argmin(axis=1))
    np.testing.assert_allclose(out["distance"], d.min(axis=1), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(out["row"], np.arange(len(X)))
    np.testing.assert_array_equal(out["customer_id"], blobs[1])


def test_assign_breaks_a_tie_to_the_first_centre(engine):
    data = engine.from_arrays(np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 0.0]]))
    out = data.assign(np.array([[2.0, 0.0], [0.0, 0.0]])).to_numpy()
    assert out["segment"].tolist() == [1, 0, 0]
    assert out["distance"].tolist() == [0.0, 0.0, 1.0]


def test_group_sums_hand_worked(engine):
    X = np.array([[0.0, 1.0], [2.0, 3.0], [10.0, 10.0], [11.0, 12.0]])
    sums = engine.from_arrays(X).assign(np.array([[1.0, 2.0], [10.0, 11.0], [50.0, 50.0]]))
    g = sums.group_sums(3)
    assert g.counts.tolist() == [2.0, 2.0, 0.0]
    assert g.sums.tolist() == [[2.0, 4.0], [21.0, 22.0], [0.0, 0.0]]
    assert g.sumsq.tolist() == [[4.0, 10.0], [221.0, 244.0], [0.0, 0.0]]
    assert g.sse[:2].tolist() == [4.0, 2.5]
    # More groups than centres: the extra ones are empty.
    wider = sums.group_sums(4)
    assert wider.counts.tolist() == [2.0, 2.0, 0.0, 0.0]
    assert wider.sums[:3].tolist() == g.sums.tolist()


@pytest.mark.parametrize("step", [45, 9])
def test_group_sums_per_micro_cluster(engine, blobs, step):
    X = blobs[0]
    micro = X[::step] + 1e-3  # 20 or 100 micro-cluster centres (MANY_CENTRES: 64)
    g = _data(engine, blobs).assign(micro).group_sums(len(micro))
    labels = np.argmin(((X[:, None, :] - micro[None]) ** 2).sum(axis=2), axis=1)
    np.testing.assert_array_equal(g.counts, np.bincount(labels, minlength=len(micro)))
    for j in range(X.shape[1]):
        np.testing.assert_allclose(
            g.sums[:, j], np.bincount(labels, X[:, j], minlength=len(micro)), rtol=1e-12
        )
        np.testing.assert_allclose(
            g.sumsq[:, j], np.bincount(labels, X[:, j] ** 2, minlength=len(micro)), rtol=1e-12
        )


def test_relabel_hand_worked(engine):
    # Four customers in three micro-clusters; micro-clusters 0 and 2 form segment 1.
    X = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [4.0, 3.0]])
    micro = engine.from_arrays(X).assign(np.array([[0.0, 0.0], [10.0, 0.0], [4.0, 3.0]]))
    centres = np.array([[10.0, 0.0], [1.0, 1.0]])
    out = micro.relabel(np.array([1, 0, 1]), centres)
    assert out.assigned
    got = out.to_numpy()
    assert got["segment"].tolist() == [1, 1, 0, 1]
    assert got["distance"].tolist() == [np.sqrt(2.0), 1.0, 0.0, np.sqrt(13.0)]
    g = out.group_sums(2)
    assert g.counts.tolist() == [1.0, 3.0]
    assert g.sums.tolist() == [[10.0, 0.0], [5.0, 3.0]]


@pytest.mark.parametrize("step", [45, 9])
def test_relabel_micro_clusters_to_segments(engine, blobs, step):
    # Each customer's micro-cluster (20 or 100 of them) mapped to one of 3 segments, with
    # the distance to its segment's centre: the same on every engine as in NumPy.
    X = blobs[0]
    micro = X[::step] + 1e-3
    mapping = np.arange(len(micro)) % 3
    centres = np.array([[20.0, 2.0, 1.0], [60.0, 8.0, 5.0], [110.0, 3.0, 9.0]])
    out = _data(engine, blobs).assign(micro).relabel(mapping, centres).to_numpy()
    nearest = np.argmin(((X[:, None, :] - micro[None]) ** 2).sum(axis=2), axis=1)
    segment = mapping[nearest]
    np.testing.assert_array_equal(out["segment"], segment)
    np.testing.assert_allclose(
        out["distance"], np.sqrt(((X - centres[segment]) ** 2).sum(axis=1)), rtol=1e-12
    )
    np.testing.assert_array_equal(out["row"], np.arange(len(X)))
    np.testing.assert_array_equal(out["customer_id"], blobs[1])


def test_relabel_refuses_a_bad_mapping(engine, blobs):
    data = _data(engine, blobs)
    centres = np.zeros((2, 3))
    with pytest.raises(ConfigError, match=r"^assign customers to centres before relabelling"):
        data.relabel(np.array([0, 1]), centres)
    assigned = data.assign(np.array([[20.0, 2.0, 1.0], [60.0, 8.0, 5.0], [110.0, 3.0, 9.0]]))
    with pytest.raises(ConfigError, match=r"^mapping sends segments to 0\.\.2; expected 0\.\.1"):
        assigned.relabel(np.array([0, 1, 2]), centres)
    with pytest.raises(ConfigError, match=r"^mapping has 2 values; the customers hold segments"):
        assigned.relabel(np.array([0, 1]), centres)
    with pytest.raises(ConfigError, match=r"^mapping has shape \(3,\) and type float64"):
        assigned.relabel(np.array([0.0, 1.0, 1.0]), centres)
    with pytest.raises(ConfigError, match=r"^centres have shape \(2, 2\)"):
        assigned.relabel(np.array([0, 1, 1]), np.zeros((2, 2)))


def test_per_segment_sums_need_an_assignment(engine, blobs):
    with pytest.raises(ConfigError, match=r"^assign customers to centres before"):
        _data(engine, blobs).group_sums(3)


def test_profile(engine, blobs):
    X, _, cats = blobs
    centres = np.array([[20.0, 2.0, 1.0], [60.0, 8.0, 5.0], [110.0, 3.0, 9.0], [500, 0, 0]])
    data = _data(engine, blobs).assign(centres)
    labels = data.to_numpy()["segment"]
    prof = data.profile(4)
    np.testing.assert_array_equal(prof.counts, np.bincount(labels, minlength=4))
    for s in range(3):
        rows = labels == s
        np.testing.assert_allclose(prof.means[s], X[rows].mean(axis=0), rtol=1e-12)
        n = rows.sum()
        slack = prof.quantile_error * n + 1
        for q, values in prof.quantiles.items():
            for j in range(X.shape[1]):
                col = X[rows, j]
                assert (col < values[s, j]).sum() <= q * n + slack
                assert (col <= values[s, j]).sum() >= q * n - slack
        city = cats["city"][rows]
        expected = {v: int((city == v).sum()) for v in ("Lyon", "Oslo")}
        expected[None] = int(sum(v is None for v in city))
        assert prof.categories["city"][s] == expected
    # The empty segment: no customers, no quantiles.
    assert prof.counts[3] == 0 and np.isnan(prof.quantiles[0.5][3]).all()
    assert prof.categories["city"][3] == {}


def test_write_assignments(engine, blobs, tmp_path):
    centres = np.array([[20.0, 2.0, 1.0], [60.0, 8.0, 5.0], [110.0, 3.0, 9.0]])
    data = _data(engine, blobs).assign(centres)
    target = tmp_path / "assignments.parquet"
    data.write_assignments(target)
    table = pq.read_table(target).sort_by("customer_id")
    assert table.column_names == ["customer_id", "segment", "distance"]
    expected = data.to_numpy()
    np.testing.assert_array_equal(table.column("customer_id").to_numpy(), blobs[1])
    np.testing.assert_array_equal(table.column("segment").to_numpy(), expected["segment"])
    np.testing.assert_array_equal(table.column("distance").to_numpy(), expected["distance"])
    with pytest.raises(OutputError, match=r"already exists; choose a new output path$"):
        data.write_assignments(target)


def test_read_parquet_numbers_rows_in_file_order(engine, blobs, tmp_path, request):
    X, ids, _ = blobs
    path = tmp_path / "customers.parquet"
    pq.write_table(
        pa.table({"customer_id": ids, **{f: X[:, j] for j, f in enumerate(FEATURES)}}),
        path,
        row_group_size=100,
    )
    if engine.name == "spark":
        # Several partitions, so that the row numbers cross partition boundaries.
        conf = request.getfixturevalue("spark_session").conf
        conf.set("spark.sql.files.maxPartitionBytes", "4096")
        conf.set("spark.sql.files.openCostInBytes", "0")
    try:
        data = engine.read(path, features=list(FEATURES), id_column="customer_id")
        if engine.name == "spark":
            assert data.df.rdd.getNumPartitions() > 1
        sample = data.sample(60, seed=5)
        np.testing.assert_array_equal(sample.ids, ids[sample.rows])
        np.testing.assert_array_equal(sample.X, X[sample.rows])
        np.testing.assert_array_equal(data.to_numpy()["row"], np.arange(len(X)))
    finally:
        if engine.name == "spark":
            conf.unset("spark.sql.files.maxPartitionBytes")
            conf.unset("spark.sql.files.openCostInBytes")


def test_missing_column_is_named(engine, blobs, tmp_path):
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"spend": blobs[0][:, 0]}), path)
    with pytest.raises(
        ConfigError, match=r"^column 'visits' is not in the data; its columns are 'spend'$"
    ):
        engine.read(path, features=["spend", "visits"])
