"""custseg assign: checks on new data, streaming in chunks, CSV and Parquet output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from custseg import DataError, ModelError, SegmentationConfig, load_model, segment
from custseg.model.assign import assign_file

FEATURES = ("Annual Income (k$)", "Spending Score (1-100)")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A k-means model on 400 demo customers, saved, with its training table."""
    from custseg import make_customers

    folder = tmp_path_factory.mktemp("trained")
    frame = make_customers(400, seed=3)
    result = segment(
        frame, SegmentationConfig(features=FEATURES, k=4, k_max=4, n_init=3, missing="drop")
    )
    path = result.model.save(folder / "model.json")
    data = folder / "customers.csv"
    frame.to_csv(data, index=False)
    return path, frame, result


def test_streamed_csv_equals_whole_frame_and_fitted_labels(trained, tmp_path):
    path, frame, result = trained
    model = load_model(path)
    summary = assign_file(model, path.with_name("customers.csv"), tmp_path / "a.csv", chunk_rows=37)
    assert summary.n_chunks == 11  # 400 rows in chunks of 37
    streamed = pd.read_csv(tmp_path / "a.csv", dtype={"CustomerID": str}, keep_default_na=False)
    whole = model.assign(frame)
    assert streamed["segment"].tolist() == whole["segment"].tolist()
    assert (streamed["segment"].to_numpy() == result.labels).all()
    assert streamed["CustomerID"].tolist() == whole["CustomerID"].tolist()
    assert np.allclose(streamed["distance"], whole["distance"])
    assert streamed["atypical"].tolist() == whole["atypical"].tolist()
    assert summary.counts == {s.id: s.size for s in result.segments}
    assert summary.n_atypical == int(whole["atypical"].sum()) > 0


def test_parquet_in_and_out(trained, tmp_path):
    path, frame, result = trained
    src = tmp_path / "new.parquet"
    frame.to_parquet(src)
    summary = assign_file(load_model(path), src, tmp_path / "out.parquet", chunk_rows=64)
    assert summary.input_format == "parquet" and summary.n_chunks == 7
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == [
        "CustomerID",
        "segment",
        "segment_name",
        "distance",
        "atypical",
        "left_out_reason",
    ]
    assert (out["segment"].to_numpy() == result.labels).all()


def test_cli_reports_extra_columns_and_counts(trained, tmp_path):
    path, frame, _ = trained
    out = tmp_path / "assigned.csv"
    code, stdout, stderr = run_cli(
        "assign", str(path), str(path.with_name("customers.csv")), "--out", str(out)
    )
    assert code == 0, stderr
    extra = [c for c in frame.columns if c not in (*FEATURES, "CustomerID")]
    assert f"ignored columns (not in the model): {', '.join(extra)}" in stdout
    assert stdout.startswith("400 of 400 customers assigned to 4 segments;")
    assert out.is_file()


def test_missing_column_suggests_close_name(trained, tmp_path):
    path, frame, _ = trained
    src = tmp_path / "new.csv"
    frame.rename(columns={"Spending Score (1-100)": "Spending Score"}).to_csv(src, index=False)
    code, _, err = run_cli("assign", str(path), str(src), "--out", str(tmp_path / "o.csv"))
    assert code == 1
    assert err == (
        "Error: the data has no column 'Spending Score (1-100)', which the model was trained on "
        "(did you mean 'Spending Score'?); the model needs: Annual Income (k$), "
        "Spending Score (1-100)\n"
    )
    assert not (tmp_path / "o.csv").exists()


def test_wrong_type_names_the_file_wide_row(trained, tmp_path):
    path, frame, _ = trained
    bad = frame.astype({"Annual Income (k$)": object})
    bad.loc[250, "Annual Income (k$)"] = "lots"
    src = tmp_path / "new.csv"
    bad.to_csv(src, index=False)
    out = tmp_path / "o.csv"
    out.write_text("previous content\n")
    code, _, err = run_cli("assign", str(path), str(src), "--out", str(out), "--chunk-rows", "100")
    assert code == 1
    assert (
        "feature 'Annual Income (k$)' has text where a number is expected: row 251 is 'lots'" in err
    )
    # the failed run left the previous output as it was, and no temporary file
    assert out.read_text() == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "o.csv"]


def test_boolean_feature_is_a_type_error(trained):
    path, frame, _ = trained
    bad = frame.assign(**{"Spending Score (1-100)": frame["Spending Score (1-100)"] > 50})
    with pytest.raises(
        DataError, match="holds true/false values; the model was trained on numbers"
    ):
        load_model(path).assign(bad)


