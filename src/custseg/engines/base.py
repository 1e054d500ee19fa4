"""The engine seam: the heavy steps of a segmentation, and a registry of engines."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..cluster.kmeans import KMeansFit
from ..errors import ConfigError


@dataclass(frozen=True)
class MicroClusters:
    """Summaries of groups of nearby customers: count, sum and sum of squares per group.

    ``labels`` maps each customer to its micro-cluster (0..m-1).
    """

    counts: np.ndarray
    sums: np.ndarray
    sumsq: np.ndarray
    labels: np.ndarray

    @property
    def centroids(self) -> np.ndarray:
        return self.sums / self.counts[:, None]

    @property
    def sse(self) -> np.ndarray:
        """Within-micro-cluster sum of squared distances to the centroid, per micro-cluster."""
        return self.sumsq.sum(axis=1) - (self.sums**2).sum(axis=1) / self.counts


@runtime_checkable
class Engine(Protocol):
    """The heavy steps. Arrays are (n_customers, n_features) in scaled units."""

    name: str

    def kmeans(
        self, X: np.ndarray, k: int, *, n_init: int, seed: int, init: np.ndarray | None = None
    ) -> KMeansFit:
        """Fit k-means with k segments."""
        ...

    def kmeans_sweep(
        self, X: np.ndarray, ks: list[int], *, n_init: int, seed: int
    ) -> dict[int, KMeansFit]:
        """Fit k-means for every k in ``ks``."""
        ...

    def assign(self, X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest centre of each customer and the Euclidean distance to it."""
        ...

    def summarise(self, X: np.ndarray, m: int, *, seed: int) -> MicroClusters:
        """Summarise customers into at most m micro-clusters."""
        ...

    def tree(self, X: np.ndarray, linkage: str, weights: np.ndarray | None = None) -> np.ndarray:
        """Agglomerative tree (SciPy linkage format) over points, optionally weighted."""
        ...

    def segment_sums(
        self, X: np.ndarray, labels: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-segment count, sum and sum of squares (profile aggregates)."""
        ...


_REGISTRY: dict[str, Callable[[], Engine]] = {}
# Engines in their own modules, imported only when asked for.
_LAZY = {"local": "custseg.engines.local"}


def register_engine(name: str, factory: Callable[[], Engine]) -> None:
    """Make an engine available under ``name``."""
    _REGISTRY[name] = factory


def available_engines() -> list[str]:
    return sorted(set(_REGISTRY) | set(_LAZY))


def get_engine(name: str) -> Engine:
    """The engine registered under ``name``; a clear error when it is unknown."""
    if name not in _REGISTRY and name in _LAZY:
        importlib.import_module(_LAZY[name])
    if name not in _REGISTRY:
        raise ConfigError(
            f"engine={name!r} is not available; choose one of {', '.join(available_engines())}"
        )
    return _REGISTRY[name]()
