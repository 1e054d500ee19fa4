"""The scikit-learn-style estimator over the pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .config import SegmentationConfig
from .errors import NotFittedError
from .model import SegmentModel
from .pipeline import segment
from .results import SegmentationResult


class Segmenter:
    """Segment customers, then assign new ones.

    Parameters are keyword-only and stored as given; see
    :class:`~custseg.config.SegmentationConfig` for their meaning
    (``previous="q1/model.json"`` keeps the ids and names of segments that
    persist from an earlier model).

    Attributes
    ----------
    result_ : SegmentationResult
        Segments with names, sizes, profiles and actions, and how k was chosen.
    model_ : SegmentModel
        What :meth:`predict` uses; ``model_.save(path)`` writes ``model.json``.
    labels_ : ndarray of shape (n_rows,)
        Segment id of each input row (0 for rows left out).

    Examples
    --------
    >>> from custseg import Segmenter, make_customers
    >>> df = make_customers(300, seed=0)
    >>> seg = Segmenter(method="kmeans", k="auto", random_state=0).fit(df)
    >>> bool((seg.predict(df) == seg.labels_).all())
    True
    """

    def __init__(
        self,
        *,
        method: str = "kmeans",
        k: int | str = "auto",
        k_min: int = 2,
        k_max: int = 10,
        k_rule: str = "auto",
        scale: str = "standard",
        missing: str = "auto",
        linkage: str = "ward",
        features: list[str] | tuple[str, ...] | None = None,
        id_column: str | None = None,
        random_state: int = 0,
        n_init: int = 10,
        engine: str = "local",
        playbook: str | None = None,
        previous: str | None = None,
        roles: str | dict | None = None,
        ignore: list[str] | tuple[str, ...] | None = None,
        transform: str = "auto",
        outliers: str = "flag",
    ) -> None:
        self.method = method
        self.k = k
        self.k_min = k_min
        self.k_max = k_max
        self.k_rule = k_rule
        self.scale = scale
        self.missing = missing
        self.linkage = linkage
        self.features = features
        self.id_column = id_column
        self.random_state = random_state
        self.n_init = n_init
        self.engine = engine
        self.playbook = playbook
        self.previous = previous
        self.roles = roles
        self.ignore = ignore
        self.transform = transform
        self.outliers = outliers

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _PARAMS}

    def set_params(self, **params: Any) -> Segmenter:
        for name, value in params.items():
            if name not in _PARAMS:
                raise ValueError(f"Segmenter has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def _config(self) -> SegmentationConfig:
        return SegmentationConfig(
            method=self.method,
            k=self.k,
            k_min=self.k_min,
            k_max=self.k_max,
            k_rule=self.k_rule,
            scale=self.scale,
            missing=self.missing,
            linkage=self.linkage,
            features=tuple(self.features) if self.features is not None else None,
            id_column=self.id_column,
            seed=self.random_state,
            n_init=self.n_init,
            engine=self.engine,
            playbook=self.playbook,
            previous=self.previous,
            roles=self.roles,
            ignore=tuple(self.ignore) if self.ignore is not None else None,
            transform=self.transform,
            outliers=self.outliers,
        )

    def fit(self, X: pd.DataFrame, y: None = None) -> Segmenter:
        """Segment the customers in X (a DataFrame, or a path to a table file)."""
        self.result_: SegmentationResult = segment(X, self._config())
        self.model_: SegmentModel = self.result_.model
        self.labels_: np.ndarray = self.result_.labels
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "this Segmenter is not fitted yet; call fit(customers) before predict"
            )

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Segment id of each row of X (0 where a row cannot be assigned)."""
        self._check_fitted()
        return self.model_.predict(X)

    def fit_predict(self, X: pd.DataFrame, y: None = None) -> np.ndarray:
        return self.fit(X).labels_

    def __repr__(self) -> str:
        defaults = Segmenter()
        changed = [
            f"{n}={getattr(self, n)!r}" for n in _PARAMS if getattr(self, n) != getattr(defaults, n)
        ]
        return f"Segmenter({', '.join(changed)})"


_PARAMS = (
    "method",
    "k",
    "k_min",
    "k_max",
    "k_rule",
    "scale",
    "missing",
    "linkage",
    "features",
    "id_column",
    "random_state",
    "n_init",
    "engine",
    "playbook",
    "previous",
    "roles",
    "ignore",
    "transform",
    "outliers",
)
