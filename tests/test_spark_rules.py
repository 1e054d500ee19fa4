"""Tables longer than the driver's head: the rules of every row run on Spark (issue 18).

The driver reads the head of the file (``distributed.DRIVER_SAMPLE`` rows, made small
here); the rules whose outcome depends on every row run as Spark aggregates and must give
the local rules' messages and stated repairs for problems beyond the head, word for word,
and the same segments. Skips cleanly without pyspark or Java.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from conftest import run_cli
from custseg import distributed, pipeline
from custseg.config import SegmentationConfig
from custseg.errors import ConfigError, CustsegError, DataError

pytestmark = pytest.mark.xdist_group("spark")

HEAD = 500  # rows the driver reads; every problem below is further down


@pytest.fixture(autouse=True)
def _small_head(monkeypatch):
    monkeypatch.setattr(distributed, "DRIVER_SAMPLE", HEAD)


@pytest.fixture(scope="module")
def blobs() -> pd.DataFrame:
    """3,000 customers in four separated groups (positive amounts, no ties)."""
    X, _ = make_blobs(
        n_samples=3000, centers=4, n_features=3, random_state=1, center_box=(0.0, 20.0)
    )
    frame = pd.DataFrame(X + 30.0, columns=["spend", "visits", "tenure"])
    frame.insert(0, "customer_id", np.arange(1, len(frame) + 1))
    return frame


def _write(frame: pd.DataFrame, tmp_path, name: str = "t.parquet"):
    path = tmp_path / name
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _assignments(result, tmp_path) -> pd.DataFrame:
    """The ``assignments/`` Parquet folder Spark wrote for a table longer than the driver's
    head, in row order."""
    from custseg.outputs.writers import write_results

    out = write_results(result, tmp_path / f"out{len(list(tmp_path.iterdir()))}", report=False)
    frame = pd.read_parquet(out / "assignments")
    return frame.sort_values(result.data.id_column or "row").reset_index(drop=True)


def _labels(result, tmp_path) -> np.ndarray:
    """Each customer's segment, 1..k in row order."""
    if len(result.labels):
        return result.labels
    return _assignments(result, tmp_path)["segment"].to_numpy()


def _error(path, error=CustsegError, **options) -> str:
    with pytest.raises(error) as info:
        pipeline.segment(path, SegmentationConfig(**options))
    return str(info.value)


def _same_error(path, **options) -> str:
    local = _error(path, DataError, **options)
    assert _error(path, DataError, engine="spark", **options) == local
    return local


def test_a_clean_long_table_gives_the_local_segments(spark_session, blobs, tmp_path):
    path = _write(blobs, tmp_path)
    local = pipeline.segment(path, SegmentationConfig())
    spark = pipeline.segment(path, SegmentationConfig(engine="spark"))
    assert spark.data.n_rows == local.data.n_rows == 3000
    assert spark.k_selection.chosen == local.k_selection.chosen == 4
    assert adjusted_rand_score(local.labels, _labels(spark, tmp_path)) >= 0.99
    assert [s.name for s in spark.segments] == [s.name for s in local.segments]
    assert spark.data.repairs == local.data.repairs
    assert spark.data.features == local.data.features


def test_given_id_repeated_beyond_the_head(spark_session, blobs, tmp_path):
    frame = blobs.copy()
    frame.loc[[1999, 2500], "customer_id"] = 7
    message = _same_error(_write(frame, tmp_path), id_column="customer_id")
    assert message == (
        "id column 'customer_id' has duplicate value 7 (rows 7, 2000, 2501); every customer "
        "needs a unique id"
    )


def test_detected_id_repeated_beyond_the_head_is_refused(spark_session, blobs, tmp_path):
    frame = blobs.copy()
    frame.loc[2500, "customer_id"] = 7
    message = _error(_write(frame, tmp_path), ConfigError, engine="spark")
    assert message == (
        "column 'customer_id' looks like an id in the first 500 rows but has duplicate "
        "values (7 in rows 7, 2501); engine='spark' takes the id from those rows: fix the "
        "column and pass --id 'customer_id', or use --engine local"
    )