def test_missing_values_follow_the_model_policy(trained, make_customers):
    path, frame, _ = trained
    holes = frame.copy()
    holes.loc[[5, 300], "Spending Score (1-100)"] = np.nan
    drop = load_model(path).assign(holes)  # trained with --missing drop
    assert drop["segment"].isna().tolist() == [i in (5, 300) for i in range(len(holes))]
    assert drop.loc[5, "left_out_reason"] == "missing value in 'Spending Score (1-100)'"
    assert drop.loc[300, "atypical"] is pd.NA
    assert drop["segment"].notna().sum() == 398

    impute = segment(
        frame, SegmentationConfig(features=FEATURES, k=4, k_max=4, n_init=3, missing="impute")
    )
    med = impute.model.impute_values["Spending Score (1-100)"]
    filled = holes.copy()
    filled.loc[[5, 300], "Spending Score (1-100)"] = med
    assert impute.model.assign(holes)["segment"].tolist() == (
        impute.model.assign(filled)["segment"].tolist()
    )

    strict = segment(
        frame, SegmentationConfig(features=FEATURES, k=4, k_max=4, n_init=3, missing="error")
    )
    with pytest.raises(DataError, match=r"empty values \(rows 106, 401\).*policy is 'error'"):
        strict.model.assign(pd.concat([frame.iloc[:100], holes], ignore_index=True), row_offset=0)


def test_atypical_flags_outliers_not_members(trained):
    path, frame, _ = trained
    model = load_model(path)
    far = frame.head(3).copy()
    far["Annual Income (k$)"] = [1e4, 1e4, 1e4]
    assigned = model.assign(far)
    assert assigned["atypical"].tolist() == [True, True, True]
    # at most 1% + ties of training members of each segment exceed their own p99
    train = model.assign(frame)
    for s in model.segments:
        members = train[train["segment"] == s.id]
        assert members["atypical"].sum() <= max(1, int(np.ceil(0.01 * len(members))))


def test_no_id_column_numbers_rows_across_chunks(trained, tmp_path):
    path, frame, _ = trained
    src = tmp_path / "new.parquet"
    frame.drop(columns=["CustomerID"]).to_parquet(src)
    summary = assign_file(load_model(path), src, tmp_path / "o.csv", chunk_rows=150)
    out = pd.read_csv(tmp_path / "o.csv")
    assert summary.id_column is None
    assert out["row"].tolist() == list(range(1, 401))


def test_hierarchical_agreement_is_shown(tmp_path, make_customers):
    frame = make_customers(300, seed=1)
    result = segment(
        frame,
        SegmentationConfig(
            method="hierarchical", features=("Age", "Spending Score (1-100)"), k=3, k_max=3
        ),
    )
    model_path = result.model.save(tmp_path / "model.json")
    src = tmp_path / "c.csv"
    frame.to_csv(src, index=False)
    code, out, err = run_cli("assign", str(model_path), str(src), "--out", str(tmp_path / "o.csv"))
    assert code == 0, err
    share = result.model.assignment_agreement
    assert f"agrees with the fitted segments for {share:.1%} of customers" in out


def test_output_must_be_csv_or_parquet(trained, tmp_path):
    path, *_ = trained
    code, _, err = run_cli(
        "assign", str(path), str(path.with_name("customers.csv")), "--out", str(tmp_path / "x.xlsx")
    )
    assert (code, err) == (
        1,
        f"Error: cannot tell the output format of '{tmp_path / 'x.xlsx'}'; "
        "name it .csv or .parquet\n",
    )


def test_malformed_csv_line_is_named(trained, tmp_path):
    path, frame, _ = trained
    src = tmp_path / "bad.csv"
    text = frame.to_csv(index=False).splitlines()
    text[300] += ",1,2,3"
    src.write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=r"line 301 has \d+ fields but the header has"):
        assign_file(load_model(path), src, tmp_path / "o.csv", chunk_rows=128)


def test_model_error_for_wrong_columns_is_model_error(trained):
    path, frame, _ = trained
    with pytest.raises(ModelError, match="no column 'Annual Income"):
        load_model(path).assign(frame.drop(columns=["Annual Income (k$)"]))


def test_ids_keep_their_text(trained, tmp_path):
    path, frame, _ = trained
    src = tmp_path / "c.csv"
    frame.assign(CustomerID=[f"{i:05d}" for i in range(len(frame))]).to_csv(src, index=False)
    assign_file(load_model(path), src, tmp_path / "o.parquet")
    assert pd.read_parquet(tmp_path / "o.parquet")["CustomerID"].iloc[7] == "00007"


def test_segmenter_predict_equals_labels(trained):
    from custseg import Segmenter

    _, frame, _ = trained
    seg = Segmenter(features=list(FEATURES), k=4, k_max=4, n_init=3).fit(frame)
    assert (seg.predict(frame) == seg.labels_).all()


def test_help_has_example():
    code, out, _ = run_cli("assign", "--help")
    assert code == 0 and "--chunk-rows" in out and ".parquet" in out
    assert "custseg assign result/model.json new_customers.csv" in out


