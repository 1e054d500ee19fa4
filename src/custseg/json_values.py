"""Plain JSON values from what the computing steps hold (numpy scalars, tuples, NaN)."""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

import numpy as np


def json_safe(value: Any, *, digits: int | None = None) -> Any:
    """``value`` with numpy scalars as Python numbers, tuples as lists and NaN/inf as None.

    Parameters
    ----------
    value : any
        Nested dicts, lists and tuples are converted throughout; dict keys become text.
    digits : int, optional
        Round floats to this many decimals (``segments.json`` keeps 10, so that
        last-bit noise does not change the file).

    Examples
    --------
    >>> json_safe({"a": (np.float64(0.5), float("nan"))})
    {'a': [0.5, None]}
    """
    # Exact types first: a result holds hundreds of thousands of plain floats (the map's
    # coordinates), and one isinstance chain and np.isfinite call each took seconds.
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            return None
        return value if digits is None else round(value, digits)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is list or kind is tuple:
        return [
            ((v if digits is None else round(v, digits)) if math.isfinite(v) else None)
            if type(v) is float
            else json_safe(v, digits=digits)
            for v in value
        ]
    if isinstance(value, dict):
        return {str(k): json_safe(v, digits=digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, digits=digits) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return value if digits is None else float(round(value, digits))
    return value


#: Lists of more plain values (numbers, text, null) than this are written on one line.
_FLAT_LIST = 32


def json_text(doc: Any) -> str:
    """The text of a JSON file custseg writes: indented by two spaces, except that a long
    list of plain values (the segment map's coordinates, ids and feature values) stays
    on one line. Python's encoder writes indented JSON in Python, one value per line;
    those lists are written by its C encoder instead (the same values, ten times faster
    for a 5,000-point map, and a file that reads better).

    Examples
    --------
    >>> print(json_text({"k": 2, "x": [0, 1, 2]}), end="")
    {
      "k": 2,
      "x": [
        0,
        1,
        2
      ]
    }
    >>> json_text({"x": list(range(40))}).count("\\n")  # {, "x": [0, 1, ...], }
    3
    """
    token = f"@custseg-list-{uuid.uuid4().hex}-"
    flat: list[str] = []

    def skeleton(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: skeleton(v) for k, v in value.items()}
        if isinstance(value, list):
            if len(value) > _FLAT_LIST and all(
                v is None or type(v) in (int, float, str, bool) for v in value
            ):
                flat.append(json.dumps(value, ensure_ascii=False, allow_nan=False))
                return f"{token}{len(flat) - 1}"
            return [skeleton(v) for v in value]
        return value

    text = json.dumps(skeleton(doc), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if flat:
        text = re.sub(f'"{re.escape(token)}(\\d+)"', lambda m: flat[int(m.group(1))], text)
    return text
