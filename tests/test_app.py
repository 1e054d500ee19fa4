"""The web app: helpers, the launcher, the CLI command, and the page via Streamlit's AppTest.

AppTest drives the real page script in-process: uploads go through
``st.file_uploader`` (AppTest's ``FileUploader.set_value``), no test hook.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from custseg import SegmentationConfig, make_customers, segment
from custseg.app import SegmentEdit, apply_edits, files
from custseg.app.launch import APP_SCRIPT, INSTALL_HINT, streamlit_command
from custseg.data.columns import default_features, describe_columns, detected_id_column
from custseg.data.loading import read_bytes_as_table
from custseg.data.prepare import prepare
from custseg.errors import ConfigError, DataError, ModelError
from custseg.model import SegmentModel

APP = str(APP_SCRIPT)
TIMEOUT = 120  # seconds per AppTest run: generous, the machine may be busy


@pytest.fixture(scope="module")
def small_result():
    """A quick fitted result: 150 demo customers, k = 3."""
    return segment(make_customers(150, seed=1), SegmentationConfig(k=3, k_max=4, n_init=3))


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


# --- columns ---------------------------------------------------------------------------
def test_describe_columns_kinds():
    frame = make_customers(60, seed=0)
    frame["Email"] = [f"c{i}@example.com" for i in range(60)]
    frame["Newsletter"] = [i % 2 == 0 for i in range(60)]
    frame["Notes"] = None
    cols = describe_columns(frame).set_index("column")
    assert cols["kind"].to_dict() == {
        "CustomerID": "id",
        "Gender": "category",
        "Age": "number",
        "Annual Income (k$)": "number",
        "Spending Score (1-100)": "number",
        "Email": "text",
        "Newsletter": "true/false",
        "Notes": "empty",
    }
    assert cols.loc["Notes", "empty"] == 60
    assert cols.loc["Gender", "distinct"] == 2
    assert detected_id_column(frame) == "CustomerID"


def test_default_features_match_the_pipeline():
    frame = make_customers(80, seed=2)
    frame["Visits"] = ["1,200"] * 40 + ["3"] * 40  # thousands separators: still a number
    chosen = prepare(frame, SegmentationConfig()).summary.features
    assert default_features(describe_columns(frame)) == list(chosen)


# --- edits -----------------------------------------------------------------------------
def test_apply_edits_renames_in_model_and_result(small_result):
    before = json.dumps(small_result.to_dict(), sort_keys=True)
    edited = apply_edits(
        small_result,
        {2: SegmentEdit(name="  Bargain   hunters ", title="Weekly deals", action="Send coupons.")},
    )
    assert json.dumps(small_result.to_dict(), sort_keys=True) == before  # input not modified
    seg2 = edited.model.segments[1]
    assert seg2.name == "Bargain hunters"
    assert seg2.recommendation["title"] == "Weekly deals"
    assert seg2.recommendation["action"] == "Send coupons."
    assert edited.model.segments[0].name == small_result.segments[0].name
    assert edited.result.segments[1].name == "Bargain hunters"
    assert edited.result.segments[1].recommendation.action == "Send coupons."
    assert edited.result.model is edited.model
    # The downloaded model loads again and assigns with the new name.
    again = SegmentModel.from_dict(json.loads(files.model_json(edited.model)))
    assigned = again.assign(make_customers(150, seed=1))
    assert "Bargain hunters" in set(assigned["segment_name"])
    assert again.segments[1].name == "Bargain hunters"


def test_apply_edits_rejects_empty_and_duplicate_names(small_result):
    with pytest.raises(ConfigError, match=r"^segment 1 has an empty name; type a name for it$"):
        apply_edits(small_result, {1: SegmentEdit(name="  ", title="t", action="a")})
    taken = small_result.segments[0].name
    with pytest.raises(
        ConfigError, match=r"^segments 1 and 3 are both named .*give each segment its own name$"
    ):
        apply_edits(small_result, {3: SegmentEdit(name=taken.upper(), title="t", action="a")})
    with pytest.raises(ConfigError, match="there is no segment 9"):
        apply_edits(small_result, {9: SegmentEdit(name="x", title="t", action="a")})


# --- uploads and downloads ---------------------------------------------------------------
def test_upload_errors_name_the_uploaded_file_not_a_temp_path():
    with pytest.raises(DataError) as err:
        read_bytes_as_table(b"Age,Income\n1,2\n3,4,5\n", "shop export.csv")
    assert str(err.value).startswith("file 'shop export.csv' row 2 (line 3) has 3 fields")
    assert "custseg-upload" not in str(err.value)


def test_read_model_bytes(small_result):
    model = files.read_model_bytes(files.model_json(small_result.model), "saved.json")
    assert model.to_dict() == small_result.model.to_dict()
    with pytest.raises(ModelError) as err:
        files.read_model_bytes(pickle.dumps({"a": 1}), "../../etc/model.json")
    assert str(err.value).startswith("'model.json' is a Python pickle")
    with pytest.raises(ModelError, match=r"^'m.json' is not valid JSON \(line 1"):
        files.read_model_bytes(b'{"format": ', "m.json")


def test_assignments_csv_uses_edited_names(small_result):
    names = {s.id: f"Group {s.id}" for s in small_result.segments}
    frame = pd.read_csv(io.BytesIO(files.assignments_csv(small_result, names)))
    assert len(frame) == 150
    assert set(frame["segment_name"]) == {"Group 1", "Group 2", "Group 3"}
    assert (frame["segment_name"] == "Group " + frame["segment"].astype(str)).all()


def test_check_size_and_display_name():
    files.check_size(b"x" * 10, "a.csv", 1)
    with pytest.raises(DataError, match=r"^file 'a.csv' is 2.0 MB, more than the 1 MB upload"):
        files.check_size(b"x" * (2 * files.MB), "C:\\Users\\me\\a.csv", 1)
    assert files.display_name("../../x/\x00evil.csv") == "evil.csv"
    assert files.display_name("") == "upload"


def test_report_html_is_the_report_of_the_typed_result(small_result):
    edited = apply_edits(small_result, {1: SegmentEdit(name="Night owls", title="t", action="a")})
    html = files.report_html(edited.result).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Night owls" in html


# --- launcher and CLI --------------------------------------------------------------------
def test_streamlit_command_is_locked_down():
    cmd = streamlit_command(host="127.0.0.1", port=8765, max_upload_mb=50)
    flags = dict(zip(cmd[5::2], cmd[6::2]))
    assert cmd[1:4] == ["-m", "streamlit", "run"]
    assert cmd[4].endswith("streamlit_app.py")
    assert flags["--server.address"] == "127.0.0.1"
    assert flags["--server.port"] == "8765"
    assert flags["--server.maxUploadSize"] == "50"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.headless"] == "true"
    assert flags["--client.showErrorDetails"] == "none"


def test_cli_app_help_has_defaults_and_example():
    code, out, _ = run_cli("app", "--help")
    assert code == 0
    assert "127.0.0.1" in out
    assert "--max-upload-mb" in out
    assert "custseg app --port 8502 --no-browser" in out


def test_cli_app_without_streamlit_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "streamlit", None)  # import streamlit -> ImportError
    code, _, err = run_cli("app", "--no-browser")
    assert code == 1
    assert err.strip() == f"Error: {INSTALL_HINT}"
    assert 'pip install "custseg[app]"' in err


def test_cli_app_rejects_a_zero_upload_limit():
    code, _, err = run_cli("app", "--max-upload-mb", "0")
    assert code == 1
    assert "--max-upload-mb" in err


# --- the page, through Streamlit's AppTest ----------------------------------------------
st_testing = pytest.importorskip("streamlit.testing.v1")


def new_app():
    at = st_testing.AppTest.from_file(APP, default_timeout=TIMEOUT)
    return at.run()


def upload(at, name: str, data: bytes, index: int = 0):
    at.file_uploader[index].set_value((name, data, "text/csv"))
    return at.run()


def shown(text: str) -> str:
    """What Streamlit shows of Markdown text: custseg.app.markdown.md's escapes removed."""
    return re.sub(r"\\([\\`*_\[\]<>$~|:])", r"\1", text)


