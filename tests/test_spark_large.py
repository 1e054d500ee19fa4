"""A Spark run longer than the driver's head brings nothing of size n to the driver
(issue 18): the head, the k-selection sample, k-sized aggregates; the per-customer
segments are written by Spark as a Parquet folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from conftest import run_cli
from custseg import distributed, pipeline
from custseg.config import SegmentationConfig
from custseg.engines.micro import SUMMARY_SAMPLE_PER_MICRO
from custseg.model import load_model

pytestmark = pytest.mark.xdist_group("spark")

HEAD = 500  # rows the driver reads to decide the columns
SAMPLE = 1000  # the k-selection sample
N = 3000


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    """3,000 customers in four separated groups, with a category, a flag and a few
    customers far out (atypical: kept out of fitting, assigned afterwards)."""
    X, group = make_blobs(
        n_samples=N, centers=4, n_features=3, random_state=7, center_box=(0.0, 20.0)
    )
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(X + 30.0, columns=["spend", "visits", "tenure"])
    frame.insert(0, "customer_id", np.arange(1, N + 1))
    frame["region"] = np.array(["north", "south"], dtype=object)[rng.integers(0, 2, size=N)]
    frame["complained"] = (rng.random(N) < 0.1 + 0.4 * (group == 2)).astype(int)
    frame.loc[[1200, 2600], "visits"] = [4000.0, 5000.0]  # beyond the head: atypical
    return frame


@pytest.fixture
def small_driver(monkeypatch):
    monkeypatch.setattr(distributed, "DRIVER_SAMPLE", HEAD)
    monkeypatch.setattr(distributed, "SWEEP_SAMPLE", SAMPLE)
    monkeypatch.setattr(pipeline, "SWEEP_SAMPLE", SAMPLE)


@pytest.fixture
def nothing_of_size_n(spark_session, monkeypatch):
    """Every collect, toArrow and toPandas is counted; none may bring more rows than the
    head or the sample."""
    DataFrame = type(spark_session.range(1))  # pyspark 4: the classic DataFrame class
    largest: list[int] = [0]
    real_collect, real_arrow = DataFrame.collect, DataFrame.toArrow

    def collect(self):
        rows = real_collect(self)
        largest[0] = max(largest[0], len(rows))
        return rows

    def to_arrow(self):
        table = real_arrow(self)
        assert table.num_rows <= max(HEAD + 1, SAMPLE), "n rows brought to the driver"
        largest[0] = max(largest[0], table.num_rows)
        return table

    def refuse(self, *args, **kwargs):
        raise AssertionError("the whole frame was brought to the driver (toPandas)")

    monkeypatch.setattr(DataFrame, "collect", collect)
    monkeypatch.setattr(DataFrame, "toArrow", to_arrow)
    monkeypatch.setattr(DataFrame, "toPandas", refuse)
    return largest


def test_a_long_table_on_spark_gives_the_local_segments_without_collecting_it(
    spark_session, customers, tmp_path, small_driver, nothing_of_size_n
):
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path, index=False)
    spark = pipeline.segment(path, SegmentationConfig(engine="spark"))
    # (Every row and aggregate above came to the driver through the patched methods.)
    assert nothing_of_size_n[0] <= SAMPLE
    local = pipeline.segment(path, SegmentationConfig())
    assert spark.data.n_rows == local.data.n_rows == N
    assert spark.k == local.k == 4
    assert [s.size for s in spark.segments] == [s.size for s in local.segments]
    assert [s.name for s in spark.segments] == [s.name for s in local.segments]
    assert [s.recommendation.title for s in spark.segments] == [
        s.recommendation.title for s in local.segments
    ]
    assert spark.data.n_atypical == local.data.n_atypical > 0
    assert spark.model.training["n_customers"] == N
    assert len(spark.labels) == 0  # per customer: only on Spark
    for a, b in zip(spark.segments, local.segments, strict=True):
        assert a.levels == b.levels
        assert a.categories.keys() == b.categories.keys()
        for f, stats in a.stats.items():
            assert stats.mean == pytest.approx(b.stats[f].mean, rel=1e-9)
            assert (stats.min, stats.max) == (b.stats[f].min, b.stats[f].max)
        assert a.described.keys() == b.described.keys()
    assert spark.projection is not None and spark.projection.n_total == N


def test_segment_cli_writes_the_assignments_folder_with_spark(
    spark_session, customers, tmp_path, small_driver
):
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path, index=False)
    code, stdout, err = run_cli(
        "segment", str(path), "--engine", "spark", "-o", str(tmp_path / "out")
    )
    assert code == 0, err
    out = tmp_path / "out"
    # The words name the folder written, not a file that is not there.
    assert "(atypical in assignments/)" in stdout and "assignments.csv" not in stdout
    report = (out / "report.html").read_text()
    assert "Parquet folder <code>assignments/</code>" in report
    assert 'href="assignments.csv"' not in report
    assert not (out / "assignments.csv").exists()
    frame = pd.read_parquet(out / "assignments").sort_values("customer_id")
    assert list(frame.columns) == ["customer_id", "segment", "segment_name", "distance", "atypical"]
    assert frame["customer_id"].tolist() == list(range(1, N + 1))
    doc = json.loads((out / "segments.json").read_text())
    assert doc["assignments"] == "assignments/"
    sizes = {s["id"]: s["size"] for s in doc["segments"]}
    names = {s["id"]: s["name"] for s in doc["segments"]}
    # The result's numbering and names, not the engine's labels.
    assert frame["segment"].value_counts().to_dict() == sizes
    assert (frame["segment"].map(names) == frame["segment_name"]).all()
    # The model file assigns locally the customers Spark segmented (atypical ones aside,
    # which went to the centres of the fit).
    model = load_model(out / "model.json")
    fitted = ~frame["atypical"].to_numpy()
    local = model.assign(customers.sort_values("customer_id"))
    agree = (np.asarray(local["segment"])[fitted] == frame["segment"].to_numpy()[fitted]).mean()
    assert agree >= 0.99
    # A second run replaces the folder (the manifest owns it).
    code, _, err = run_cli("segment", str(path), "--engine", "spark", "-o", str(out), "--k", "3")
    assert code == 0, err
    assert pd.read_parquet(out / "assignments")["segment"].nunique() == 3
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "assignments",
        "model.json",
        "report.html",
        "segments.csv",
        "segments.json",
    ]


def test_hierarchical_on_a_long_table_gives_the_local_segments_without_collecting_it(
    spark_session, customers, tmp_path, small_driver, nothing_of_size_n, monkeypatch
):
    # Two stages on both engines (20 micro-clusters learnt on a 1,000-customer sample, no
    # larger than the k-selection one): Spark sums every customer into them, Ward runs here
    # on the sums, and Spark gives each customer its micro-cluster's segment (relabel) and
    # writes them.
    monkeypatch.setattr(pipeline, "EXACT_TREE_LIMIT", 1_000)
    monkeypatch.setattr(pipeline, "MICRO_CLUSTERS", SAMPLE // SUMMARY_SAMPLE_PER_MICRO)
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path, index=False)
    out = tmp_path / "out"
    code, _, err = run_cli(
        "segment", str(path), "--engine", "spark", "--method", "hierarchical",
        "-o", str(out), "--no-plots",
    )  # fmt: skip
    assert code == 0, err
    assert nothing_of_size_n[0] <= SAMPLE
    local = pipeline.segment(path, SegmentationConfig(method="hierarchical"))
    doc = json.loads((out / "segments.json").read_text())
    assert doc["assignments"] == "assignments/"
    assert doc["k_selection"]["chosen"] == local.k == 4
    assert [s["size"] for s in doc["segments"]] == [s.size for s in local.segments]
    assert [s["name"] for s in doc["segments"]] == [s.name for s in local.segments]
    assert [s["recommendation"] for s in doc["segments"]] == [
        s.recommendation.to_dict() for s in local.segments
    ]
    assert [s["levels"] for s in doc["segments"]] == [s.levels for s in local.segments]
    # The same micro-clusters on both engines: the same segment for every customer.
    frame = pd.read_parquet(out / "assignments").sort_values("customer_id")
    assert frame["customer_id"].tolist() == list(range(1, N + 1))
    np.testing.assert_array_equal(frame["segment"], local.labels)
    assert frame["atypical"].sum() == local.data.n_atypical > 0
    # The model file assigns locally as the local run's; the distance Spark wrote is to
    # the customer's own segment's centre (the nearest one for almost every customer).
    model = load_model(out / "model.json")
    assert model.method == "hierarchical" and model.config["engine"] == "spark"
    np.testing.assert_allclose(model.centres, local.model.centres, rtol=1e-9)
    ours = model.assign(customers)
    np.testing.assert_array_equal(ours["segment"], local.model.predict(customers))
    same = ours["segment"].to_numpy() == frame["segment"].to_numpy()
    assert same.mean() >= 0.99
    np.testing.assert_allclose(  # (assign writes distances to 6 decimals)
        frame["distance"].to_numpy()[same], ours["distance"].to_numpy()[same], atol=5e-7
    )