def test_infinite_and_too_large_values_beyond_the_head(spark_session, blobs, tmp_path):
    frame = blobs.copy()
    frame.loc[[1500, 1600], "visits"] = np.inf
    assert _same_error(_write(frame, tmp_path, "inf.parquet")) == (
        "feature 'visits' has an infinite value in rows 1501, 1601; replace it with a real "
        "number or leave the cell empty"
    )
    frame = blobs.copy()
    frame.loc[1200, "tenure"] = 1e200
    assert _same_error(_write(frame, tmp_path, "big.parquet")) == (
        "feature 'tenure' has a value too large to compute with (1e+200 in row 1201); "
        "check that value"
    )


def test_text_in_a_number_column_beyond_the_head(spark_session, blobs, tmp_path):
    frame = blobs.astype({"visits": object})
    frame.loc[2000, "visits"] = "twelve"
    path = _write(frame, tmp_path, "text.csv")
    assert _error(path, DataError, engine="spark") == (
        "column 'visits' has text where a number is expected: row 2001 is 'twelve'; fix the "
        "value, or choose the features with --features to leave it out"
    )
    assert _error(path, DataError, engine="spark", features=("spend", "visits")) == (
        "feature 'visits' has text where a number is expected: row 2001 is 'twelve'; fix "
        "the value, or leave the column out of --features (text columns are profiled as "
        "categories)"
    )


def test_missing_error_names_the_rows_beyond_the_head(spark_session, blobs, tmp_path):
    frame = blobs.copy()
    frame.loc[[900, 2999], "spend"] = np.nan
    assert _same_error(_write(frame, tmp_path), missing="error") == (
        "feature 'spend' has 2 empty value(s) (rows 901, 3000); fill them in, or use "
        "--missing drop or --missing impute"
    )


def test_gaps_beyond_the_head_are_filled_and_stated(spark_session, blobs, tmp_path):
    frame = blobs.copy()
    frame.loc[[900, 1800, 2999], "visits"] = np.nan
    path = _write(frame, tmp_path)
    local = pipeline.segment(path, SegmentationConfig())
    spark = pipeline.segment(path, SegmentationConfig(engine="spark"))
    assert spark.data.imputed == local.data.imputed == {"visits": 3}
    # The median is percentile_approx's (an element within 0.1% of the customers in rank).
    value = spark.model.impute_values["visits"]
    ranks = (frame["visits"].dropna() <= value).mean()
    assert abs(ranks - 0.5) <= 1e-3 + 1 / 3000
    assert [r for r in spark.data.repairs if r.startswith("filled ")] == [
        f"filled 3 empty cell(s) of 'visits' with its median ({value:g}); those rows say so "
        "in the 'imputed' column of the assignments/ folder"  # written by Spark
    ]
    assert adjusted_rand_score(local.labels, _labels(spark, tmp_path)) >= 0.99
    written = _assignments(spark, tmp_path)
    assert (written["imputed"] == local.row_flags["imputed"]).all()
    assert written["imputed"].tolist().count("'visits'") == 3


def test_gaps_that_would_leave_customers_out_are_refused(spark_session, blobs, tmp_path):
    frame = blobs.copy()
    frame.loc[[900, 1800], "visits"] = np.nan
    message = _error(_write(frame, tmp_path), ConfigError, engine="spark", missing="drop")
    assert message == (
        "2 customer(s) would be left out (missing value in 'visits'); engine='spark' needs "
        "every row usable for now: clean the file or use --engine local"
    )


def test_a_feature_too_empty_beyond_the_head_is_refused(spark_session, blobs, tmp_path):
    frame = blobs.copy()
    frame.loc[1000:, "tenure"] = np.nan  # 67% empty, none in the head
    message = _error(_write(frame, tmp_path), ConfigError, engine="spark")
    assert message == (
        "feature 'tenure' is 67% empty (more than 30%) in all 3,000 rows, which the first "
        "500 rows did not show; engine='spark' chooses the features from those rows: fill "
        "it in, leave it out with --ignore 'tenure', or use --engine local"
    )


def test_negative_and_extreme_values_beyond_the_head_are_flagged_as_locally(
    spark_session, blobs, tmp_path
):
    frame = blobs.copy()
    frame.loc[[700, 2100], "spend"] = [-5.0, -6.5]
    frame.loc[2600, "visits"] = 5000.0
    path = _write(frame, tmp_path)
    local = pipeline.segment(path, SegmentationConfig())
    spark = pipeline.segment(path, SegmentationConfig(engine="spark"))
    flagged = [r for r in local.data.repairs if r.startswith("flagged: ")]
    assert flagged[0] == (
        "flagged: column 'spend' has negative values, which make no sense for it, in rows "
        "701, 2101 (-5); they were kept as they are - check them"
    )
    assert any("extreme value(s), e.g. 5000" in r and "row 2601" in r for r in flagged)
    assert spark.data.repairs == tuple(distributed._in_folder(r) for r in local.data.repairs)
    assert spark.data.n_atypical == local.data.n_atypical >= 1
    written = _assignments(spark, tmp_path)
    assert written["atypical"].tolist() == local.row_flags["atypical"].tolist()
    assert adjusted_rand_score(local.labels, _labels(spark, tmp_path)) >= 0.99


