"""Numbers as spreadsheets export them: one decimal convention per column, every repair stated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custseg.data.numbers import coerce_numeric
from custseg.errors import DataError


@pytest.mark.parametrize(
    ("cells", "expected", "repair"),
    [
        (["1,234", "5"], [1234, 5], "thousands separators"),
        (["1,234,567", "2"], [1234567, 2], "thousands separators"),
        (["1,234.5", "3.25"], [1234.5, 3.25], "thousands separators"),
        (["3,5", "2"], [3.5, 2], "decimal commas"),
        (["1.234,5", "3,25"], [1234.5, 3.25], "decimal commas, thousands separators"),
        (["1.234.567", "2"], [1234567, 2], "thousands separators"),
        # a decimal comma elsewhere in the column decides how '1.234' is read
        (["1.234", "3,5"], [1234, 3.5], "decimal commas, thousands separators"),
        # ... and a decimal point elsewhere: '$3.125' is 3.125, not 3125
        (["$3.125", "2.5"], [3.125, 2.5], "currency signs"),
        (["€ 1.234,50", "2"], [1234.5, 2], "currency signs, decimal commas, thousands separators"),
        (["1\u00a0234", "5"], [1234, 5], "thousands separators"),
        (["45%", "50 %"], [45, 50], "percent signs"),
        (["£12", "", "N/A"], [12, np.nan, np.nan], "currency signs"),
    ],
)
def test_repairs(cells: list[str], expected: list[float], repair: str) -> None:
    values, note = coerce_numeric(pd.Series(cells, dtype=object), "x", strict=True)
    np.testing.assert_array_equal(values, np.array(expected, dtype=float))
    assert note is not None
    assert note.startswith(f"column 'x': removed {repair} (e.g. ")


def test_plain_numbers_need_no_repair() -> None:
    values, note = coerce_numeric(pd.Series(["12", "-3.5", "1e3"], dtype=object), "x", strict=True)
    np.testing.assert_array_equal(values, [12, -3.5, 1000])
    assert note is None


def test_the_repair_note_shows_how_a_cell_was_read() -> None:
    _, note = coerce_numeric(pd.Series(["1,234", "7"], dtype=object), "Income", strict=True)
    assert note == "column 'Income': removed thousands separators (e.g. '1,234' read as 1234)"


def test_mixed_conventions_are_refused() -> None:
    with pytest.raises(DataError, match=r"'x' mixes number formats: '2\.25' .* '1,5'"):
        coerce_numeric(pd.Series(["1,5", "2.25"], dtype=object), "x", strict=True)


def test_a_few_text_cells_in_a_numeric_column_are_an_error_naming_them() -> None:
    col = pd.Series([str(i) for i in range(20)] + ["oops"], dtype=object)
    with pytest.raises(DataError) as err:
        coerce_numeric(col, "Visits", strict=False)
    assert str(err.value) == (
        "column 'Visits' has text where a number is expected: row 21 is 'oops'; fix the "
        "value, or choose the features with --features to leave it out"
    )


def test_a_text_column_with_a_few_numbers_is_text() -> None:
    col = pd.Series(["Leeds", "York", "1066", "Bath", "Hull"] * 4, dtype=object)
    assert coerce_numeric(col, "City", strict=False) == (None, None)


@given(st.lists(st.integers(-(10**15) + 1, 10**15 - 1), min_size=1, max_size=50), st.booleans())
def test_plain_whole_numbers_read_as_the_cleaning_reads_them(values, plus):
    """Columns of plain digits (ids, counts read as text) skip the cleaning: same numbers."""
    from custseg.data import numbers

    cells = [("+" if plus and v > 0 else "") + str(v) for v in values]
    text = pd.Series(cells, dtype="string[pyarrow]")
    fast, bad, fixes = numbers._parse(text, "c")
    cleaned, _ = numbers._clean(text, "c")
    slow = pd.to_numeric(cleaned).to_numpy(dtype=float)
    assert np.array_equal(fast, slow) and not bad.any() and fixes == {}
