"""Levels: is a segment low, average or high on a column, against the whole customer base?

A level is a statement about a segment's *mean* next to the base's mean, so it is
decided from the difference of the two, in units that fit the column's kind, and
only when the difference is both large enough to matter and larger than chance:

* **numbers** (amounts, counts, ages, scores): the standardised difference
  ``d = (segment mean - base mean) / base standard deviation``. Non-negative,
  right-skewed columns (skewness above 1: most amounts and zero-heavy counts) are
  compared in robust units, on ``log(1 + x)``, so a few very large customers do
  not decide every segment's level; the level must then also agree in sign with
  the plain means shown next to it, or it is "average".
* **flags** (0/1) and **shares** (values within 0..1): the rate ratio
  ``segment rate / base rate``.
* **significance**: the v-test of FactoMineR's ``catdes`` (Lebart et al.), the
  difference of means over its standard error when ``n_segment`` customers are
  drawn without replacement from the ``N`` of the base,
  ``v = (m_s - m) / sqrt(var / n_s * (N - n_s) / (N - 1))``. A difference with
  ``|v| < 1.96`` (two-sided 5%) is "average", whatever its size.

So a segment that holds every customer, or whose difference is small or could be
chance, is "average"; and "high" is never said of a segment whose mean is below
the base's (the property the tests check on random data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["flag", "share", "number"]

EFFECT_MIN = 0.3
"""|d| below this is a small difference: 'average'."""
EFFECT_VERY = 1.0
"""|d| from this on is 'very low' / 'very high' (used to tell similar segments apart)."""
RATIO_HIGH, RATIO_LOW = 1.25, 0.8
"""A flag's or share's rate at least 25% above (or 20% below) the base's."""
RATIO_VERY_HIGH, RATIO_VERY_LOW = 2.0, 0.5
VTEST_MIN = 1.96
"""Two-sided 5%: a smaller |v| could be chance."""
SKEWNESS_ROBUST = 1.0
"""Non-negative columns more skewed than this are compared on log(1 + x)."""

LEVEL_RULE = (
    "A segment is 'high' or 'low' on a column when its mean differs from the whole base's "
    f"by at least {EFFECT_MIN} standard deviations (on log(1 + x) for skewed non-negative "
    f"columns, in the same direction as the plain means) or, for 0/1 flags and shares, "
    f"when its rate is at least {RATIO_HIGH}× or at most {RATIO_LOW}× the base's rate; and "
    f"the difference is significant (v-test |v| ≥ {VTEST_MIN}). Otherwise it is 'average'."
)


@dataclass(frozen=True)
class ColumnBase:
    """What the whole base tells about one column, computed once per column."""

    kind: Kind
    robust: bool
    n: int
    mean: float
    var: float
    log_mean: float = 0.0
    log_var: float = 0.0


@dataclass(frozen=True)
class Level:
    """A segment's level on one column and the figures it rests on."""

    level: str
    fine: str
    effect: float
    """Standardised difference (in the units the level was decided in)."""
    vtest: float
    ratio: float | None
    """Segment rate over base rate, for flags and shares."""


def infer_kind(col: np.ndarray) -> Kind:
    """'flag' for 0/1 columns, 'share' for values within 0..1, 'number' otherwise.

    >>> infer_kind(np.array([0.0, 1.0, 1.0])), infer_kind(np.array([0.2, 0.5])), infer_kind(
    ...     np.array([3.0, 40.0]))
    ('flag', 'share', 'number')
    """
    lo, hi = float(col.min()), float(col.max())
    return kind_of(
        lo, hi, binary=lo >= 0.0 and hi <= 1.0 and bool(np.all((col == 0.0) | (col == 1.0)))
    )


def kind_of(lo: float, hi: float, *, binary: bool) -> Kind:
    """The kind of a column from its minimum, maximum and whether every value is 0 or 1
    (figures an engine computes as aggregates); the rule of :func:`infer_kind`.

    >>> kind_of(0.0, 1.0, binary=True), kind_of(0.0, 1.0, binary=False), kind_of(0.0, 5.0,
    ...     binary=False)
    ('flag', 'share', 'number')
    """
    if lo >= 0.0 and hi <= 1.0:
        return "flag" if binary else "share"
    return "number"


def _skewness(col: np.ndarray, mean: float, var: float) -> float:
    if var <= 0:
        return 0.0
    centred = col.astype(np.float64, copy=False) - mean
    return float(np.mean(centred**3) / var**1.5)


