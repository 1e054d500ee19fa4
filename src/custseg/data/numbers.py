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
from .loading import NA_VALUES

_MISSING = frozenset(NA_VALUES)

_CURRENCY = re.compile(r"^[\s$€£¥]*|[\s$€£¥]*$")
_US = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_EU = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
# A column whose cells are numbers except for at most this share of text cells is a
# numeric column with typos (an error naming them); above it, a text column.
MAX_TEXT_SHARE = 0.1


def _strip_signs(token: str) -> tuple[str, list[str]]:
    """Remove spaces, currency and percent signs; say what was removed."""
    t = token.strip()
    repairs = []
    if re.search(r"\d[\s\u00a0\u202f]+\d", t):
        repairs.append("thousands separators")  # 1 234 567: spaces between digit groups
    t = re.sub(r"[\s\u00a0\u202f]+", "", t)
    stripped = _CURRENCY.sub("", t)
    if stripped != t:
        repairs.append("currency signs")
        t = stripped
    if t.endswith("%"):
        t = t[:-1]
        repairs.append("percent signs")
    return t, repairs


def _convention(tokens: list[str], name: str) -> str:
    """'comma' when the column writes decimals with a comma (1.234,5), else 'point'.

    Decided once per column from unambiguous cells, because one cell alone can be
    read both ways: '1.234' is 1.234 or 1234. Mixed conventions are an error.
    """
    comma = point = None
    for t in tokens:
        if "," in t and "." in t:
            if t.rindex(",") > t.rindex("."):
                comma = comma or t
            else:
                point = point or t
        elif t.count(".") > 1 or (_DECIMAL_COMMA.match(t) and len(t) - t.index(",") != 4):
            comma = comma or t  # 1.234.567 or 3,5: only a decimal-comma writer does that
        elif t.count(",") > 1 or ("." in t and len(t) - t.index(".") != 4):
            point = point or t  # 1,234,567 or 3.25
    if comma and point:
        raise DataError(
            f"column {name!r} mixes number formats: {point!r} uses a decimal point and "
            f"{comma!r} a decimal comma; write every number the same way"
        )
    return "comma" if comma else "point"


def _clean_token(token: str, convention: str = "point") -> tuple[str, list[str]]:
    """One cell's text cleaned to a float-parsable string, and what was repaired."""
    t, repairs = _strip_signs(token)
    if convention == "comma":
        if _EU.match(t) or _DECIMAL_COMMA.match(t) or re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+", t):
            if "." in t:
                repairs.append("thousands separators")
            if "," in t:
                repairs.append("decimal commas")
            t = t.replace(".", "").replace(",", ".")
    elif _US.match(t):
        t = t.replace(",", "")
        repairs.append("thousands separators")
    return t, repairs


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
    texts = [_strip_signs(v)[0] for v in values if isinstance(v, str) and v.strip() not in _MISSING]
    convention = _convention(texts, name) if texts else "point"
    out = np.full(len(values), np.nan)
    repairs: dict[str, str] = {}  # what was repaired -> the first cell it was done to
    bad: list[int] = []
    n_numbers = 0
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            continue
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            out[i] = float(v)
            n_numbers += 1
            continue
        if str(v).strip() in _MISSING:
            continue  # the same missing-value words as the file reader (tables given in Python)
        text, fixes = _clean_token(str(v), convention)
        if text == "":
            continue
        try:
            out[i] = float(text)
            n_numbers += 1
        except ValueError:
            bad.append(i)
            # Clearly a text column: stop early instead of parsing every row.
            if not strict and len(bad) > MAX_TEXT_SHARE * (n_numbers + len(bad)) + 1:
                return None, None
            continue
        for fix in fixes:
            repairs.setdefault(fix, f"{str(v)!r} read as {out[i]:.10g}")
    if bad and not strict and len(bad) > MAX_TEXT_SHARE * (n_numbers + len(bad)):
        return None, None  # a text column with a few numbers in it
    if bad:
        # A column of numbers with a few text cells is a typo, not a text column: say
        # where it is rather than silently leaving the column out.
        i = bad[0]
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        what = "feature" if strict else "column"
        fix = (
            "fix the value, or leave the column out of --features "
            "(text columns are profiled as categories)"
            if strict
            else "fix the value, or choose the features with --features to leave it out"
        )
        raise DataError(
            f"{what} {name!r} has text where a number is expected: row {i + 1} is "
            f"{str(values[i])!r}{more}; {fix}"
        )
    if not strict and np.isnan(out).all():
        return None, None
    examples = list(dict.fromkeys(repairs.values()))[:2]
    note = (
        f"column {name!r}: removed {', '.join(sorted(repairs))} (e.g. {'; '.join(examples)})"
        if repairs
        else None
    )
    return out, note
