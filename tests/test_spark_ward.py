"""``engine="spark"`` with ``method="hierarchical"``: the same segments as ``engine="local"``.

Up to :data:`custseg.pipeline.EXACT_TREE_LIMIT` customers both engines run exact Ward on
every customer; above it both take the micro-clusters' centres from the engine's seeded
sample (``sample_keys``: the same rows), sum every customer into them in one pass and run
Ward on the sums. So on tie-free data the labels, names, actions and the model file
(apart from its provenance) are the same. Skips cleanly without pyspark or Java.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from conftest import run_cli
from custseg import pipeline
from custseg.config import SegmentationConfig
from custseg.engines import get_data_engine
from custseg.engines.contract import MANY_CENTRES
from custseg.engines.micro import summarise
from custseg.model import load_model

pytestmark = pytest.mark.xdist_group("spark")

#: What a model file says about the run that made it, not about the segments.
PROVENANCE = ("created_at", "custseg_version", "checksum")


def _both(path, **options):
    local = pipeline.segment(path, SegmentationConfig(method="hierarchical", **options))
    spark = pipeline.segment(
        path, SegmentationConfig(method="hierarchical", engine="spark", **options)
    )
    return local, spark


def _same(a, b, where: str = "model") -> None:
    """Equal documents, numbers to 1e-9 relative (the engines' scalers differ in the last
    digits: the statistics are summed in another order)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, str):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _same_segments(local, spark) -> None:
    assert spark.k_selection.chosen == local.k_selection.chosen
    # Tie-free data: identical labels, not only a high adjusted Rand index.
    np.testing.assert_array_equal(spark.labels, local.labels)
    assert [s.name for s in spark.segments] == [s.name for s in local.segments]
    assert [s.recommendation.to_dict() for s in spark.segments] == [
        s.recommendation.to_dict() for s in local.segments
    ]
    _same_models(local.model.to_dict(), spark.model.to_dict())


def _same_models(ours: dict, theirs: dict) -> None:
    """The same model file apart from its provenance (when, which version, which engine)."""
    for doc in (ours, theirs):
        for key in PROVENANCE:
            doc.pop(key)
    assert theirs["config"].pop("engine") == "spark"
    assert ours["config"].pop("engine") == "local"
    _same(ours, theirs)


@pytest.fixture(scope="module")
def blobs_path(tmp_path_factory):
    """1,500 customers in four separated groups, continuous values (no ties), as Parquet."""
    X, _ = make_blobs(
        n_samples=1500, centers=4, n_features=3, random_state=2, center_box=(0.0, 20.0)
    )
    frame = pd.DataFrame(X + 30.0, columns=["spend", "visits", "tenure"])
    frame.insert(0, "customer_id", np.arange(1, len(frame) + 1))
    path = tmp_path_factory.mktemp("ward") / "blobs.parquet"
    frame.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def skewed_path(tmp_path_factory):
    """3,000 customers in three groups of log-normal amounts (--transform auto logs them),
    two of them extreme spenders (--outliers flag keeps them out of the fit)."""
    rng = np.random.default_rng(8)
    group = rng.choice(3, size=3000, p=[0.5, 0.3, 0.2])
    centres = np.array([[3.0, 1.0, 4.0], [5.0, 2.5, 3.0], [7.0, 1.5, 5.0]])
    amounts = np.exp(centres[group] + rng.normal(0, 0.25, (3000, 3)))
    frame = pd.DataFrame(amounts, columns=["spend", "orders_value", "basket"])
    frame.loc[[17, 2222], "spend"] = [1e12, 5e11]  # extreme even on the log scale
    frame.insert(0, "customer_id", np.arange(1, len(frame) + 1))
    path = tmp_path_factory.mktemp("ward") / "skewed.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_cli_spark_runs_exact_ward_as_local_does(spark_session, blobs_path, tmp_path):
    # At most EXACT_TREE_LIMIT customers: exact Ward on every one of them on both engines.
    local = pipeline.segment(blobs_path, SegmentationConfig(method="hierarchical"))
    out = tmp_path / "out"
    code, _, stderr = run_cli(
        "segment", str(blobs_path), "--engine", "spark", "--method", "hierarchical",
        "-o", str(out), "--no-plots", "-q",
    )  # fmt: skip
    assert (code, stderr) == (0, "")
    assert local.k_selection.chosen == 4
    assignments = pd.read_csv(out / "assignments.csv")
    np.testing.assert_array_equal(assignments["segment"], local.labels)
    doc = json.loads((out / "model.json").read_text())
    assert doc["config"]["engine"] == "spark"
    assert doc["method"] == "hierarchical" and doc["k"] == 4
    _same_models(local.model.to_dict(), doc)
    # The model file of a Spark run assigns customers on this computer as the local one.
    frame = pd.read_parquet(blobs_path)
    np.testing.assert_array_equal(
        np.asarray(load_model(out / "model.json").predict(frame)),
        np.asarray(local.model.predict(frame)),
    )


