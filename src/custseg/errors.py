"""Exceptions raised by custseg.

Every error a user can cause derives from :class:`CustsegError`; its message is
one line that names the thing at fault (file, column, row, value) and how to fix
it. The CLI prints that line and exits with status 1. Anything else escaping is
a bug in custseg (exit status 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .not_fitted import NotFittedError as NotFittedError


class CustsegError(Exception):
    """Base class of every error a user can cause and fix."""

    def __str__(self) -> str:
        # One line, always: a value quoted from the data may hold a line break.
        text = super().__str__()
        return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")


class DataError(CustsegError):
    """The input table cannot be read or does not fit the analysis."""


class ConfigError(CustsegError):
    """An option or combination of options is invalid."""


class ModelError(CustsegError):
    """A saved model cannot be loaded or does not fit the data given to it."""


class OutputError(CustsegError):
    """Results cannot be written where asked."""


class SegmentationWarning(UserWarning):
    """A result is usable but degenerate (e.g. a segment of one customer)."""


class ReportError(CustsegError):
    """Saved results cannot be turned into a report (missing, invalid or mismatched)."""


def __getattr__(name: str) -> Any:
    # NotFittedError subclasses scikit-learn's, whose import is slow: load it on first use.
    if name == "NotFittedError":
        from .not_fitted import NotFittedError

        return NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