def card_titles(at) -> list[str]:
    titles = [shown(m.value)[5:] for m in at.markdown if m.value.startswith("#### ")]
    return sorted(titles)  # cards are laid out column by column


def edit_field(widgets, field: str, segment_id: int):
    """The edit field of a segment card (keys are '<field>-<result key>-<segment id>')."""
    (widget,) = [
        w for w in widgets if w.key.startswith(f"{field}-") and w.key.endswith(f"-{segment_id}")
    ]
    return widget


def scatter(at) -> tuple[dict, int]:
    """The interactive segment map: its Vega-Lite spec and how many customers it plots."""
    import pyarrow as pa

    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    return spec, pa.ipc.open_stream(chart.proto.data.data).read_all().num_rows


def downloads(at) -> dict[str, bytes]:
    """What the download buttons offer; a lazily built file (the report) is built here."""
    offered = at.session_state["custseg_downloads"]
    return {name: data() if callable(data) else data for name, data in offered.items()}


def assert_no_exception(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if e.value.startswith("Internal error")]


def test_page_before_upload_states_the_limit():
    at = new_app()
    assert_no_exception(at)
    assert at.file_uploader[0].label == (
        "Customer table: CSV, Excel (.xlsx) or Parquet, up to 200 MB"
    )
    assert any("nothing is sent anywhere" in c.value for c in at.caption)
    assert not at.error


