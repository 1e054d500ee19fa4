"""Every corpus case through the real CLI, with its exact expected outcome (see corpus.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_cli
from corpus import CASES, FAST, Case

DOC = (Path(__file__).resolve().parents[1] / "docs" / "data-requirements.md").read_text(
    encoding="utf-8"
)


def _input_rows(case: Case, out: Path) -> None:
    doc = json.loads((out / "segments.json").read_text(encoding="utf-8"))
    assign = pd.read_csv(out / "assignments.csv", dtype=str, keep_default_na=False)
    # every input row appears exactly once, in input order
    assert len(assign) == case.n_rows == doc["data"]["n_rows"]
    assert assign.iloc[:, 0].is_unique
    used = assign["segment"] != ""
    assert int(used.sum()) == doc["data"]["n_used"] == sum(s["size"] for s in doc["segments"])
    # a row is either in a segment or left out with its reason, never both, never neither
    assert ((assign["left_out_reason"] == "") == used).all()
    for row, words in case.left_out.items():
        assert words in assign["left_out_reason"].iloc[row - 1], (row, assign.iloc[row - 1])
    repairs = " | ".join(doc["data"]["repairs"])
    for word in case.repairs:
        assert word in repairs, f"{word!r} not in repairs: {repairs}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTSEG_MEMORY_LIMIT", raising=False)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    path = case.build(tmp_path)
    out = tmp_path / "out"
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, stderr = run_cli("segment", str(path), "--out", str(out), *FAST, *case.args)
    assert code == case.code, (stdout, stderr)
    assert "Traceback" not in stderr and "Internal error" not in stderr
    if case.code == 0:
        _input_rows(case, out)
        if case.check:
            case.check(out)
        # the repairs are printed too, not only saved
        for word in case.repairs[:1]:
            assert word in stdout
    else:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert lines[0].startswith("Error: ")
        for word in case.message:
            assert word in lines[0], f"{word!r} not in {lines[0]!r}"
        # the Data requirements page shows this exact message (paths without the folder)
        shown = lines[0].removeprefix("Error: ").replace(f"{tmp_path}/", "")
        assert shown in DOC, f"docs/data-requirements.md lacks: {shown}"
        # nothing written: no output folder, no hidden temporary folder
        assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert sum(c.code == 0 for c in CASES) >= 15
    assert sum(c.code == 1 for c in CASES) >= 15
