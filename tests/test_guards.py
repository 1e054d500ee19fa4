"""Issue 11, cases 6-9, 11, 13-19: guards hold and bad input is never an internal error.

Each case is a :class:`Probe` in the corpus style (see corpus.py): files built on
the fly, one ``custseg`` command, the exact exit code and the exact one-line
message (``{d}`` stands for the test's folder, ``{size}`` for the input's size: it
depends on the compression library's version), and nothing written on failure.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from corpus import FAST, base, csv_text

GOOD_PLAYBOOK = """\
roles: {income: [income], spending: [spending]}
rules:
  - title: Grow
    when: {income: high}
    action: Offer more.
"""


@dataclass(frozen=True)
class Probe:
    """One adversarial input and its exact expected outcome."""

    name: str
    build: Callable[[Path], None]  # writes the files the command needs into the folder
    command: tuple[str, ...]  # the custseg command, paths relative to the folder
    code: int
    message: str = ""  # the exact stderr line (failures); {d} is the folder
    env: dict[str, str] = field(default_factory=dict)


def _table(folder: Path, name: str = "c.csv", frame: pd.DataFrame | None = None) -> None:
    (folder / name).write_text(csv_text(base() if frame is None else frame), encoding="utf-8")


def _results(folder: Path) -> None:
    _table(folder)
    code, _, stderr = run_cli("segment", str(folder / "c.csv"), "--out", str(folder / "r"), *FAST)
    assert code == 0, stderr


def _with(*builders: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        for b in builders:
            b(folder)

    return build


def _text(name: str, text: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / name).write_text(text, encoding="utf-8")

    return build


def _raw(name: str, data: bytes) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / name).write_bytes(data)

    return build


# --- builders -------------------------------------------------------------------------


def _gzip_bomb(folder: Path) -> None:
    """A small gzip whose empty last member makes its size field claim 0 bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = c.compress(b"CustomerID,Age,Income,Spend\n")
    for _ in range(40):
        data += c.compress(b"1,30,50,40\n" * 50_000)
    (folder / "bomb.csv.gz").write_bytes(data + c.flush() + gzip.compress(b""))


def _parquet_rle(folder: Path) -> None:
    """Two million identical rows: a few KB on disk, run-length encoded."""
    n = 2_000_000
    frame = pd.DataFrame({"Age": np.full(n, 30), "Income": np.full(n, 50.0)})
    frame.to_parquet(folder / "rle.parquet", index=False)


def _truncated_gzip(folder: Path) -> None:
    data = gzip.compress(csv_text(base(400)).encode())
    (folder / "cut.csv.gz").write_bytes(data[: len(data) - 200])