def test_upload_shows_columns_cards_and_downloads():
    frame = make_customers(150, seed=3)
    at = upload(new_app(), "shop.csv", csv_bytes(frame))
    assert_no_exception(at)
    assert not at.error
    columns = at.dataframe[0].value
    assert columns["kind"].tolist() == ["id", "category", "number", "number", "number"]
    assert at.multiselect[0].value == ["Age", "Annual Income (k$)", "Spending Score (1-100)"]
    k = at.select_slider[0].value
    assert at.select_slider[0].label == f"Number of segments k (automatic choice: {k})"
    assert len(card_titles(at)) == k
    # The page shows exactly what the library computes for the same options.
    expected = segment(frame, SegmentationConfig(features=tuple(at.multiselect[0].value)))
    assert k == expected.k
    assert card_titles(at) == sorted(f"{s.id} · {s.name}" for s in expected.segments)
    spec, n_points = scatter(at)
    assert n_points == 150
    assert spec["encoding"]["color"]["scale"]["domain"] == [
        f"{s.id}: {s.name}" for s in expected.segments
    ]
    got = pd.read_csv(io.BytesIO(downloads(at)["assignments.csv"]))
    assert len(got) == 150
    assert got["CustomerID"].tolist() == frame["CustomerID"].tolist()
    assert got["segment"].tolist() == expected.assignments()["segment"].tolist()
    model = json.loads(downloads(at)["model.json"])
    assert [s["name"] for s in model["segments"]] == [s.name for s in expected.segments]


def test_feature_choice_and_k_override():
    frame = make_customers(150, seed=4)
    at = upload(new_app(), "shop.csv", csv_bytes(frame))
    features = ["Annual Income (k$)", "Spending Score (1-100)"]
    at.multiselect[0].set_value(features)
    next(b for b in at.button if b.label == "Segment").click()
    at.run()
    assert_no_exception(at)
    model = json.loads(downloads(at)["model.json"])
    assert [f["name"] for f in model["features"]] == features
    auto_k = at.select_slider[0].value
    new_k = 3 if auto_k != 3 else 4
    at.select_slider[0].set_value(new_k).run()
    assert_no_exception(at)
    assert len(card_titles(at)) == new_k
    assert any(f"Showing k = {new_k}, your choice" in i.value for i in at.info)
    got = pd.read_csv(io.BytesIO(downloads(at)["assignments.csv"]))
    assert sorted(got["segment"].unique()) == list(range(1, new_k + 1))
    assert json.loads(downloads(at)["model.json"])["k"] == new_k
    # Only the chosen k is re-clustered, yet the result is the library's for --k new_k.
    expected = segment(frame, SegmentationConfig(features=tuple(features), k=new_k))
    assert got["segment"].tolist() == expected.assignments()["segment"].tolist()
    assert card_titles(at) == sorted(f"{s.id} · {s.name}" for s in expected.segments)


