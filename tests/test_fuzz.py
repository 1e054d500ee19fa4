"""Fuzz (issue 11): mutated exports and model files give exit 0 or 1, never an internal error,
and never touch a file outside custseg's own outputs.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from corpus import FAST, base, csv_text

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "c.csv").write_text(csv_text(base()))
    code, _, stderr = run_cli("segment", str(folder / "c.csv"), "--out", str(folder / "r"), *FAST)
    assert code == 0, stderr
    return folder


def _paths(doc, prefix=()):
    """Every (path, value) in a JSON document."""
    yield prefix, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


def _set(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), fix_checksum=st.booleans())
def test_a_mutated_model_is_loaded_or_refused_never_a_bug(
    saved: Path, tmp_path_factory, data, fix_checksum: bool
) -> None:
    from custseg.errors import CustsegError
    from custseg.model import content_checksum, load_model

    doc = json.loads((saved / "r" / "model.json").read_text())
    paths = [p for p, _ in _paths(doc) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        try:
            _set(doc, path, data.draw(_JSON_VALUES))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced a parent
        paths = [p for p, _ in _paths(doc) if p]
    if fix_checksum and isinstance(doc, dict):
        # a document the checksum cannot be computed on stays as it is
        with contextlib.suppress(Exception):
            doc["checksum"] = content_checksum(doc)
    folder = tmp_path_factory.mktemp("m")
    path = folder / "model.json"
    path.write_text(json.dumps(doc))
    try:
        model = load_model(path)
    except CustsegError:
        return
    import pandas as pd

    frame = pd.read_csv(saved / "c.csv")
    with contextlib.suppress(CustsegError):
        model.assign(frame)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cuts=st.lists(
        st.tuples(st.integers(0, 2000), st.binary(min_size=0, max_size=4)), min_size=1, max_size=4
    )
)
def test_a_mutated_export_is_exit_0_or_1_and_touches_nothing_else(
    tmp_path_factory, cuts: list[tuple[int, bytes]]
) -> None:
    folder = tmp_path_factory.mktemp("x")
    raw = bytearray(csv_text(base()).encode())
    for at, junk in cuts:
        at = min(at, len(raw))
        raw[at : at + len(junk)] = junk
    (folder / "c.csv").write_bytes(bytes(raw))
    out = folder / "out"
    out.mkdir()
    (out / "mine.txt").write_text("mine")
    code, _, stderr = run_cli("segment", str(folder / "c.csv"), "--out", str(out), *FAST, "--force")
    assert code in (0, 1), stderr
    assert "Internal error" not in stderr and "Traceback" not in stderr
    if code == 1:
        assert len(stderr.strip().splitlines()) == 1
    assert (out / "mine.txt").read_text() == "mine"
    assert (folder / "c.csv").read_bytes() == bytes(raw)
