"""The two principal axes of the segment map (the report's and the app's scatter of segments).

Principal component analysis by the eigen-decomposition of the covariance matrix (the
features are few, the customers many: a d x d matrix), with scikit-learn's sign
convention (each axis points so that its largest loading is positive), so that the map
is the one ``sklearn.decomposition.PCA(n_components=2)`` draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PrincipalAxes:
    """mean: (d,); axes: (n_axes, d) unit loadings; explained: share of the variance of each."""

    mean: np.ndarray
    axes: np.ndarray
    explained: np.ndarray

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Coordinates (n, n_axes) of the rows of X on the axes."""
        return (np.asarray(X, dtype=np.float64) - self.mean) @ self.axes.T


def principal_axes(X: np.ndarray, n_axes: int = 2) -> PrincipalAxes:
    """The ``n_axes`` directions of largest variance of X (n, d), d >= n_axes.

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [2.0, 0.1], [4.0, -0.1], [6.0, 0.0]])
    >>> pa = principal_axes(X, 1)
    >>> np.round(pa.axes, 3).tolist(), round(float(pa.explained[0]), 4)
    [[1.0, 0.0]], 0.9985
    """
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    Xc = X - mean
    values, vectors = np.linalg.eigh(Xc.T @ Xc)
    order = np.argsort(values)[::-1][:n_axes]
    axes = vectors[:, order].T.copy()
    # scikit-learn's svd_flip (v-based): the largest absolute loading of each axis positive.
    biggest = axes[np.arange(len(axes)), np.argmax(np.abs(axes), axis=1)]
    axes *= np.where(biggest < 0, -1.0, 1.0)[:, None]
    total = float(np.clip(values, 0, None).sum())
    explained = np.clip(values[order], 0, None) / total if total > 0 else np.zeros(len(order))
    return PrincipalAxes(mean=mean, axes=axes, explained=explained)


__all__ = ["PrincipalAxes", "principal_axes"]