def test_rename_and_edit_action_go_into_the_downloads():
    at = upload(new_app(), "shop.csv", csv_bytes(make_customers(150, seed=5)))
    name = edit_field(at.text_input, "name", 1)
    assert name.label == "Segment name"
    old = name.value
    name.set_value("Weekend regulars")
    edit_field(at.text_area, "action", 1).set_value("Invite them to events.")
    at.run()
    assert_no_exception(at)
    assert "1 · Weekend regulars" in card_titles(at)
    assert "1: Weekend regulars" in scatter(at)[0]["encoding"]["color"]["scale"]["domain"]
    model = SegmentModel.from_dict(json.loads(downloads(at)["model.json"]))
    assert model.segments[0].name == "Weekend regulars"
    assert model.segments[0].recommendation["action"] == "Invite them to events."
    got = pd.read_csv(io.BytesIO(downloads(at)["assignments.csv"]))
    assert set(got.loc[got["segment"] == 1, "segment_name"]) == {"Weekend regulars"}
    assert old not in set(got["segment_name"])
    # A name another segment already has is refused with one clear line.
    edit_field(at.text_input, "name", 2).set_value("weekend regulars").run()
    assert [shown(e.value) for e in at.error] == [
        "Error: segments 1 and 2 are both named 'weekend regulars'; give each segment its own name"
    ]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "scan.csv",
            b"\x00\x01\x02\x03 not a table" * 50,
            "Error: file 'scan.csv' does not look like a text table (it has binary content); "
            "export the data as CSV, Parquet or .xlsx",
        ),
        (
            "export.csv",
            b"Age,Income\n30,40\n31,41,99\n",
            "Error: file 'export.csv' row 2 (line 3) has 3 fields but the header has 2; "
            "fix that row (a missing quote or an extra ',')",
        ),
        (
            "empty.csv",
            b"",
            "Error: file 'empty.csv' is empty (0 bytes); export the table again with a "
            "header row and one row per customer",
        ),
    ],
    ids=["binary", "ragged-row", "empty"],
)
def test_bad_file_shows_the_cli_message(name, data, message, tmp_path):
    at = upload(new_app(), name, data)
    assert_no_exception(at)
    assert [shown(e.value) for e in at.error] == [message]
    assert not card_titles(at)
    # The command line says the same about the same bytes (up to the file's path).
    path = tmp_path / name
    path.write_bytes(data)
    code, _, err = run_cli("segment", str(path), "--out", str(tmp_path / "out"))
    assert code == 1
    assert err.strip().splitlines()[-1] == message.replace(f"'{name}'", f"'{path}'")


def test_text_feature_shows_the_pipeline_message():
    at = upload(new_app(), "shop.csv", csv_bytes(make_customers(60, seed=6)))
    at.multiselect[0].set_value(["Gender", "Age"])
    next(b for b in at.button if b.label == "Segment").click()
    at.run()
    assert_no_exception(at)
    assert len(at.error) == 1
    assert shown(at.error[0].value).startswith(
        "Error: feature 'Gender' has text where a number is expected: row 1 is "
    )


def test_id_column_choice_is_validated_like_the_cli():
    at = upload(new_app(), "shop.csv", csv_bytes(make_customers(60, seed=6)))
    (id_box,) = [b for b in at.selectbox if b.label == "Id column"]
    assert id_box.value == "(detected: CustomerID)"
    id_box.set_value("Gender")
    next(b for b in at.button if b.label == "Segment").click()
    at.run()
    assert_no_exception(at)
    (message,) = [shown(e.value) for e in at.error]
    assert message.startswith("Error: id column 'Gender' has duplicate value ")
    assert message.endswith("every customer needs a unique id")


def test_sample_option_leaves_the_rest_out():
    at = upload(new_app(), "shop.csv", csv_bytes(make_customers(120, seed=12)))
    (sample,) = [n for n in at.number_input if n.label.startswith("Quick look")]
    sample.set_value(50)
    next(b for b in at.button if b.label == "Segment").click()
    at.run()
    assert_no_exception(at)
    got = pd.read_csv(io.BytesIO(downloads(at)["assignments.csv"]))
    assert len(got) == 120
    assert got["segment"].notna().sum() == 50
    assert set(got.loc[got["segment"].isna(), "left_out_reason"]) == {"not in the --sample of 50"}
    assert any(shown(c.value).startswith("50 customers segmented; 70 left out") for c in at.caption)


def test_upload_limit_is_enforced_and_stated():
    from streamlit import config

    old = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 1)
    try:
        at = new_app()
        assert at.file_uploader[0].label.endswith("up to 1 MB")
        big = b"Age,Income\n" + b"30,40\n" * 400_000
        upload(at, "big.csv", big)
        assert [shown(e.value) for e in at.error] == [
            "Error: file 'big.csv' is 2.3 MB, more than the 1 MB upload limit; upload a "
            "smaller file or restart with custseg app --max-upload-mb 3"
        ]
    finally:
        config.set_option("server.maxUploadSize", old)


