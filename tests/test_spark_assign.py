"""``custseg assign --engine spark``: a saved model assigns on Spark as it does locally (issue 18).

Every Arrow batch is assigned on the executors by the same code as the local command, so
on the same table the Parquet folder Spark writes holds the same rows as the local
output: the same ids, segments, names, distances, atypical flags and reasons. A model
fitted with ``--engine spark`` is the local model's file apart from provenance, and
assigns the same way on both engines. Skips cleanly without pyspark or Java.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from conftest import run_cli
from custseg import pipeline
from custseg.config import SegmentationConfig
from custseg.errors import OutputError
from custseg.model import load_model
from custseg.model.assign import assign_file

pytestmark = pytest.mark.xdist_group("spark")

FEATURES = ["spend", "visits", "tenure"]


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    """3,000 tie-free customers in four groups (Parquet and CSV) and a local model of them."""
    X, _ = make_blobs(
        n_samples=3000, centers=4, n_features=3, random_state=1, center_box=(0.0, 20.0)
    )
    frame = pd.DataFrame(X + 30.0, columns=FEATURES)
    frame.insert(0, "customer_id", [f"C{i:05d}" for i in range(1, len(frame) + 1)])
    folder = tmp_path_factory.mktemp("spark_assign")
    frame.to_parquet(folder / "blobs.parquet", index=False, row_group_size=700)
    frame.to_csv(folder / "blobs.csv", index=False)
    model = pipeline.segment(folder / "blobs.parquet", SegmentationConfig(k=4)).model
    model.save(folder / "model.json")
    return folder


def _both(model_path, data, tmp_path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The local output and the Spark output (in the local output's row order)."""
    model = load_model(model_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    assign_file(model, data, tmp_path / "local.parquet")
    summary = assign_file(model, str(data), str(tmp_path / "spark.parquet"), engine="spark")
    local = pd.read_parquet(tmp_path / "local.parquet")
    spark = pd.read_parquet(tmp_path / "spark.parquet")  # a folder of part files
    assert (tmp_path / "spark.parquet").is_dir()
    assert summary.n_rows == len(local) == len(spark)
    key = spark.columns[0]
    spark = spark.set_index(key).loc[local[key]].reset_index()
    return local, spark


def _same_rows(local: pd.DataFrame, spark: pd.DataFrame) -> None:
    assert list(spark.columns) == list(local.columns)
    assert spark.dtypes.to_dict() == local.dtypes.to_dict()
    for column in local.columns:
        if column == "distance":
            np.testing.assert_allclose(spark[column], local[column], rtol=1e-9, atol=0)
        else:
            pd.testing.assert_series_equal(spark[column], local[column], check_names=True)


def test_local_model_assigns_the_same_on_spark(spark_session, blobs, tmp_path):
    local, spark = _both(blobs / "model.json", blobs / "blobs.parquet", tmp_path)
    _same_rows(local, spark)
    assert set(local["segment"]) == {1, 2, 3, 4}
    summary = assign_file(
        load_model(blobs / "model.json"),
        str(blobs / "blobs.csv"),
        str(tmp_path / "csv.parquet"),
        engine="spark",
    )
    from_csv = pd.read_parquet(tmp_path / "csv.parquet").set_index("customer_id")
    pd.testing.assert_frame_equal(from_csv.loc[local["customer_id"]].reset_index(), local)
    assert summary.input_format == "csv"
    assert summary.counts == local["segment"].value_counts().sort_index().to_dict()


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    """Log-normal amounts (--transform auto logs them) with a few extreme customers
    (atypical), a model of them, and new customers with gaps, extremes and negatives."""
    rng = np.random.default_rng(4)
    group = rng.choice(3, size=2000, p=[0.5, 0.3, 0.2])
    centres = np.array([[3.0, 1.0], [5.0, 2.5], [7.0, 1.5]])
    amounts = np.exp(centres[group] + rng.normal(0, 0.3, (2000, 2)))
    frame = pd.DataFrame(amounts, columns=["spend", "orders_value"])
    frame.loc[[7, 1500], "spend"] *= 80  # extreme: kept out of fitting, flagged atypical
    frame.insert(0, "customer_id", np.arange(1, len(frame) + 1))
    folder = tmp_path_factory.mktemp("spark_skewed")
    frame.to_parquet(folder / "train.parquet", index=False)
    for missing in ("drop", "impute"):
        result = pipeline.segment(folder / "train.parquet", SegmentationConfig(missing=missing))
        result.model.save(folder / f"model_{missing}.json")
    new = frame.sample(frac=1.0, random_state=2).reset_index(drop=True)
    new.loc[[5, 50], "orders_value"] = np.nan
    new.loc[60, "spend"] = new["spend"].max() * 10
    new.to_parquet(folder / "new.parquet", index=False)
    return folder


def test_logged_features_atypical_and_gaps_assign_as_locally(spark_session, skewed, tmp_path):
    model = load_model(skewed / "model_drop.json")
    assert model.scaler.log and any(model.scaler.log)  # the amounts are logged
    local, spark = _both(skewed / "model_drop.json", skewed / "new.parquet", tmp_path)
    _same_rows(local, spark)
    assert local["atypical"].sum() >= 3  # the extremes, and the tail of each segment
    assert (local["left_out_reason"] != "").sum() == 2  # the gaps: left out under "drop"

    imputed, spark_imputed = _both(
        skewed / "model_impute.json", skewed / "new.parquet", tmp_path / "i"
    )
    _same_rows(imputed, spark_imputed)
    assert (imputed["left_out_reason"] == "").all()  # the gaps take the model's medians


def test_rows_are_numbered_as_locally_across_partitions(spark_session, blobs, tmp_path):
    # No id column: the output's 'row' counts customers in file order; Spark splits the
    # file into several partitions (small maxPartitionBytes), numbered as one file.
    frame = pd.read_parquet(blobs / "blobs.parquet").drop(columns="customer_id")
    frame.to_parquet(tmp_path / "noid.parquet", index=False, row_group_size=300)
    key = "spark.sql.files.maxPartitionBytes"
    before = spark_session.conf.get(key)
    spark_session.conf.set(key, "8k")
    try:
        local, spark = _both(blobs / "model.json", tmp_path / "noid.parquet", tmp_path)
        assert spark_session.read.parquet(str(tmp_path / "noid.parquet")).rdd.getNumPartitions() > 1
    finally:
        spark_session.conf.set(key, before)
    assert local.columns[0] == "row"
    _same_rows(local, spark)


def test_model_fitted_on_spark_is_the_local_model_apart_from_provenance(
    spark_session, blobs, tmp_path
):
    config = SegmentationConfig(k=4)
    spark_model = pipeline.segment(
        blobs / "blobs.parquet", SegmentationConfig(k=4, engine="spark")
    ).model
    spark_model.save(tmp_path / "spark_model.json")
    local_doc = load_model(blobs / "model.json").to_dict()
    spark_doc = load_model(tmp_path / "spark_model.json").to_dict()
    provenance = {"created_at", "checksum", "custseg_version"}
    assert spark_doc["config"] == {**local_doc["config"], "engine": "spark"}
    assert config.to_dict() == {**local_doc["config"]}

    def same(a, b, where):
        if isinstance(a, dict):
            assert set(a) == set(b), where
            for k in a:
                if not (where == "" and (k in provenance or k == "config")):
                    same(a[k], b[k], f"{where}/{k}")
        elif isinstance(a, list):
            assert len(a) == len(b), where
            for i, (u, v) in enumerate(zip(a, b, strict=True)):
                same(u, v, f"{where}[{i}]")
        elif isinstance(a, float):
            # Sums in another order: equal to rounding.
            assert b == pytest.approx(a, rel=1e-9, abs=1e-12), where
        else:
            assert a == b, where

    same(local_doc, spark_doc, "")
    # It assigns on this computer and on Spark as the local model does.
    local, spark = _both(tmp_path / "spark_model.json", blobs / "blobs.parquet", tmp_path / "s")
    _same_rows(local, spark)
    from_local_model, _ = _both(blobs / "model.json", blobs / "blobs.parquet", tmp_path / "l")
    assert (local["segment"] == from_local_model["segment"]).all()


# --- the command line ------------------------------------------------------------------


def test_cli_assign_with_engine_spark(spark_session, blobs, tmp_path):
    out = tmp_path / "assigned.parquet"
    code, stdout, stderr = run_cli(
        "assign",
        str(blobs / "model.json"),
        str(blobs / "blobs.parquet"),
        "--engine",
        "spark",
        "-o",
        str(out),
    )
    assert code == 0, stderr
    assert stderr.strip().splitlines()[-1] == "Spark: using the running session (master local[2])"
    lines = stdout.strip().splitlines()
    assert lines[0].startswith("3,000 of 3,000 customers assigned to 4 segments;")
    assert lines[-1] == f"written to {out}"
    assert len(pd.read_parquet(out)) == 3000
    # The folder exists now: Spark never replaces one.
    code, _, stderr = run_cli(
        "assign",
        str(blobs / "model.json"),
        str(blobs / "blobs.parquet"),
        "--engine",
        "spark",
        "-o",
        str(out),
        "-q",
    )
    assert code == 1
    assert stderr.strip().splitlines() == [
        f"Error: '{out}' already exists; choose a new output path (Spark writes a Parquet "
        "folder and never replaces one)"
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def _failed_on_both_engines(model, data, tmp_path) -> list[list[str]]:
    """``custseg assign`` of ``data`` locally (to a.parquet) and on Spark (to b.parquet):
    each must exit 1; their stderr lines, local first."""
    lines = []
    for engine, out in (("local", "a.parquet"), ("spark", "b.parquet")):
        code, _, stderr = run_cli(
            "assign", str(model), str(data), "--engine", engine, "-o", str(tmp_path / out), "-q"
        )
        assert code == 1
        lines.append(stderr.strip().splitlines())
    return lines


def test_cli_missing_column_is_the_local_message(spark_session, blobs, tmp_path):
    frame = pd.read_parquet(blobs / "blobs.parquet").drop(columns="visits")
    frame.to_parquet(tmp_path / "novisits.parquet", index=False)
    messages = _failed_on_both_engines(
        blobs / "model.json", tmp_path / "novisits.parquet", tmp_path
    )
    assert (
        messages[0]
        == messages[1]
        == [
            "Error: the data has no column 'visits', which the model was trained on; the model "
            "needs: spend, visits, tenure"
        ]
    )
    assert not (tmp_path / "b.parquet").exists()


def test_cli_bad_value_on_an_executor_is_one_line_with_its_row(spark_session, blobs, tmp_path):
    text = (blobs / "blobs.csv").read_text().splitlines()
    fields = text[2001].split(",")
    fields[2] = "lots"  # customer 2001 (line 2002 of the file): text in 'visits'
    text[2001] = ",".join(fields)
    (tmp_path / "typo.csv").write_text("\n".join(text) + "\n")
    outputs = _failed_on_both_engines(blobs / "model.json", tmp_path / "typo.csv", tmp_path)
    assert (
        outputs[0]
        == outputs[1]
        == [
            "Error: feature 'visits' has text where a number is expected: row 2001 is 'lots'; "
            "fix the value (the model was trained on numbers in this column)"
        ]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["typo.csv"]  # nothing half-written


def test_cli_spark_output_refusals(spark_session, blobs, tmp_path):
    args = ["assign", str(blobs / "model.json"), str(blobs / "blobs.parquet"), "--engine", "spark"]
    code, _, stderr = run_cli(*args, "-o", str(tmp_path / "x.csv"), "-q")
    assert (code, stderr.strip()) == (
        1,
        f"Error: --out '{tmp_path / 'x.csv'}': with --engine spark the output is a Parquet "
        "folder written by Spark; name it .parquet",
    )
    code, _, stderr = run_cli(*args, "-o", str(tmp_path / "no" / "x.parquet"), "-q")
    assert (code, stderr.strip()) == (
        1,
        f"Error: folder '{tmp_path / 'no'}' does not exist; create it first",
    )


def test_cli_spark_conf_is_checked_and_applied(spark_session, blobs, tmp_path):
    args = ["assign", str(blobs / "model.json"), str(blobs / "blobs.parquet"), "-q"]
    code, _, stderr = run_cli(*args, "-o", str(tmp_path / "a.parquet"), "--spark-conf", "memory")
    assert code == 1
    assert stderr.strip() == (
        "Error: Invalid value for '--spark-conf': 'memory' is not KEY=VALUE; e.g. "
        "--spark-conf spark.executor.memory=4g (see 'custseg assign --help')"
    )
    code, _, stderr = run_cli(
        *args, "-o", str(tmp_path / "a.parquet"), "--spark-conf", "hadoop.fs.x=1"
    )
    assert code == 1
    assert stderr.strip() == (
        "Error: Invalid value for '--spark-conf': 'hadoop.fs.x' is not a Spark setting; only "
        "spark.* keys are passed to Spark (Hadoop settings go as spark.hadoop.*) "
        "(see 'custseg assign --help')"
    )
    code, _, stderr = run_cli(*args, "-o", str(tmp_path / "a.parquet"), "--spark-master", "local")
    assert (code, stderr.strip()) == (
        1,
        "Error: --spark-master applies to --engine spark only (this run is local)",
    )
    # A running session: its master stays; a setting Spark allows at run time is applied,
    # one fixed when Spark started is refused with the way to set it.
    key = "spark.sql.shuffle.partitions"
    before = spark_session.conf.get(key)
    try:
        code, _, stderr = run_cli(
            *args[:-1],
            "--engine",
            "spark",
            "-o",
            str(tmp_path / "b.parquet"),
            "--spark-master",
            "spark://elsewhere:7077",
            "--spark-conf",
            f"{key}=3",
        )
        assert code == 0, stderr
        assert stderr.strip().splitlines()[-1] == (
            "Spark: using the running session (master local[2]); --spark-master "
            "spark://elsewhere:7077 is not applied"
        )
        assert spark_session.conf.get(key) == "3"
    finally:
        spark_session.conf.set(key, before)
    code, _, stderr = run_cli(
        *args,
        "--engine",
        "spark",
        "-o",
        str(tmp_path / "c.parquet"),
        "--spark-conf",
        "spark.executor.cores=7",
    )
    assert (code, stderr.strip()) == (
        1,
        "Error: the Spark setting spark.executor.cores=7 cannot be changed in the running "
        "Spark session; set it when Spark starts (spark-submit --conf spark.executor.cores=7)",
    )


def test_python_api_refuses_an_existing_folder(spark_session, blobs, tmp_path):
    (tmp_path / "there.parquet").mkdir()
    with pytest.raises(OutputError, match="already exists"):
        assign_file(
            load_model(blobs / "model.json"),
            str(blobs / "blobs.parquet"),
            str(tmp_path / "there.parquet"),
            engine="spark",
        )


def test_cli_unreadable_input_is_the_local_message(spark_session, blobs, tmp_path):
    (tmp_path / "header.csv").write_text("customer_id,spend,visits,tenure\n")
    for data, message in (
        (tmp_path / "nowhere.parquet", f"file '{tmp_path / 'nowhere.parquet'}' does not exist"),
        (tmp_path / "header.csv", f"file '{tmp_path / 'header.csv'}' has a header but no"),
    ):
        said = []
        for engine in ("local", "spark"):
            out = tmp_path / f"{engine}.parquet"
            code, _, stderr = run_cli(
                "assign",
                str(blobs / "model.json"),
                str(data),
                "--engine",
                engine,
                "-o",
                str(out),
                "-q",
            )
            assert code == 1
            assert not out.exists()
            said.append(stderr.strip().splitlines())
        assert said[0] == said[1]
        assert said[0][0].startswith(f"Error: {message}")


def test_main_module_runs_as_a_script_for_spark_submit():
    # spark-submit runs custseg/__main__.py as a file, outside its package.
    import subprocess
    import sys

    import custseg.__main__ as entry

    done = subprocess.run(
        [sys.executable, entry.__file__, "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("custseg, version ")


def test_derived_feature_is_added_on_the_executors(spark_session, tmp_path):
    # Age from Year_Birth: the general path (SegmentModel.assign) adds it, batch by batch.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "ID": np.arange(300),
            "Year_Birth": rng.integers(1950, 2000, 300),
            "Income": rng.normal(50_000, 10_000, 300).round(),
        }
    )
    frame.to_parquet(tmp_path / "people.parquet", index=False)
    model = pipeline.segment(tmp_path / "people.parquet", SegmentationConfig(k=2)).model
    assert "Age" in model.features
    model.save(tmp_path / "model.json")
    local, spark = _both(tmp_path / "model.json", tmp_path / "people.parquet", tmp_path / "o")
    _same_rows(local, spark)


def test_csv_encodings(spark_session, blobs, tmp_path):
    frame = pd.read_csv(blobs / "blobs.csv", dtype={"customer_id": str})
    frame.loc[0, "customer_id"] = "José"
    # A byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name.
    frame.to_csv(tmp_path / "bom.csv", index=False, encoding="utf-8-sig")
    local, spark = _both(blobs / "model.json", tmp_path / "bom.csv", tmp_path)
    assert local.columns[0] == "customer_id" and local.iloc[0, 0] == "José"
    _same_rows(local, spark)
    # Spark 4 reads CSV in UTF-8/16/32, Latin-1 or ASCII only: Windows-1252 is refused.
    frame.to_csv(tmp_path / "cp.csv", index=False, encoding="cp1252", sep=";")
    code, _, stderr = run_cli(
        "assign",
        str(blobs / "model.json"),
        str(tmp_path / "cp.csv"),
        "--engine",
        "spark",
        "-o",
        str(tmp_path / "cp.parquet"),
        "-q",
    )
    assert (code, stderr.strip()) == (
        1,
        f"Error: file '{tmp_path / 'cp.csv'}' is cp1252 text; with --engine spark CSV must "
        "be UTF-8 or UTF-16: save it as UTF-8 (or as Parquet)",
    )


def test_malformed_csv_line_is_one_line(spark_session, blobs, tmp_path):
    lines = (blobs / "blobs.csv").read_text().splitlines()
    lines.insert(51, "C9,1,2,3,4")  # five fields under a header of four
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    code, _, stderr = run_cli(
        "assign",
        str(blobs / "model.json"),
        str(tmp_path / "bad.csv"),
        "--engine",
        "spark",
        "-o",
        str(tmp_path / "bad.parquet"),
        "-q",
    )
    assert (code, stderr.strip()) == (
        1,
        f"Error: file '{tmp_path / 'bad.csv'}' has a line whose fields do not match the "
        "header: 'C9,1,2,3'; fix that row (a missing quote or an extra delimiter)",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]