def column_base(col: np.ndarray, kind: Kind | None = None) -> ColumnBase:
    """The base's figures for one column (n_customers,), its kind inferred when not given."""
    kind = kind or infer_kind(col)
    mean = float(col.mean(dtype=np.float64))
    var = float(col.var(dtype=np.float64))
    robust = (
        kind == "number" and float(col.min()) >= 0.0 and _skewness(col, mean, var) > SKEWNESS_ROBUST
    )
    if not robust:
        return ColumnBase(kind=kind, robust=False, n=len(col), mean=mean, var=var)
    lg = np.log1p(col.astype(np.float64, copy=False))
    return ColumnBase(
        kind=kind,
        robust=True,
        n=len(col),
        mean=mean,
        var=var,
        log_mean=float(lg.mean()),
        log_var=float(lg.var()),
    )


def base_from_moments(
    kind: Kind,
    n: int,
    mean: float,
    var: float,
    minimum: float,
    skewness: float,
    log_mean: float = 0.0,
    log_var: float = 0.0,
) -> ColumnBase:
    """:func:`column_base` from aggregates an engine computes over every customer: the
    population mean, variance and skewness (``E[(x - mean)^3] / var^1.5``, 0 when the
    variance is 0), the minimum, and the mean and population variance of ``log(1 + x)``
    (used only when the column is robust, i.e. non-negative and skewed).

    >>> b = base_from_moments("number", 100, 10.0, 25.0, 0.0, 2.5, 1.9, 0.6)
    >>> b.robust, b.log_mean
    (True, 1.9)
    """
    robust = kind == "number" and minimum >= 0.0 and var > 0 and skewness > SKEWNESS_ROBUST
    if not robust:
        return ColumnBase(kind=kind, robust=False, n=n, mean=mean, var=var)
    return ColumnBase(
        kind=kind, robust=True, n=n, mean=mean, var=var, log_mean=log_mean, log_var=log_var
    )


def _vtest(diff: float, var: float, n_s: int, n: int) -> float:
    if n_s >= n or n < 2 or var <= 0:
        return 0.0
    se = np.sqrt(var / n_s * (n - n_s) / (n - 1))
    return float(diff / se) if se > 0 else 0.0


def _from_effect(effect: float) -> tuple[str, str]:
    if abs(effect) < EFFECT_MIN:
        return "average", "average"
    word = "high" if effect > 0 else "low"
    return word, (f"very {word}" if abs(effect) >= EFFECT_VERY else word)


def _from_ratio(ratio: float) -> tuple[str, str]:
    if ratio >= RATIO_HIGH:
        return "high", ("very high" if ratio >= RATIO_VERY_HIGH else "high")
    if ratio <= RATIO_LOW:
        return "low", ("very low" if ratio <= RATIO_VERY_LOW else "low")
    return "average", "average"


def segment_level(base: ColumnBase, n_s: int, mean: float, log_mean: float = 0.0) -> Level:
    """The level of a segment of ``n_s`` customers whose mean is ``mean`` (and mean of
    ``log(1 + x)`` is ``log_mean`` for robust columns) against ``base``.

    >>> b = column_base(np.arange(100.0))
    >>> segment_level(b, 20, 90.0).level, segment_level(b, 20, 50.0).level
    ('high', 'average')
    """
    diff = mean - base.mean
    sd = float(np.sqrt(base.var))
    ratio = None
    if base.robust:
        log_sd = float(np.sqrt(base.log_var))
        effect = (log_mean - base.log_mean) / log_sd if log_sd > 0 else 0.0
        vtest = _vtest(log_mean - base.log_mean, base.log_var, n_s, base.n)
        level, fine = _from_effect(effect)
        if level != "average" and np.sign(diff) != np.sign(effect):
            # The bulk and the mean disagree (a few large customers): no word for it.
            level = fine = "average"
    else:
        effect = diff / sd if sd > 0 else 0.0
        vtest = _vtest(diff, base.var, n_s, base.n)
        if base.kind == "number":
            level, fine = _from_effect(effect)
        else:
            ratio = mean / base.mean if base.mean > 0 else (1.0 if mean == 0 else np.inf)
            level, fine = _from_ratio(float(ratio))
    if abs(vtest) < VTEST_MIN:
        level = fine = "average"
    return Level(
        level=level,
        fine=fine,
        effect=float(effect),
        vtest=float(vtest),
        ratio=None if ratio is None else float(ratio),
    )