def test_demo_data_and_hierarchical_dendrogram():
    at = new_app()
    next(b for b in at.button if b.label == "Try the demo data").click()
    at.run()
    assert_no_exception(at)
    assert any(
        shown(c.value).startswith("demo_customers.csv: 1,000 rows × 5 columns") for c in at.caption
    )
    at.selectbox[0].set_value("hierarchical")
    next(b for b in at.button if b.label == "Segment").click()
    at.run()
    assert_no_exception(at)
    assert [h.value for h in at.subheader if h.value == "Dendrogram"] == ["Dendrogram"]
    model = json.loads(downloads(at)["model.json"])
    assert model["method"] == "hierarchical"
    assert len(card_titles(at)) == model["k"]


def test_assign_page_with_saved_model(small_result):
    at = new_app()
    model_bytes = files.model_json(small_result.model)
    new = make_customers(40, seed=9)
    at.file_uploader(key="assign-model").set_value(("model.json", model_bytes, "application/json"))
    at.file_uploader(key="assign-data").set_value(("new.csv", csv_bytes(new), "text/csv"))
    at.run()
    assert_no_exception(at)
    assert at.success[0].value.startswith("40 of 40 customers assigned to 3 segments")
    got = pd.read_csv(io.BytesIO(downloads(at)["assigned.csv"]))
    expected = small_result.model.assign(new)
    assert got["segment"].tolist() == expected["segment"].tolist()
    assert got["segment_name"].tolist() == expected["segment_name"].tolist()
    # A pickle is refused with the CLI's message, naming the uploaded file.
    at.file_uploader(key="assign-model").set_value(
        ("model.pkl.json", pickle.dumps(small_result.model.to_dict()), "application/json")
    )
    at.run()
    assert shown(at.error[0].value).startswith("Error: 'model.pkl.json' is a Python pickle")


def test_changing_k_reuses_the_file_and_cached_results(monkeypatch):
    import custseg.data.loading
    import custseg.pipeline

    calls = {"read": 0, "prepare": 0, "segment": 0}

    def counted(module, name, key):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[key] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counted(custseg.data.loading, "read_bytes_as_table", "read")
    counted(custseg.pipeline, "prepare_input", "prepare")
    counted(custseg.pipeline, "segment_prepared", "segment")
    at = upload(new_app(), "shop.csv", csv_bytes(make_customers(120, seed=7)))
    auto_k = at.select_slider[0].value
    assert calls == {"read": 1, "prepare": 1, "segment": 1}
    other = 2 if auto_k != 2 else 3
    at.select_slider[0].set_value(other).run()  # the table is checked once, for every k
    assert calls == {"read": 1, "prepare": 1, "segment": 2}
    at.select_slider[0].set_value(auto_k).run()  # back to the automatic k: from the cache
    at.select_slider[0].set_value(other).run()
    assert calls == {"read": 1, "prepare": 1, "segment": 2}
    assert_no_exception(at)
    assert len(card_titles(at)) == other


def test_report_download_gets_the_edited_result(monkeypatch):
    import custseg.report

    seen = {}

    def render_result(result):
        seen["doc"], seen["model"] = result.to_dict(), result.model.to_dict()
        return "<html>report</html>"

    monkeypatch.setattr(custseg.report, "render_result", render_result)
    at = upload(new_app(), "shop.csv", csv_bytes(make_customers(120, seed=8)))
    auto_k = at.select_slider[0].value
    other = 3 if auto_k != 3 else 4
    at.select_slider[0].set_value(other).run()
    edit_field(at.text_input, "name", 2).set_value("Students").run()
    assert_no_exception(at)
    assert downloads(at)["report.html"] == b"<html>report</html>"
    doc, model_doc = seen["doc"], seen["model"]
    assert doc["k"] == other and model_doc["k"] == other
    assert doc["segments"][1]["name"] == "Students"
    assert model_doc["segments"][1]["name"] == "Students"
    # The k evidence is the automatic run's sweep, with the user's k as the choice.
    assert [c["k"] for c in doc["k_selection"]["candidates"]] == list(range(2, 11))
    assert doc["k_selection"]["chosen"] == other
    assert doc["k_selection"]["rule"] == "fixed"
    assert doc["k_selection"]["note"].startswith(f"k={other} was set by the user")


