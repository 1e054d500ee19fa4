"""Plain JSON values from what the computing steps hold (numpy scalars, tuples, NaN)."""

from __future__ import annotations

import math
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