def test_spark_two_stage_ward_with_skewed_amounts_and_outliers(
    spark_session, skewed_path, monkeypatch, tmp_path
):
    # Two stages on 3,000 customers: 40 micro-clusters learnt on a 2,000-customer sample
    # (SUMMARY_SAMPLE_PER_MICRO = 50 per micro-cluster), so the sample is a real one.
    monkeypatch.setattr(pipeline, "EXACT_TREE_LIMIT", 1_000)
    monkeypatch.setattr(pipeline, "MICRO_CLUSTERS", 40)
    # k is chosen on 1,000 of them (both engines: the rows with the smallest sample_keys
    # of their row numbers in the file, the two atypical ones left out of the fit).
    monkeypatch.setattr(pipeline, "SWEEP_SAMPLE", 1_000)
    local, spark = _both(skewed_path)
    assert spark.k_selection.sample_size == local.k_selection.sample_size == 1_000
    assert local.data.transformed and spark.data.transformed == local.data.transformed
    assert local.data.n_atypical == spark.data.n_atypical >= 2
    assert spark.dendrogram is not None and spark.dendrogram.n_leaves <= 40
    np.testing.assert_allclose(spark.dendrogram.linkage, local.dendrogram.linkage, rtol=1e-9)
    _same_segments(local, spark)
    path = tmp_path / "model.json"
    spark.model.save(path)
    frame = pd.read_parquet(skewed_path)
    np.testing.assert_array_equal(
        np.asarray(load_model(path).predict(frame)), np.asarray(local.model.predict(frame))
    )


@pytest.mark.parametrize("m", [30, MANY_CENTRES])
def test_micro_clusters_are_the_same_on_both_engines(spark_session, m):
    # The seam calls alone: the same sample rows, centres, sums and memberships (with few
    # centres by differences, with many by scikit-learn's search, on both engines).
    X = make_blobs(n_samples=2_500, centers=3, n_features=2, random_state=5)[0]
    local = get_data_engine("local").from_arrays(X)
    spark = get_data_engine("spark").from_arrays(X)
    ours, theirs = summarise(local, m, seed=3), summarise(spark, m, seed=3)
    assert len(ours.centres) == m
    np.testing.assert_array_equal(theirs.centres, ours.centres)
    np.testing.assert_array_equal(theirs.remap, ours.remap)
    np.testing.assert_allclose(theirs.sums.counts, ours.sums.counts)
    np.testing.assert_allclose(theirs.sums.sums, ours.sums.sums, rtol=1e-12)
    np.testing.assert_allclose(theirs.sums.sumsq, ours.sums.sumsq, rtol=1e-12)
    assert ours.sums.counts.sum() == len(X)
    np.testing.assert_array_equal(
        theirs.assigned.to_numpy()["segment"], ours.assigned.to_numpy()["segment"]
    )
