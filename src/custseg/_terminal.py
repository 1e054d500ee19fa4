"""Text printed to a terminal: control characters shown, never obeyed.

A column name or id from a file may hold terminal escape sequences (``ESC ]52;``
sets the clipboard, ``ESC [2J`` clears the screen) or bidirectional overrides
that reorder what is shown. Every line custseg prints goes through
:func:`safe_line`, so such characters appear as visible escapes (``\\x1b``).
"""

from __future__ import annotations

import re

# C0 and C1 controls (tab and newline included: a printed line is one line), DEL,
# and the Unicode bidirectional embeddings, overrides and isolates.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def safe_line(text: str) -> str:
    """``text`` with every control character replaced by a visible escape.

    >>> safe_line("Age\\x1b[2J")
    'Age\\\\x1b[2J'
    """
    return _CONTROL.sub(_escape, text)
