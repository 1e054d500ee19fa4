"""custseg's NotFittedError, a subclass of scikit-learn's.

Its own module because importing scikit-learn takes about a second, which the
command line should not pay for a class only the estimator raises:
``custseg.NotFittedError`` and ``custseg.errors.NotFittedError`` load it on
first use.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from .errors import CustsegError


class NotFittedError(CustsegError, SklearnNotFittedError):
    """A fitted-only method was called before ``fit``.

    Being scikit-learn's ``NotFittedError`` too (a ``ValueError`` and an
    ``AttributeError``), it is what ``Pipeline``, ``check_is_fitted`` and
    ``hasattr`` expect.
    """