def test_csv_output_defuses_formula_ids(trained, tmp_path):
    path, frame, _ = trained
    src = tmp_path / "c.parquet"
    frame.assign(CustomerID=["=HYPERLINK(1)", *map(str, range(1, len(frame)))]).to_parquet(src)
    assign_file(load_model(path), src, tmp_path / "o.csv")
    lines = (tmp_path / "o.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("'=HYPERLINK(1),") and lines[2].startswith("1,")


def test_progress_reports_every_chunk_up_to_the_total(trained, tmp_path):
    path, frame, _ = trained
    csv = path.with_name("customers.csv")
    pq = tmp_path / "c.parquet"
    frame.to_parquet(pq)
    for src, unit, total in ((csv, "bytes", csv.stat().st_size), (pq, "rows", 400)):
        calls: list[tuple] = []
        record = calls.append
        assign_file(
            load_model(path),
            src,
            tmp_path / "o.csv",
            chunk_rows=150,
            progress=lambda done, tot, u, record=record: record((done, tot, u)),
        )
        assert len(calls) == 3
        assert calls[-1] == (total, total, unit)
        assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_text_value_message_does_not_suggest_segment_options(trained, tmp_path):
    """Regression: assign said 'leave the column out of --features', an option it has not."""
    path, frame, _ = trained
    bad = frame.astype({"Annual Income (k$)": object})
    bad.loc[0, "Annual Income (k$)"] = "abc"
    src = tmp_path / "new.csv"
    bad.to_csv(src, index=False)
    code, _, err = run_cli("assign", str(path), str(src), "--out", str(tmp_path / "a.csv"))
    assert code == 1
    assert err == (
        "Error: feature 'Annual Income (k$)' has text where a number is expected: row 1 is "
        "'abc'; fix the value (the model was trained on numbers in this column)\n"
    )
    assert not (tmp_path / "a.csv").exists()


@pytest.mark.parametrize("ids", ["int", "text", "none", "float"])
def test_parquet_to_parquet_arrow_path_equals_pandas_path(trained, tmp_path, ids):
    """Parquet -> Parquet never goes through pandas; its file must hold exactly what the
    pandas path writes (CSV -> Parquet), also with rows left out and every id kind."""
    import pyarrow.parquet as pq

    path, frame, _ = trained
    model = load_model(path)
    data = frame.copy()
    data.loc[[3, 70, 71], FEATURES[0]] = np.nan  # left out under the model's drop policy
    data.loc[5, FEATURES[1]] = 1e6  # far from every centre: atypical
    if ids == "text":
        data["CustomerID"] = [f"C-{i:04d}" for i in range(len(data))]
    elif ids == "none":
        data = data.drop(columns="CustomerID")
    elif ids == "float":  # not a whole-number or text id: the general path
        data["CustomerID"] = data["CustomerID"] + 0.5
    data.to_parquet(tmp_path / "in.parquet", index=False)
    data.to_csv(tmp_path / "in.csv", index=False)
    fast = assign_file(model, tmp_path / "in.parquet", tmp_path / "fast.parquet", chunk_rows=64)
    slow = assign_file(model, tmp_path / "in.csv", tmp_path / "slow.parquet", chunk_rows=64)
    a, b = pq.read_table(tmp_path / "fast.parquet"), pq.read_table(tmp_path / "slow.parquet")
    assert a.schema == b.schema
    assert a.equals(b)
    assert fast.counts == slow.counts and fast.atypical_counts == slow.atypical_counts
    assert fast.n_left_out == slow.n_left_out == 3
    assert fast.n_atypical == slow.n_atypical >= 1


def test_parquet_with_a_derived_feature_is_assigned_not_a_crash(tmp_path):
    # Regression: a model with a derived feature (Age from Year_Birth) met a Parquet file
    # on the Arrow fast path, which looked the feature up as a column: KeyError 'Age'.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "ID": np.arange(300),
            "Year_Birth": rng.integers(1950, 2000, 300),
            "Income": rng.normal(50_000, 10_000, 300).round(),
        }
    )
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.to_parquet(tmp_path / "new.parquet", index=False)
    model = segment(tmp_path / "train.csv", SegmentationConfig(k=2)).model
    assert "Age" in model.features
    assign_file(model, tmp_path / "new.parquet", tmp_path / "out.parquet")
    assign_file(model, tmp_path / "train.csv", tmp_path / "out.csv")
    from_parquet = pd.read_parquet(tmp_path / "out.parquet")
    from_csv = pd.read_csv(tmp_path / "out.csv", dtype={"ID": str})
    assert (from_parquet["segment"].to_numpy() == from_csv["segment"].to_numpy()).all()
    np.testing.assert_allclose(from_parquet["distance"], from_csv["distance"])
