"""Scale features so that no column dominates distances by its units alone.

``standard``: (x - mean) / std; ``minmax``: (x - min) / (max - min);
``robust``: (x - median) / IQR; ``none``: the values as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import SCALES
from ..errors import ConfigError


@dataclass(frozen=True)
class Scaler:
    """A fitted affine scaling ``(X - center) / scale``, one value per feature."""

    kind: str
    center: np.ndarray
    scale: np.ndarray
    # Per feature: sign(x) * log(1 + |x|) before scaling (skewed amounts, --transform).
    log: tuple[bool, ...] | None = None

    def _log(self, X: np.ndarray) -> np.ndarray:
        """X with the log features transformed (a copy), or X itself when there are none."""
        if not self.log or not any(self.log):
            return X
        X = np.array(X, copy=True)
        for j in np.flatnonzero(self.log):
            X[:, j] = np.sign(X[:, j]) * np.log1p(np.abs(X[:, j]))
        return X

    def transform(self, X: np.ndarray, order: str = "C") -> np.ndarray:
        """Scaled copy of X; float32 input stays float32 (large tables), else float64.

        ``order="F"`` lays the copy out feature by feature (each column contiguous), in
        blocks of customers, for passes that read one feature at a time.
        """
        X = self._log(np.asarray(X))
        if order == "F":
            dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
            out = np.empty(X.shape, dtype=dtype, order="F")
            center: np.ndarray = self.center.astype(dtype)
            scale: np.ndarray = self.scale.astype(dtype)
            step = 16_384
            for s in range(0, len(X), step):
                out[s : s + step] = (np.asarray(X[s : s + step], dtype=dtype) - center) / scale
            return out
        if X.dtype == np.float32:
            # In place on one float32 copy: no float64 temporaries of a large table.
            out = X.copy()
            out -= self.center.astype(np.float32)
            out /= self.scale.astype(np.float32)
            return out
        return (np.asarray(X, dtype=np.float64) - self.center) / self.scale

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        X = np.asarray(Z, dtype=np.float64) * self.scale + self.center
        if self.log and any(self.log):
            for j in np.flatnonzero(self.log):
                X[:, j] = np.sign(X[:, j]) * np.expm1(np.abs(X[:, j]))
        return X

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "center": self.center.tolist(),
            "scale": self.scale.tolist(),
        }
        if self.log and any(self.log):
            d["log"] = [bool(v) for v in self.log]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scaler:
        return cls(
            kind=str(d["kind"]),
            center=np.asarray(d["center"], dtype=np.float64),
            scale=np.asarray(d["scale"], dtype=np.float64),
            log=tuple(bool(v) for v in d["log"]) if d.get("log") else None,
        )


def fit_scaler(X: np.ndarray, kind: str, log: tuple[bool, ...] | None = None) -> Scaler:
    """Learn scaling statistics from X of shape (n_customers, n_features).

    A feature with no spread keeps scale 1 (it is rejected earlier, at validation).
    ``log`` marks features transformed by ``sign(x) * log(1 + |x|)`` before scaling.

    Examples
    --------
    >>> s = fit_scaler(np.array([[0.0], [2.0]]), "standard")
    >>> s.transform(np.array([[0.0], [2.0]])).ravel().tolist()
    [-1.0, 1.0]
    """
    if kind not in SCALES:
        raise ConfigError(f"scale={kind!r} is not one of {', '.join(SCALES)}")
    X = np.asarray(X)
    if X.dtype != np.float32:
        X = np.asarray(X, dtype=np.float64)
    log = tuple(log) if log and any(log) else None
    X = Scaler("none", np.zeros(0), np.zeros(0), log)._log(X)
    d = X.shape[1]
    if kind == "none":
        center, scale = np.zeros(d), np.ones(d)
    elif kind == "standard" and X.dtype == np.float32:
        # Column by column in float64: exact statistics without a float64 copy of the table.
        cols = (np.asarray(X[:, j], dtype=np.float64) for j in range(d))
        center, scale = np.array([(c.mean(), c.std()) for c in cols]).reshape(d, 2).T
    elif kind == "standard":
        center, scale = X.mean(axis=0), X.std(axis=0)
    elif kind == "minmax":
        lo, hi = X.min(axis=0), X.max(axis=0)
        center, scale = lo, hi - lo
    else:
        q1, med, q3 = np.percentile(X, [25, 50, 75], axis=0)
        center, scale = med, q3 - q1
        # A feature whose middle half is constant falls back to its full range.
        flat = scale == 0
        scale = np.where(flat, X.max(axis=0) - X.min(axis=0), scale)
    scale = np.where(scale > 0, scale, 1.0)
    return Scaler(
        kind=kind, center=np.asarray(center, float), scale=np.asarray(scale, float), log=log
    )


def scaler_from_stats(stats: Any, kind: str, log: tuple[bool, ...] | None = None) -> Scaler:
    """The scaling :func:`fit_scaler` would learn, from an engine's column statistics
    (:class:`custseg.engines.contract.ColumnStats`) instead of the data in memory.

    ``log`` marks features whose statistics were taken on ``sign(x) * log(1 + |x|)``
    (the engine read them so): the scaler applies that transform before scaling.

    ``robust`` uses the engine's quartiles (exact locally, approximate in rank on a
    distributed engine).

    Examples
    --------
    >>> from custseg.engines.contract import ColumnStats
    >>> one = np.array([1.0])
    >>> stats = ColumnStats(n=2, mean=one, std=one, min=0 * one, max=2 * one)
    >>> scaler_from_stats(stats, "standard").transform(np.array([[0.0], [2.0]])).ravel().tolist()
    [-1.0, 1.0]
    """
    if kind not in SCALES:
        raise ConfigError(f"scale={kind!r} is not one of {', '.join(SCALES)}")
    d = len(stats.mean)
    if kind == "none":
        center, scale = np.zeros(d), np.ones(d)
    elif kind == "standard":
        center, scale = stats.mean, stats.std
    elif kind == "minmax":
        center, scale = stats.min, stats.max - stats.min
    else:
        center = stats.quantiles[0.5]
        scale = stats.quantiles[0.75] - stats.quantiles[0.25]
        scale = np.where(scale == 0, stats.max - stats.min, scale)
    scale = np.where(scale > 0, scale, 1.0)
    log = tuple(log) if log and any(log) else None
    return Scaler(
        kind=kind, center=np.asarray(center, float), scale=np.asarray(scale, float), log=log
    )
