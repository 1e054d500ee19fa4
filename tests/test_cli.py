"""The CLI through its real entry point: exit codes, exact messages, help, determinism."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import run_cli

COMMANDS = ["segment", "rfm", "demo", "assign"]


def write_customers(make_customers, path, n=300):
    make_customers(n).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    code, out, _ = run_cli(command, "--help")
    assert code == 0
    assert "Example" in out


def test_python_m_custseg_works():
    proc = subprocess.run(
        [sys.executable, "-m", "custseg", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert "custseg, version" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["segment", "missing.csv"], "Error: file 'missing.csv' does not exist; check the path"),
        (
            ["segment", "{csv}", "--features", "Incom"],
            "Error: feature 'Incom' is not a column of '{csv}' (did you mean 'Annual Income (k$)'?",
        ),
        (
            ["segment", "{csv}", "--features", "Gender"],
            "Error: feature 'Gender' has text where a number is expected: row 1 is ",
        ),
        (
            ["segment", "{csv}", "--k", "five"],
            "Error: k='five' is neither 'auto' nor a whole number",
        ),
        (
            ["segment", "{csv}", "--k-min", "5", "--k-max", "3"],
            "Error: k_max=3 is smaller than k_min=5",
        ),
        (
            ["segment", "{csv}", "--method", "kmeans", "--k-rule", "dendrogram"],
            "Error: k_rule='dendrogram' reads the hierarchical tree",
        ),
        (["segment", "{csv}", "--bogus"], "Error: No such option '--bogus'"),
        (["segment", "{csv}", "--k", "400"], "Error: n_customers=300 is smaller than k=400"),
    ],
)
def test_bad_input_one_line_exit_1_nothing_written(tmp_path, make_customers, args, message):
    csv = write_customers(make_customers, tmp_path / "c.csv")
    out = tmp_path / "out"
    args = [a.replace("{csv}", str(csv)) for a in args]
    code, _stdout, stderr = run_cli(*args, "--out", str(out), "-q")
    assert code == 1
    lines = [ln for ln in stderr.splitlines() if not ln.startswith("...")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(message.replace("{csv}", str(csv)))
    assert "Traceback" not in stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["c.csv"]


def test_constant_and_empty_columns(tmp_path, make_customers):
    df = make_customers(50)
    df["Flat"] = 7
    df["Empty"] = None
    csv = tmp_path / "c.csv"
    df.to_csv(csv, index=False)
    code, _, err = run_cli(
        "segment", str(csv), "-f", "Flat,Age", "--out", str(tmp_path / "o"), "-q"
    )
    assert code == 1 and "feature 'Flat' has the same value (7) for every customer" in err
    code, _, err = run_cli("segment", str(csv), "-f", "Empty", "--out", str(tmp_path / "o"), "-q")
    assert code == 1 and "feature 'Empty' is empty in every row" in err


def test_refuses_to_overwrite_a_folder_that_is_not_custseg_results(tmp_path, make_customers):
    csv = write_customers(make_customers, tmp_path / "c.csv")
    precious = tmp_path / "docs"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not lose me")
    code, _, err = run_cli("segment", str(csv), "--out", str(precious), "-q")
    assert code == 1 and "is not empty and holds no custseg results" in err
    assert (precious / "thesis.txt").read_text() == "do not lose me"


def test_features_option_repeats_and_splits(tmp_path, make_customers):
    csv = write_customers(make_customers, tmp_path / "c.csv")
    out = tmp_path / "o"
    code, _, err = run_cli(
        "segment",
        str(csv),
        "-f",
        "Age",
        "-f",
        "Annual Income (k$),Spending Score (1-100)",
        "--out",
        str(out),
        "-q",
        "--no-plots",
    )
    assert code == 0, err
    doc = json.loads((out / "segments.json").read_text())
    assert doc["features"] == ["Age", "Annual Income (k$)", "Spending Score (1-100)"]


def test_same_data_options_seed_give_identical_files(tmp_path, make_customers, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    csv = write_customers(make_customers, tmp_path / "c.csv")
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        code, _, err = run_cli("segment", str(csv), "--out", str(out), "--seed", "3", "-q", "--png")
        assert code == 0, err
        outs.append(out)
    files = sorted(p.name for p in outs[0].iterdir())
    assert files == sorted(p.name for p in outs[1].iterdir())
    assert {"segments.json", "assignments.csv", "model.json", "elbow.png"} <= set(files)
    for name in files:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_rerun_replaces_previous_results(tmp_path, make_customers):
    csv = write_customers(make_customers, tmp_path / "c.csv")
    out = tmp_path / "o"
    assert run_cli("segment", str(csv), "--out", str(out), "-q", "--k", "3")[0] == 0
    assert run_cli("segment", str(csv), "--out", str(out), "-q", "--k", "4")[0] == 0
    assert json.loads((out / "segments.json").read_text())["k"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "o"]


def test_demo_writes_table_and_results(tmp_path):
    out = tmp_path / "demo"
    code, stdout, err = run_cli("demo", "--out", str(out), "--rows", "400", "-q")
    assert code == 0, err
    assert (out / "customers.csv").read_text().startswith("CustomerID,Gender,Age,")
    doc = json.loads((out / "segments.json").read_text())
    assert doc["k"] == 5
    assert "-> Loyalty programme and exclusive offers" in stdout


def test_assign_with_saved_model(tmp_path, make_customers):
    csv = write_customers(make_customers, tmp_path / "c.csv")
    out = tmp_path / "o"
    assert run_cli("segment", str(csv), "--out", str(out), "-q", "--no-plots")[0] == 0
    new = tmp_path / "new.csv"
    make_customers(40, seed=9).to_csv(new, index=False)
    code, stdout, err = run_cli(
        "assign", str(out / "model.json"), str(new), "--out", str(tmp_path / "assigned.csv")
    )
    assert code == 0, err
    k = json.loads((out / "segments.json").read_text())["k"]
    assert stdout.startswith(f"40 of 40 customers assigned to {k} segments")
    rows = (tmp_path / "assigned.csv").read_text().splitlines()
    assert rows[0] == "CustomerID,segment,segment_name,distance,atypical,left_out_reason"
    assert len(rows) == 41


def test_internal_error_is_short_and_exit_2(tmp_path, make_customers, monkeypatch):
    import custseg.pipeline

    def boom(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(custseg.pipeline, "segment", boom)
    csv = write_customers(make_customers, tmp_path / "c.csv")
    code, _, err = run_cli("segment", str(csv), "--out", str(tmp_path / "o"), "-q")
    assert code == 2
    assert err.startswith("Internal error: RuntimeError: simulated bug. This is a bug in custseg;")
    assert "Traceback" not in err


def test_png_charts_only_when_asked(tmp_path, make_customers):
    csv = write_customers(make_customers, tmp_path / "c.csv")
    fast = ("-q", "--k-max", "4", "--n-init", "2")
    assert run_cli("segment", str(csv), "--out", str(tmp_path / "a"), *fast)[0] == 0
    names = {p.name for p in (tmp_path / "a").iterdir()}
    assert names == {
        "segments.json",
        "segments.csv",
        "assignments.csv",
        "model.json",
        "report.html",
        ".custseg-manifest.json",
    }
    assert run_cli("segment", str(csv), "--out", str(tmp_path / "b"), "--png", *fast)[0] == 0
    pngs = {p.name for p in (tmp_path / "b").iterdir() if p.suffix == ".png"}
    assert {"elbow.png", "silhouette.png", "scatter.png", "profiles.png"} <= pngs
    # --no-plots is still accepted (older scripts) and wins over --png.
    code, _, err = run_cli(
        "segment", str(csv), "--out", str(tmp_path / "c"), "--png", "--no-plots", *fast
    )
    assert code == 0, err
    assert not [p for p in (tmp_path / "c").iterdir() if p.suffix == ".png"]