def test_a_totals_row_at_the_end_is_refused_with_its_reason(spark_session, blobs, tmp_path):
    frame = blobs.copy()
    frame.loc[len(frame)] = [None, *blobs[["spend", "visits", "tenure"]].sum()]
    frame = frame.astype({"customer_id": "Int64"})
    message = _error(_write(frame, tmp_path), ConfigError, engine="spark")
    assert message == (
        "1 customer(s) would be left out (totals row (its values are the sums of the rows "
        "above)); engine='spark' needs every row usable for now: clean the file or use "
        "--engine local"
    )


def test_cli_error_beyond_the_head_is_one_line(spark_session, blobs, tmp_path):
    frame = blobs.copy()
    frame.loc[[1500], "visits"] = np.inf
    path = _write(frame, tmp_path)
    code, _, stderr = run_cli(
        "segment", str(path), "--engine", "spark", "-o", str(tmp_path / "o"), "-q"
    )
    assert code == 1
    assert stderr.strip().splitlines() == [
        "Error: feature 'visits' has an infinite value in row 1501; replace it with a real "
        "number or leave the cell empty"
    ]
    assert not (tmp_path / "o").exists()


def test_a_feature_near_constant_over_every_row_is_refused(spark_session, blobs, tmp_path):
    frame = blobs.copy()
    frame.loc[20:, "tenure"] = 5.0  # 96% in the head, 99.3% over every row
    message = _error(_write(frame, tmp_path), ConfigError, engine="spark")
    assert message == (
        "feature 'tenure' is near-constant (99% of customers have 5) in all 3,000 rows, "
        "which the first 500 rows did not show; engine='spark' chooses the features from "
        "those rows: fill it in, leave it out with --ignore 'tenure', or use --engine local"
    )
    local = pipeline.segment(_write(frame, tmp_path, "l.parquet"), SegmentationConfig())
    assert local.data.features == ("spend", "visits")  # locally: not a feature


def test_a_category_with_too_many_values_beyond_the_head_is_refused(spark_session, blobs, tmp_path):
    frame = blobs.copy()
    frame["region"] = [f"r{i % 5}" if i < 1000 else f"r{i}" for i in range(len(frame))]
    message = _error(_write(frame, tmp_path), ConfigError, engine="spark")
    assert message.startswith("column 'region' has 2,005 distinct values in all 3,000 rows")
    assert message.endswith("leave it out with --ignore 'region', or use --engine local")


def test_the_checks_of_every_row_bring_nothing_of_size_n_to_the_driver(
    spark_session, blobs, tmp_path, monkeypatch
):
    from custseg.data.prepare import prepare
    from custseg.engines import get_data_engine

    frame = blobs.copy()
    frame.loc[[700, 2100], "spend"] = [-5.0, -6.5]  # a few first rows are fetched
    frame.loc[[900, 1800, 2999], "visits"] = np.nan
    path = _write(frame, tmp_path)
    engine = get_data_engine("spark")
    config = SegmentationConfig()
    head = prepare(frame.iloc[:HEAD], config, source=str(path), file_format="parquet")
    DataFrame = type(spark_session.range(1))  # pyspark 4: the classic DataFrame class
    returned: list[int] = []
    real_collect = DataFrame.collect

    def collect(self):
        rows = real_collect(self)
        returned.append(len(rows))
        return rows

    def refuse(self, *args, **kwargs):
        raise AssertionError("the whole frame was brought to the driver")

    monkeypatch.setattr(DataFrame, "collect", collect)
    monkeypatch.setattr(DataFrame, "toArrow", refuse)
    monkeypatch.setattr(DataFrame, "toPandas", refuse)
    checks = engine.check_rows(path, head, config, head_rows=HEAD)
    assert checks.n_rows == 3000 and checks.imputed == {"visits": 3}
    assert returned and max(returned) <= 6  # counts, sums, and at most six first rows
