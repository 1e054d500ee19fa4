"""Bounds on documents custseg reads back (models, saved results): depth and size.

A JSON file nested thousands of levels deep makes Python's parser, and any
recursive walk over the result, raise ``RecursionError``; a custseg document is
never more than a handful of levels deep, so anything deeper is refused with a
clear message before it is walked.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # custseg writes at most ~6 levels; room for tools that add metadata


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when ``value`` nests lists/dicts more than ``limit`` levels (iterative)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads_bounded(text: str, **kwargs: Any) -> Any:
    """``json.loads`` that raises ``ValueError('nested too deeply')`` instead of recursing."""
    try:
        doc = json.loads(text, **kwargs)
    except RecursionError:
        raise NestingError from None
    if depth_exceeds(doc):
        raise NestingError
    return doc


class NestingError(ValueError):
    """A JSON document nested more deeply than any custseg document."""

    def __str__(self) -> str:
        return f"JSON nested more than {MAX_DEPTH} levels deep"
