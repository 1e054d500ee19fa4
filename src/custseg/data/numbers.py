"""Turn a column of a customer table into numbers, repairing common export habits.

Repairs (each reported once per column): thousands separators (``1,234`` or
``1.234,5``), decimal commas (``3,5``), currency signs (``$ € £ ¥``) and
percent signs. A value that is still not a number is an error naming its row.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import DataError

_CURRENCY = re.compile(r"^[\s$€£¥]*|[\s$€£¥]*$")
_US = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_EU = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")


def _clean_token(token: str) -> tuple[str, str | None]:
    """One cell's text cleaned to a float-parsable string, and what was repaired."""
    t = token.strip().replace("\u00a0", "").replace(" ", "")
    repair = None
    stripped = _CURRENCY.sub("", t)
    if stripped != t:
        repair = "currency signs"
        t = stripped
    if t.endswith("%"):
        t = t[:-1]
        repair = "percent signs"
    if _US.match(t):
        return t.replace(",", ""), "thousands separators"
    if _EU.match(t):
        return t.replace(".", "").replace(",", "."), "thousands separators"
    if _DECIMAL_COMMA.match(t):
        return t.replace(",", "."), "decimal commas"
    return t, repair


def coerce_numeric(
    col: pd.Series, name: str, *, strict: bool
) -> tuple[np.ndarray | None, str | None]:
    """Return the column as float64 (NaN for empty) and a repair note.

    With ``strict=False`` a column that is mostly text returns ``None`` (it is
    not a numeric column); with ``strict=True`` it is an error naming the first
    offending row and value.
    """
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=np.float64, na_value=np.nan), None
    if pd.api.types.is_bool_dtype(col):
        if strict:
            raise DataError(
                f"feature {name!r} holds true/false values, not numbers; "
                "encode it as 0/1 or leave it out of --features"
            )
        return None, None
    values = col.astype(object).to_numpy()
    out = np.full(len(values), np.nan)
    repairs: set[str] = set()
    bad: list[int] = []
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            continue
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            out[i] = float(v)
            continue
        text, repair = _clean_token(str(v))
        if text == "":
            continue
        try:
            out[i] = float(text)
        except ValueError:
            bad.append(i)
            if not strict:
                return None, None
            continue
        if repair:
            repairs.add(repair)
    if bad:
        i = bad[0]
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise DataError(
            f"feature {name!r} has text where a number is expected: row {i + 1} is "
            f"{str(values[i])!r}{more}; fix the value, or leave the column out of --features "
            "(text columns are profiled as categories)"
        )
    if not strict and np.isnan(out).all():
        return None, None
    note = f"column {name!r}: removed {', '.join(sorted(repairs))}" if repairs else None
    return out, note


def strict_numeric(col: pd.Series, name: str) -> tuple[np.ndarray, str | None]:
    """:func:`coerce_numeric` for a column that must be numeric (an error otherwise)."""
    values, note = coerce_numeric(col, name, strict=True)
    if values is None:  # strict mode raises instead; kept for the type checker
        raise DataError(f"feature {name!r} is not numeric")
    return values, note