def test_internal_error_is_one_short_message(monkeypatch):
    import custseg.pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(custseg.pipeline, "segment_prepared", broken)
    at = upload(new_app(), "shop.csv", csv_bytes(make_customers(30, seed=1)))
    assert not at.exception  # no traceback on the page
    (message,) = [shown(e.value) for e in at.error]
    assert message.startswith("Internal error: RuntimeError: boom. This is a bug in custseg")
    assert message.endswith("Please report it at https://github.com/custseg/custseg/issues")


# data/loading.py reads sheets with ExcelFile.parse, which pandas now deprecates; the suite
# turns custseg's DeprecationWarnings into errors. Reported to the loader's owner.
@pytest.mark.filterwarnings("ignore:ExcelFile.parse is deprecated")
def test_assign_page_reads_parquet_and_excel_and_names_missing_columns(small_result):
    new = make_customers(25, seed=11)
    buf = io.BytesIO()
    new.to_parquet(buf, index=False)
    at = new_app()
    model_bytes = files.model_json(small_result.model)
    at.file_uploader(key="assign-model").set_value(("model.json", model_bytes, "application/json"))
    at.file_uploader(key="assign-data").set_value(("new.parquet", buf.getvalue(), "x/parquet"))
    at.run()
    assert_no_exception(at)
    assert at.success[0].value.startswith("25 of 25 customers assigned to 3 segments")
    xlsx = io.BytesIO()
    new.head(10).to_excel(xlsx, index=False)
    at.file_uploader(key="assign-data").set_value(("new.xlsx", xlsx.getvalue(), "x/xlsx"))
    at.run()
    assert at.success[0].value.startswith("10 of 10 customers assigned to 3 segments")
    at.file_uploader(key="assign-data").set_value(
        ("old.csv", csv_bytes(new.drop(columns=["Age"])), "text/csv")
    )
    at.run()
    assert [shown(e.value) for e in at.error] == [
        "Error: the data has no column 'Age', which the model was trained on; the model "
        "needs: Age, Annual Income (k$), Spending Score (1-100)"
    ]


def test_run_app_warns_off_localhost_and_removes_its_folder(monkeypatch, tmp_path):
    """The launcher without a real server: a stand-in process that exits at once."""
    import custseg.app.launch as launch

    started = {}

    class Exited:
        def __init__(self, cmd, env, cwd):
            started.update(cmd=cmd, env=env, cwd=cwd)
            assert (Path(cwd)).is_dir()

        def poll(self):
            return 3

        def wait(self, timeout=None):
            return 3

    monkeypatch.setattr(launch.subprocess, "Popen", Exited)
    lines: list[str] = []
    code = launch.run_app(host="0.0.0.0", port=8799, open_browser=False, say=lines.append)
    assert code == 3
    assert lines == [
        "Warning: serving on 0.0.0.0: anyone who can reach this machine on port 8799 can use "
        "the app and see the data uploaded to it."
    ]
    flags = dict(zip(started["cmd"][5::2], started["cmd"][6::2]))
    assert flags["--server.address"] == "0.0.0.0"
    assert started["env"]["TMPDIR"] == started["cwd"]
    assert started["env"]["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert not Path(started["cwd"]).exists()  # the private folder is gone


def test_app_answers_only_its_own_host_names():
    """Issue 11 case 25: DNS rebinding - a request naming another host is not served."""
    from custseg.app.launch import allowed_hosts

    assert allowed_hosts("127.0.0.1") == ["localhost", "127.0.0.1", "::1"]
    assert allowed_hosts("10.0.0.5") == ["10.0.0.5", "localhost", "127.0.0.1", "::1"]
    cmd = streamlit_command(host="127.0.0.1", port=8765, max_upload_mb=50)
    hosts = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--server.allowedHosts"]
    assert hosts == ["localhost", "127.0.0.1", "::1"]


def _websocket_status(port: int, host_header: str) -> int:
    import base64
    import os
    import socket

    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: {host_header}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request.encode())
        status = s.recv(200).split(b"\r\n", 1)[0]
    return int(status.split()[1])


