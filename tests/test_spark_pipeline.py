"""``engine="spark"`` end to end: the same segments as ``engine="local"`` (issue 18).

Spark runs the scaling statistics, the k-selection sample, the final Lloyd iterations and
the assignment; everything else is the local code, so on tie-free data the two engines
must agree on k, the segments (adjusted Rand index >= 0.99), their names and actions, and
the model file must assign customers locally. Skips cleanly without pyspark or Java.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from conftest import run_cli
from custseg import pipeline
from custseg.config import SegmentationConfig
from custseg.engines import contract
from custseg.errors import ConfigError, DataError
from custseg.model import load_model

pytestmark = pytest.mark.xdist_group("spark")

FEATURES = ["spend", "visits", "tenure"]


@pytest.fixture(scope="module")
def blobs_path(tmp_path_factory):
    """3,000 customers in four separated groups, continuous values (no ties), as Parquet."""
    X, _ = make_blobs(
        n_samples=3000, centers=4, n_features=3, random_state=1, center_box=(0.0, 20.0)
    )
    frame = pd.DataFrame(X + 30.0, columns=FEATURES)
    frame.insert(0, "customer_id", np.arange(1, len(frame) + 1))
    path = tmp_path_factory.mktemp("spark") / "blobs.parquet"
    frame.to_parquet(path, index=False)
    return path


def _both(path, **options):
    local = pipeline.segment(path, SegmentationConfig(**options))
    spark = pipeline.segment(path, SegmentationConfig(engine="spark", **options))
    return local, spark


def _same_segments(local, spark) -> None:
    assert spark.k_selection.chosen == local.k_selection.chosen
    assert adjusted_rand_score(local.labels, spark.labels) >= 0.99
    assert [s.name for s in spark.segments] == [s.name for s in local.segments]
    assert [s.recommendation.to_dict() for s in spark.segments] == [
        s.recommendation.to_dict() for s in local.segments
    ]


def test_spark_gives_the_local_segments(spark_session, blobs_path, tmp_path):
    local, spark = _both(blobs_path)
    _same_segments(local, spark)
    assert spark.k_selection.chosen == 4
    assert spark.config.engine == "spark"
    # The model file of a Spark run assigns customers on this computer, like a local one.
    path = tmp_path / "model.json"
    spark.model.save(path)
    frame = pd.read_parquet(blobs_path)
    assigned = load_model(path).predict(frame)
    assert adjusted_rand_score(np.asarray(assigned), spark.labels) >= 0.99


@pytest.fixture(scope="module")
def skewed_path(tmp_path_factory):
    """2,000 customers in three groups of log-normal amounts: --transform auto logs them."""
    rng = np.random.default_rng(4)
    group = rng.choice(3, size=2000, p=[0.5, 0.3, 0.2])
    centres = np.array([[3.0, 1.0], [5.0, 2.5], [7.0, 1.5]])
    amounts = np.round(np.exp(centres[group] + rng.normal(0, 0.3, (2000, 2))), 2)
    frame = pd.DataFrame(amounts, columns=["spend", "orders_value"])
    frame.insert(0, "customer_id", np.arange(1, len(frame) + 1))
    path = tmp_path_factory.mktemp("spark") / "skewed.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_spark_log_transforms_skewed_amounts_as_local_does(spark_session, skewed_path):
    local, spark = _both(skewed_path)
    assert local.data.transformed  # the defaults log the skewed amounts
    assert spark.data.transformed == local.data.transformed
    _same_segments(local, spark)
    assert spark.model.scaler.log == local.model.scaler.log
    np.testing.assert_allclose(spark.model.scaler.center, local.model.scaler.center, rtol=1e-9)
    np.testing.assert_allclose(spark.model.scaler.scale, local.model.scaler.scale, rtol=1e-9)


def test_spark_keeps_atypical_customers_out_of_fitting_as_local_does(
    spark_session, blobs_path, tmp_path
):
    frame = pd.read_parquet(blobs_path)
    frame.loc[[10, 2000], "spend"] = frame["spend"].median() * 60  # two extreme customers
    path = tmp_path / "outliers.parquet"
    frame.to_parquet(path, index=False)
    local, spark = _both(path)
    assert local.data.n_atypical == spark.data.n_atypical == 2
    _same_segments(local, spark)
    np.testing.assert_allclose(spark.model.centres, local.model.centres, rtol=1e-7, atol=1e-9)


def test_spark_fills_empty_cells_with_the_medians_local_chose(spark_session, blobs_path, tmp_path):
    frame = pd.read_parquet(blobs_path)
    frame.loc[[3, 333, 2999], "visits"] = np.nan  # a few gaps: --missing auto fills them
    path = tmp_path / "gaps.parquet"
    frame.to_parquet(path, index=False)
    local, spark = _both(path)
    assert local.data.imputed == spark.data.imputed == {"visits": 3}
    _same_segments(local, spark)
    np.testing.assert_allclose(spark.model.centres, local.model.centres, rtol=1e-7, atol=1e-9)


def test_both_engines_choose_k_on_the_same_seeded_sample(spark_session, blobs_path, monkeypatch):
    # Above SWEEP_SAMPLE customers both engines take the rows with the smallest sample_keys:
    # the same customers, so the same indices, curves and stability, not only the same k.
    monkeypatch.setattr(pipeline, "SWEEP_SAMPLE", 1000)
    local, spark = _both(blobs_path)
    _same_segments(local, spark)
    assert spark.k_selection.sample_size == local.k_selection.sample_size == 1000
    for a, b in zip(local.k_selection.candidates, spark.k_selection.candidates, strict=True):
        assert a.k == b.k
        assert a.silhouette == pytest.approx(b.silhouette, abs=1e-9)
        assert a.gap == pytest.approx(b.gap, abs=1e-9)
        assert a.stability == pytest.approx(b.stability, abs=1e-9)
    assert [s.stability for s in spark.segments] == pytest.approx(
        [s.stability for s in local.segments], abs=1e-9
    )


def test_cli_segment_with_engine_spark(spark_session, blobs_path, tmp_path):
    out = tmp_path / "out"
    code, _, _ = run_cli(
        "segment", str(blobs_path), "--engine", "spark", "-o", str(out), "--no-plots", "-q"
    )
    assert code == 0
    assert (out / "model.json").is_file()
    assert (out / "assignments.csv").is_file()


def test_spark_refuses_what_it_does_not_do_yet(spark_session, blobs_path):
    with pytest.raises(ConfigError, match="pass the path"):
        pipeline.segment(pd.read_parquet(blobs_path), SegmentationConfig(engine="spark"))


def test_missing_pyspark_is_one_line_naming_the_extra(blobs_path, tmp_path, monkeypatch):
    real = importlib.util.find_spec

    def no_pyspark(name, *args, **kwargs):
        return None if name == "pyspark" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", no_pyspark)
    monkeypatch.delitem(contract._REGISTRY, "spark", raising=False)
    monkeypatch.delitem(__import__("sys").modules, "custseg.engines.spark", raising=False)
    code, _, stderr = run_cli(
        "segment", str(blobs_path), "--engine", "spark", "-o", str(tmp_path / "o"), "-q"
    )
    assert code != 0
    assert stderr.strip().splitlines() == [
        "Error: engine='spark' needs a package that is not installed (pyspark); "
        "install it with: pip install 'custseg[spark]'"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "id;spend;visits\n1;12,5;3\n2;40,1;7\n",
            "separates its fields with ';'; --engine spark reads comma-separated CSV (with "
            "decimal points): save it as such, or as Parquet, or use --engine local",
        ),
        (
            "    1    2\n    3    4\n    5    6\n",
            "separates its fields with spaces; --engine spark reads fields separated by a "
            "comma, semicolon, tab or |: save it as CSV",
        ),
        (
            "Customer report\n\nid,spend,visits\n1,12.5,3\n2,40.1,7\n",
            "has lines above its header ('Customer report'); --engine spark needs the header "
            "on the first line: delete them",
        ),
        (
            "1,12.5,3\n2,40.1,7\n3,11.0,2\n",
            "has no header row (its first row holds data); --engine spark needs one: add a "
            "header row naming each column",
        ),
    ],
)
def test_spark_refuses_csv_layouts_it_would_misread(spark_session, tmp_path, text, message):
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as err:
        pipeline.segment(path, SegmentationConfig(engine="spark"))
    assert str(err.value) == f"file '{path}' {message}"
