"""The report's SVG writer: ticks, labels, escaping."""

from __future__ import annotations

import itertools
import math

from hypothesis import assume, given
from hypothesis import strategies as st

from custseg.report.svg import Canvas, nice_ticks, shorten, tick_label


def test_ticks_by_hand():
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(83.0, 392.0) == [0.0, 100.0, 200.0, 300.0, 400.0]
    assert nice_ticks(-1.3, 1.3, 7) == [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5]
    flat = nice_ticks(5.0, 5.0)
    assert flat[0] < 5.0 < flat[-1]


@given(
    st.floats(-1e9, 1e9, allow_nan=False),
    st.floats(1e-6, 1e9, allow_nan=False),
)
def test_ticks_cover_the_data_with_round_steps(lo, span):
    # A span below a millionth of the values' size is beyond what a chart can label.
    assume(span >= 1e-6 * abs(lo))
    hi = lo + span
    ticks = nice_ticks(lo, hi)
    step = ticks[1] - ticks[0]
    assert ticks[0] <= lo + step * 1e-6 and ticks[-1] >= hi - step * 1e-6
    assert 2 <= len(ticks) <= 9
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))
    assert max(steps) - min(steps) <= step * 1e-6


def test_tick_labels_are_short():
    assert tick_label(0.0, 0.2) == "0"
    assert tick_label(0.4, 0.2) == "0.4"
    assert tick_label(-1.5, 0.5) == "\u22121.5"
    assert tick_label(250.0, 50.0) == "250"
    assert tick_label(12_000.0, 2_000.0) == "12k"
    assert tick_label(1_500_000.0, 500_000.0) == "1.5M"
    assert tick_label(500_000.0, 500_000.0, top=1_500_000.0) == "0.5M"
    assert tick_label(2.5, 2.5) == "2.5"


def test_text_from_the_data_is_escaped_and_long_labels_keep_their_full_text():
    c = Canvas(100, 100)
    name = "<script>alert(1)</script> & a very long column name indeed"
    c.text(10, 10, name)
    svg = c.svg()
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert (
        f"<title>{name.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</title>"
        in svg
    )
    assert shorten(name) + "</text>" in svg.replace("&lt;", "<").replace("&gt;", ">").replace(
        "&amp;", "&"
    )
    assert len(shorten(name)) == 32 and shorten(name).endswith("…")