@pytest.mark.slow
@pytest.mark.xdist_group("app-server")  # with the server tests of test_app_browser.py
def test_a_rebound_host_name_gets_no_websocket(tmp_path):
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from custseg.app.launch import free_port

    port = free_port(start=8650)
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "custseg", "app", "--no-browser", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        assert _websocket_status(port, f"localhost:{port}") == 101
        assert _websocket_status(port, f"evil.example:{port}") != 101
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_cards_show_stability_and_the_structure_verdict():
    rng = np.random.default_rng(3)
    flat = pd.DataFrame(rng.uniform(0, 100, size=(120, 2)), columns=["spend", "visits"])
    at = upload(new_app(), "flat.csv", csv_bytes(flat))
    assert_no_exception(at)
    cards = [shown(c.value) for c in at.caption if " customers · " in c.value]
    assert cards and all(" · stability " in c for c in cards)
    assert any(
        w.value.startswith("No clear structure:") and "partition of a continuum" in w.value
        for w in at.warning
    )


def test_cards_show_descriptors_the_rule_and_why_the_action_fits():
    sys.path.insert(0, str(Path(__file__).parent))
    from tables import crm_marketing

    at = upload(new_app(), "crm.csv", crm_marketing().text.encode())
    assert_no_exception(at)
    text = "\n".join(shown(m.value) for m in at.markdown)
    assert "not clustered on)" in text  # e.g. "- Complain: high (rate 2%; ...)"
    captions = [shown(c.value) for c in at.caption]
    assert any(c.startswith("Why: matched ") for c in captions)
    assert any(c.startswith("Who is in it: ") for c in captions)


def test_a_transaction_log_gets_rfm_segments_and_clusters():
    sys.path.insert(0, str(Path(__file__).parent))
    from rfm_logs import make_invoice_log

    log = make_invoice_log(150, seed=3)
    at = upload(new_app(), "invoices.csv", csv_bytes(log))
    assert_no_exception(at)
    assert any("looks like a transaction log" in i.value for i in at.info)
    assert any(h.value.startswith("RFM segments of ") for h in at.subheader)
    assert any(h.value.endswith(" behaviour clusters") for h in at.subheader)
    customers = at.session_state["custseg_downloads"]["customers.csv"].decode()
    assert customers.splitlines()[0].startswith("customer_id,")
    assert len(customers.splitlines()) - 1 == 150  # ids "12346" and "12346.0" are one customer


def test_names_with_markdown_characters_show_as_written():
    """Two '(k$)' columns on one line would be LaTeX, '*' emphasis: names are escaped."""
    frame = make_customers(120, seed=3).rename(
        columns={
            "Annual Income (k$)": "Income (k$)",
            "Spending Score (1-100)": "Spend *score* (k$)",
        }
    )
    at = upload(new_app(), "shop.csv", csv_bytes(frame))
    assert_no_exception(at)
    (caption,) = [c.value for c in at.caption if "customers segmented" in c.value]
    assert "Income (k\\$)" in caption and "Spend \\*score\\* (k\\$)" in caption
    assert "Income (k$)" in shown(caption) and "Spend *score* (k$)" in shown(caption)
    cards = "\n".join(m.value for m in at.markdown)
    assert "**Spend \\*score\\* (k\\$)**" in cards


def test_roles_can_be_corrected_in_the_columns_table():
    """The role column of the columns table is editable: Age as a descriptor is profiled,
    not clustered on, and the result says so (the --roles file's columns: entry)."""
    import hashlib

    frame = make_customers(120, seed=7)
    data = csv_bytes(frame)
    at = upload(new_app(), "shop.csv", data)
    (before,) = [shown(c.value) for c in at.caption if c.value.startswith("By role: ")]
    assert "clustered on: Age, Annual Income (k$), Spending Score (1-100)" in before
    data_key = hashlib.sha256(b"shop.csv\0" + data).hexdigest()[:16]
    age_row = frame.columns.get_loc("Age")
    at.session_state[f"roles-{data_key}"] = {
        "edited_rows": {age_row: {"role": "descriptor"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert_no_exception(at)
    (after,) = [shown(c.value) for c in at.caption if c.value.startswith("With your roles: ")]
    assert "described, not clustered on: Gender, Age" in after
    (summary,) = [shown(c.value) for c in at.caption if "customers segmented" in c.value]
    assert "features: Annual Income (k$), Spending Score (1-100) ·" in summary
    cards = "\n".join(shown(m.value) for m in at.markdown)
    assert "- Age: " in cards and "not clustered on)" in cards  # profiled as a descriptor