def _nested_parquet(folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = base()
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.append_column("tags", pa.array([[1, 2]] * len(df)))
    table = table.append_column("address", pa.array([{"city": "Leeds"}] * len(df)))
    pq.write_table(table, folder / "nested.parquet")


def _deep_model(folder: Path) -> None:
    (folder / "deep.json").write_text("[" * 6000 + "]" * 6000)


def _deep_segments(folder: Path) -> None:
    _results(folder)
    (folder / "r" / "segments.json").write_text('{"a":' * 50_000 + "1" + "}" * 50_000)


def _model_with_id(segment_id: int) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        from custseg.model import content_checksum

        _results(folder)
        doc = json.loads((folder / "r" / "model.json").read_text())
        doc["segments"][0]["id"] = segment_id
        doc["checksum"] = content_checksum(doc)  # a deliberate edit, checksum made to match
        (folder / "id.json").write_text(json.dumps(doc))

    return build


def _size_many(folder: Path) -> None:
    _results(folder)
    doc = json.loads((folder / "r" / "segments.json").read_text())
    doc["segments"][0]["size"] = "many"
    (folder / "r" / "segments.json").write_text(json.dumps(doc))


def _mixed_runs(folder: Path) -> None:
    _results(folder)
    other = base(40, seed=7)
    _table(folder, "other.csv", other)
    code, _, _ = run_cli(
        "segment", str(folder / "other.csv"), "--out", str(folder / "r2"), *FAST, "--k", "4"
    )
    assert code == 0
    k = json.loads((folder / "r" / "segments.json").read_text())["k"]
    code, _, _ = run_cli(
        "segment", str(folder / "other.csv"), "--out", str(folder / "r2"), *FAST, "--k", str(k)
    )
    assert code == 0
    (folder / "r" / "model.json").write_bytes((folder / "r2" / "model.json").read_bytes())


def _escapes_header(folder: Path) -> None:
    df = base()
    df = df.rename(columns={"Age": "Age\x1b]52;c;ZXZpbA==\x07\x1b[2J"})
    _table(folder, frame=df)


def _alias_bomb(folder: Path) -> None:
    lines = ['a0: &a0 ["lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 13)]
    (folder / "bomb.yaml").write_text("\n".join(lines) + "\n" + GOOD_PLAYBOOK)


def _nested_action(folder: Path) -> None:
    (folder / "nest.yaml").write_text(
        'a: &a ["lol", "lol"]\nb: &b [*a, *a]\n'
        + GOOD_PLAYBOOK.replace("action: Offer more.", "action: *b")
    )


def _chart_sheet(folder: Path) -> None:
    _table(folder)
    base().to_excel(folder / "book.xlsx", index=False)


PROBES: list[Probe] = [
    # case 6: the memory guard measures decoded data
    Probe(
        "gzip_empty_last_member",
        _gzip_bomb,
        ("segment", "{d}/bomb.csv.gz", "--out", "{d}/o", *FAST),
        1,
        "Error: file '{d}/bomb.csv.gz' ({size}) decompresses to more than 11.0 MB, which "
        "needs more than 110.0 MB of memory to load, more than the 100.0 MB available; save a "
        "random sample of its rows (or only the columns you need) as a smaller file and "
        "segment that, or use a machine with more memory",
        env={"CUSTSEG_MEMORY_LIMIT": "100M"},
    ),
    Probe(
        "parquet_run_length",
        _parquet_rle,
        ("segment", "{d}/rle.parquet", "--out", "{d}/o", *FAST),
        1,
        "Error: file '{d}/rle.parquet' ({size}) needs about 152.6 MB of memory to load, more "
        "than the 100.0 MB available; save a random sample of its rows (or only the columns "
        "you need) as a smaller file and segment that (--sample samples only after loading, "
        "so it does not help here), or use a machine with more memory",
        env={"CUSTSEG_MEMORY_LIMIT": "100M"},
    ),
    # case 7: playbooks are bounded
    Probe(
        "playbook_alias_bomb",
        _with(_table, _alias_bomb),
        ("segment", "{d}/c.csv", "--out", "{d}/o", "--playbook", "{d}/bomb.yaml", *FAST),
        1,
        "Error: playbook '{d}/bomb.yaml': uses more than 100 YAML aliases (*name); write the "
        "text out instead",
    ),
    Probe(
        "playbook_action_is_nested_aliases",
        _with(_table, _nested_action),
        ("segment", "{d}/c.csv", "--out", "{d}/o", "--playbook", "{d}/nest.yaml", *FAST),
        1,
        "Error: playbook '{d}/nest.yaml': rule 1 'action' must be text, not a list",
    ),
    Probe(
        "playbook_action_too_long",
        _with(_table, _text("long.yaml", GOOD_PLAYBOOK.replace("Offer more.", "x" * 2001))),
        ("segment", "{d}/c.csv", "--out", "{d}/o", "--playbook", "{d}/long.yaml", *FAST),
        1,
        "Error: playbook '{d}/long.yaml': rule 1 'action' is 2,001 characters long; keep it "
        "under 2,000",
    ),
    # case 8: segment ids are bounded by the model schema
    *[
        Probe(
            f"model_segment_id_{label}",
            _model_with_id(value),
            ("assign", "{d}/id.json", "{d}/c.csv", "--out", "{d}/a.csv"),
            1,
            "Error: '{d}/id.json' is not a valid custseg model: at segments/0/id: "
            f"{value} is greater than the maximum of 1000000",
        )
        for label, value in (
            ("2^28", 2**28),
            ("2^33", 2**33),
            ("2^62", 2**62),
            ("2^63-1", 2**63 - 1),
        )
    ],
    Probe(
        "previous_model_segment_id_2^62",
        _model_with_id(2**62),
        ("segment", "{d}/c.csv", "--previous", "{d}/id.json", "--out", "{d}/o", *FAST),
        1,
        "Error: '{d}/id.json' is not a valid custseg model: at segments/0/id: "
        f"{2**62} is greater than the maximum of 1000000",
    ),
    # case 11: Parquet list/struct columns
    Probe(
        "parquet_list_column_as_feature",
        _nested_parquet,
        ("segment", "{d}/nested.parquet", "--out", "{d}/o", "-f", "tags,Age", *FAST),
        1,
        "Error: feature 'tags' has text where a number is expected: row 1 is '[1, 2]' and 39 "
        "more; fix the value, or leave the column out of --features (text columns are "
        "profiled as categories)",
    ),
    Probe(
        "parquet_list_columns",
        _nested_parquet,
        ("segment", "{d}/nested.parquet", "--out", "{d}/o", *FAST),
        0,
    ),
    # case 13: deep nesting
    Probe(
        "model_nested_6000_deep",
        _with(_table, _deep_model),
        ("assign", "{d}/deep.json", "{d}/c.csv", "--out", "{d}/a.csv"),
        1,
        "Error: '{d}/deep.json' is not a custseg model (JSON nested more than 64 levels deep)",
    ),
    Probe(
        "segments_nested_50000_deep",
        _deep_segments,
        ("report", "{d}/r", "--out", "{d}/x.html"),
        1,
        "Error: '{d}/r/segments.json' is not a custseg result (JSON nested more than 64 "
        "levels deep)",
    ),
    # case 14: playbook shapes
    Probe(
        "playbook_words_list",
        _with(_table, _text("w.yaml", GOOD_PLAYBOOK + "words:\n  income: [a, b]\n")),
        ("segment", "{d}/c.csv", "--out", "{d}/o", "--playbook", "{d}/w.yaml", *FAST),
        1,
        "Error: playbook '{d}/w.yaml': 'words' for 'income' must map levels to words, e.g. "
        "{low: Budget, high: Affluent}, not a list",
    ),
    Probe(
        "playbook_words_number",
        _with(_table, _text("w.yaml", GOOD_PLAYBOOK + "words:\n  income: 5\n")),
        ("segment", "{d}/c.csv", "--out", "{d}/o", "--playbook", "{d}/w.yaml", *FAST),
        1,
        "Error: playbook '{d}/w.yaml': 'words' for 'income' must map levels to words, e.g. "
        "{low: Budget, high: Affluent}, not 5",
    ),
    Probe(
        "playbook_fallback_list",
        _with(_table, _text("f.yaml", GOOD_PLAYBOOK + "fallback: [1, 2]\n")),
        ("segment", "{d}/c.csv", "--out", "{d}/o", "--playbook", "{d}/f.yaml", *FAST),
        1,
        "Error: playbook '{d}/f.yaml': 'fallback' must be a mapping with 'title' and 'action', "
        "e.g. {title: Review this segment, action: Decide by hand.}",
    ),
    Probe(
        "playbook_latin1",
        _with(_table, _raw("l.yaml", GOOD_PLAYBOOK.replace("Grow", "Caf\xe9").encode("latin-1"))),
        ("segment", "{d}/c.csv", "--out", "{d}/o", "--playbook", "{d}/l.yaml", *FAST),
        1,
        "Error: playbook '{d}/l.yaml': is not UTF-8 text (byte 0xe9 on line 3); save it as "
        "UTF-8 and try again",
    ),
    # case 15 and 19: saved results edited or mixed
    Probe(
        "report_size_many",
        _size_many,
        ("report", "{d}/r", "--out", "{d}/x.html"),
        1,
        "Error: {d}/r: segments.json: 'segments[1].size' should be a whole number, not 'many'; "
        "rerun custseg segment to rebuild it",
    ),
    Probe(
        "report_files_of_two_runs",
        _mixed_runs,
        ("report", "{d}/r", "--out", "{d}/x.html"),
        1,
        "Error: {d}/r: segments.json and model.json come from different runs (their segments "
        "differ); keep the files of one result folder together",
    ),
    # case 16: seeds
    *[
        Probe(
            f"seed_{label}",
            _table,
            ("segment", "{d}/c.csv", "--out", "{d}/o", *FAST, "--seed", str(value)),
            1,
            f"Error: seed={value} must be a whole number from 0 to 4294967295",
        )
        for label, value in (("-1", -1), ("2^40", 2**40), ("2^70", 2**70))
    ],
    Probe(
        "demo_seed_-1",
        lambda folder: None,
        ("demo", "--out", "{d}/o", "--seed", "-1", "-q"),
        1,
        "Error: seed=-1 must be a whole number from 0 to 4294967295",
    ),
    # case 18: a truncated gzip is "cannot be decompressed", never "interrupted"
    Probe(
        "segment_truncated_gzip",
        _truncated_gzip,
        ("segment", "{d}/cut.csv.gz", "--out", "{d}/o", *FAST),
        1,
        "Error: file '{d}/cut.csv.gz' cannot be decompressed (Compressed file ended before the "
        "end-of-stream marker was reached); check that the download or copy is complete",
        env={"CUSTSEG_MEMORY_LIMIT": "8G"},
    ),
    Probe(
        "assign_truncated_gzip",
        _with(_results, _truncated_gzip),
        ("assign", "{d}/r/model.json", "{d}/cut.csv.gz", "--out", "{d}/a.csv"),
        1,
        "Error: file '{d}/cut.csv.gz' cannot be decompressed (Compressed file ended before the "
        "end-of-stream marker was reached)",
    ),
]


def _args(probe: Probe, folder: Path) -> list[str]:
    return [a.replace("{d}", str(folder)) for a in probe.command]


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_probe(probe: Probe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTSEG_MEMORY_LIMIT", raising=False)
    for name, value in probe.env.items():
        monkeypatch.setenv(name, value)
    probe.build(tmp_path)
    before = {p.name for p in tmp_path.iterdir()}
    code, _, stderr = run_cli(*_args(probe, tmp_path))
    assert code == probe.code, stderr
    assert "Traceback" not in stderr and "Internal error" not in stderr
    if probe.code:
        from custseg.data.loading import human_size

        expected = probe.message.replace("{d}", str(tmp_path))
        if "{size}" in expected:
            size = (tmp_path / Path(probe.command[1]).name).stat().st_size
            expected = expected.replace("{size}", human_size(size))
        assert stderr.strip() == expected
        assert {p.name for p in tmp_path.iterdir()} == before  # nothing written


def test_case11_python_api_with_list_columns(tmp_path: Path) -> None:
    from custseg import Segmenter

    _nested_parquet(tmp_path)
    frame = pd.read_parquet(tmp_path / "nested.parquet")
    seg = Segmenter(k=3, n_init=2).fit(frame)
    assert any("'tags' holds lists" in r for r in seg.result_.to_dict()["data"]["repairs"])


def test_case17_a_sheet_that_is_not_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """openpyxl on a chart sheet fails inside its own code; that is bad input, not a bug."""
    _chart_sheet(tmp_path)

    def chart_sheet(*args, **kwargs):
        raise AttributeError("'list' object has no attribute 'find'")

    monkeypatch.setattr("custseg.data.loading.pd.read_excel", chart_sheet)
    code, _, stderr = run_cli(
        "segment", str(tmp_path / "book.xlsx"), "--out", str(tmp_path / "o"), *FAST
    )
    assert code == 1
    assert stderr.strip() == (
        f"Error: file '{tmp_path}/book.xlsx': its first sheet cannot be read as a table "
        "('list' object has no attribute 'find'); it may be a chart sheet: choose the sheet "
        "holding the table with --sheet, or save that sheet as .csv"
    )


def test_case09_terminal_escapes_are_shown_not_obeyed(tmp_path: Path) -> None:
    _escapes_header(tmp_path)
    code, stdout, stderr = run_cli(
        "segment", str(tmp_path / "c.csv"), "--out", str(tmp_path / "o"), *FAST[:-2]
    )
    assert code == 0, stderr
    assert "\x1b" not in stdout and "\x07" not in stdout
    assert "Age\\x1b]52;c;ZXZpbA==\\x07\\x1b[2J" in stdout
    # the saved results keep the real name: only the terminal gets the escaped form
    doc = json.loads((tmp_path / "o" / "segments.json").read_text())
    assert "Age\x1b]52;c;ZXZpbA==\x07\x1b[2J" in doc["features"]


def test_case09_error_lines_are_escaped_too(tmp_path: Path) -> None:
    _table(tmp_path)
    code, _, stderr = run_cli(
        "segment", str(tmp_path / "c.csv"), "--out", str(tmp_path / "o"), "-f", "\x1b[2Jx"
    )
    assert code == 1 and "\x1b" not in stderr and "\\x1b[2Jx" in stderr


# --- case 24: the rest -----------------------------------------------------------------


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("command", ["segment", "assign"])
def test_case24_a_fifo_is_refused_not_waited_on(command: str, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    if command == "segment":
        code, _, stderr = run_cli("segment", str(fifo), "--out", str(tmp_path / "o"), *FAST)
    else:
        _results(tmp_path)
        code, _, stderr = run_cli(
            "assign",
            str(tmp_path / "r" / "model.json"),
            str(fifo),
            "--out",
            str(tmp_path / "a.csv"),
        )
    assert code == 1
    assert stderr.strip() == (
        f"Error: '{fifo}' is a named pipe (FIFO); custseg reads tables from files: save the "
        "table to a file and give its path"
    )


def test_case24_assign_refuses_a_feature_named_twice(tmp_path: Path) -> None:
    _results(tmp_path)
    df = base()
    df.insert(3, "Age2", df["Age"] + 1)
    text = csv_text(df).replace("Age2", "Age", 1)
    (tmp_path / "twice.csv").write_text(text)
    code, _, stderr = run_cli(
        "assign",
        str(tmp_path / "r" / "model.json"),
        str(tmp_path / "twice.csv"),
        "--out",
        str(tmp_path / "a.csv"),
    )
    assert code == 1
    assert stderr.strip() == (
        f"Error: file '{tmp_path}/twice.csv' has two columns named 'Age' (columns 3 and 4); "
        "rename one so every column name is unique"
    )
    assert not (tmp_path / "a.csv").exists()


def test_case24_a_feature_name_with_a_comma_can_be_quoted(tmp_path: Path) -> None:
    df = base().rename(columns={"Annual Income (k$)": "Income, net (k$)"})
    _table(tmp_path, frame=df)
    code, _, stderr = run_cli(
        "segment",
        str(tmp_path / "c.csv"),
        "--out",
        str(tmp_path / "o"),
        *FAST,
        "-f",
        '"Income, net (k$)",Age',
    )
    assert code == 0, stderr
    doc = json.loads((tmp_path / "o" / "segments.json").read_text())
    assert doc["features"] == ["Income, net (k$)", "Age"]


def test_case06_the_large_file_path_meters_gzip_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custseg import SegmentationConfig
    from custseg.data.fast import prepare_large_file
    from custseg.errors import DataError

    _gzip_bomb(tmp_path)
    monkeypatch.setenv("CUSTSEG_MEMORY_LIMIT", "20M")
    with pytest.raises(DataError, match=r"decompresses to more than 11\.0 MB"):
        prepare_large_file(tmp_path / "bomb.csv.gz", SegmentationConfig(), min_bytes=0)


def test_case04_the_large_file_path_refuses_a_reserved_id_too(tmp_path: Path) -> None:
    from custseg import SegmentationConfig
    from custseg.data.fast import prepare_large_file
    from custseg.errors import DataError

    _table(tmp_path, frame=base().rename(columns={"CustomerID": "segment"}))
    with pytest.raises(DataError, match="--id 'segment' has the name of a column"):
        prepare_large_file(tmp_path / "c.csv", SegmentationConfig(id_column="segment"), min_bytes=0)


def test_case06_metering_changes_nothing_below_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custseg import SegmentationConfig
    from custseg.data.fast import prepare_large_file

    df = base(400, seed=2)
    df["Gender"] = df["CustomerID"] * 3  # numbers only: the large-file path takes it
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(csv_text(df).encode()))
    config = SegmentationConfig(id_column="CustomerID")
    monkeypatch.setenv("CUSTSEG_MEMORY_LIMIT", "8G")
    metered = prepare_large_file(tmp_path / "c.csv.gz", config, min_bytes=0)
    monkeypatch.setattr("custseg.data.fast.available_memory", lambda: None)
    native = prepare_large_file(tmp_path / "c.csv.gz", config, min_bytes=0)
    assert metered is not None and native is not None
    np.testing.assert_array_equal(metered.X, native.X)
    assert list(metered.ids.astype(str)) == list(native.ids.astype(str))
