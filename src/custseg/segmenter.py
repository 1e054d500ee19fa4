"""The scikit-learn estimator over the pipeline.

:class:`Segmenter` is a clusterer and a transformer in scikit-learn's sense: it
passes ``sklearn.utils.estimator_checks.check_estimator``, works in a
``Pipeline`` (after a ``ColumnTransformer``, say), is cloned and searched by
``GridSearchCV``. Its parameters are generated from the fields of
:class:`~custseg.config.SegmentationConfig` (``seed`` is called
``random_state`` here), so the estimator, the command line and the app offer
the same options.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import validate_data

from .config import SegmentationConfig, config_options, estimator_param
from .not_fitted import NotFittedError
from .pipeline import segment
from .results import SegmentationResult

# Column names given to the columns of a NumPy array (no names of its own).
ARRAY_COLUMN = "x{}"


def _init_signature() -> inspect.Signature:
    """``__init__(self, *, method="kmeans", k="auto", ...)``: one keyword per config field."""
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for name, _, default in config_options():
        params.append(
            inspect.Parameter(
                estimator_param(name), inspect.Parameter.KEYWORD_ONLY, default=default
            )
        )
    return inspect.Signature(params)


def _params_doc() -> str:
    lines = []
    for name, opt, default in config_options():
        lines.append(f"{estimator_param(name)} : default={default!r}")
        lines.append(f"    {opt.help}")
    return "\n    ".join(lines)


class Segmenter(ClusterMixin, TransformerMixin, BaseEstimator):
    """Segment customers, then assign new ones.

    Parameters are keyword-only and stored as given (``fit`` checks them);
    each is a field of :class:`~custseg.config.SegmentationConfig` and an
    option of ``custseg segment``.

    Parameters
    ----------
    {params}

    Attributes
    ----------
    result_ : SegmentationResult
        Segments with names, sizes, profiles and actions, and how k was chosen.
    model_ : SegmentModel
        What :meth:`predict` uses; ``model_.save(path)`` writes ``model.json``.
    labels_ : ndarray of shape (n_rows,)
        Segment of each input row as 0..k-1 (scikit-learn's convention), -1 for
        rows left out (missing values under ``missing="drop"``). Empty for a Spark
        run on a table longer than the driver's head: each customer's segment stays on
        Spark (``custseg.write_results`` has Spark write the ``assignments/`` folder).
    segment_ids_ : ndarray of shape (k,)
        The business id of each segment (1..k; ids kept from ``previous``),
        so ``segment_ids_[labels_]`` is the ``segment`` column of ``assignments.csv``.
    segment_names_ : ndarray of shape (k,)
        The name of each segment.
    cluster_centers_ : ndarray of shape (k, n_features_used)
        Each segment's mean of the features used (``features_``), in input units.
    features_ : tuple of str
        The columns clustered on.
    n_features_in_ : int
        Number of columns seen by ``fit``.
    feature_names_in_ : ndarray of str
        Their names, when ``fit`` was given a DataFrame with text column names.

    Notes
    -----
    :meth:`transform` and :meth:`score` work in the scaled feature space in
    which segments are formed (``scale``), like :meth:`predict`; scores of
    runs with different ``scale`` are not comparable.

    Examples
    --------
    >>> from custseg import Segmenter, make_customers
    >>> df = make_customers(300, seed=0)
    >>> seg = Segmenter(method="kmeans", k="auto", random_state=0).fit(df)
    >>> bool((seg.predict(df) == seg.labels_).all())
    True
    """

    def __init__(self, **params: Any) -> None:
        bound = _SIGNATURE.bind(self, **params)  # a TypeError names an unknown parameter
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # Missing values are input, not an error: rows with one are left out (label -1) or
        # imputed, as the `missing` parameter says. So check_estimators_nan_inf does not apply.
        tags.input_tags.allow_nan = True
        return tags

    # -- fitting -----------------------------------------------------------------------
    def _config(self) -> SegmentationConfig:
        values = {name: getattr(self, estimator_param(name)) for name, _, _ in config_options()}
        for name in ("features", "ignore"):
            names = values[name]
            if names is not None:
                # One column name is a column, not a sequence of letters.
                values[name] = (names,) if isinstance(names, str) else tuple(names)
        return SegmentationConfig(**values)

    def fit(self, X: Any, y: None = None) -> Segmenter:
        """Segment the customers in X.

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_rows, n_columns), or path to a table file
            A DataFrame may hold an id column and text columns (profiled, not
            clustered); an array's columns are all features.
        y : ignored

        Returns
        -------
        self
        """
        config = self._config()
        if isinstance(X, (str, os.PathLike)):
            result = segment(X, config)
            self.n_features_in_ = len(result.model.features)
            self.feature_names_in_ = np.asarray(result.model.features, dtype=object)
        elif isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True)  # n_features_in_, feature_names_in_
            result = segment(X, config)
        else:
            values = validate_data(
                self, X, dtype=np.float64, ensure_all_finite="allow-nan", ensure_min_samples=2
            )
            frame = self._array_frame(values)
            if config.features is None:
                config = replace(config, features=tuple(frame.columns))
            result = segment(frame, config)
        self._set_fitted(result)
        return self

    def _set_fitted(self, result: SegmentationResult) -> None:
        model = result.model
        self.result_ = result
        self.model_ = model
        self.features_ = tuple(model.features)
        self.segment_ids_ = model.segment_ids
        self.segment_names_ = np.array([s.name for s in model.segments], dtype=object)
        self.cluster_centers_ = np.array(
            [[s.centre[f] for f in model.features] for s in model.segments], dtype=np.float64
        )
        self.labels_ = self._positions(np.asarray(result.labels, dtype=np.int64))

    def _positions(self, segment_ids: np.ndarray) -> np.ndarray:
        """Business segment ids (0 = left out) -> 0..k-1 in ``segment_ids_`` order (-1)."""
        lookup = np.full(int(self.segment_ids_.max()) + 1, -1, dtype=np.int64)
        lookup[self.segment_ids_] = np.arange(len(self.segment_ids_))
        return lookup[segment_ids]

    # -- using the fit ---------------------------------------------------------------
    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                f"this Segmenter is not fitted yet; call fit(customers) before {method}"
            )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _array_frame(self, values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            values, columns=[ARRAY_COLUMN.format(j) for j in range(values.shape[1])]
        )

    def _frame(self, X: Any) -> pd.DataFrame:
        """New customers as a DataFrame with the columns the model reads."""
        if isinstance(X, pd.DataFrame) and hasattr(self, "feature_names_in_"):
            # Columns are found by name, as `custseg assign` does: other columns are ignored.
            return X
        if hasattr(self, "feature_names_in_"):
            values = validate_data(self, X, reset=False, dtype=None, ensure_all_finite="allow-nan")
            return pd.DataFrame(values, columns=list(self.feature_names_in_))
        values = validate_data(
            self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan"
        )
        return self._array_frame(values)

    def _scaled(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Scaled features of the rows that can be assigned, and which rows those are."""
        values, reasons = self.model_.feature_rows(self._frame(X))
        ok = reasons == ""
        return self.model_.scaler.transform(values[ok]), ok

    def predict(self, X: Any) -> np.ndarray:
        """Nearest segment of each row as 0..k-1 (-1 where a row cannot be assigned).

        ``segment_ids_[labels]`` gives business ids, ``segment_names_[labels]`` names.
        """
        self._check_fitted("predict")
        frame = self._frame(X)
        return self._positions(self.model_.predict(frame))

    def transform(self, X: Any) -> np.ndarray:
        """Distance of each row to each segment centre, shape (n_rows, k), in scaled units.

        Rows that cannot be assigned (missing values under ``missing="drop"``)
        get NaN.
        """
        self._check_fitted("transform")
        Xs, ok = self._scaled(X)
        out = np.full((len(ok), len(self.segment_ids_)), np.nan)
        diff = Xs[:, None, :] - self.model_.centres[None, :, :]
        out[ok] = np.sqrt((diff**2).sum(axis=2))
        return out

    def score(self, X: Any, y: None = None) -> float:
        """Opposite of the sum of squared distances to the nearest centre (higher is better).

        Rows that cannot be assigned do not count. Like k-means' ``score``, it
        grows with k: compare methods at a fixed k, or choose k with ``k="auto"``.
        """
        self._check_fitted("score")
        d = self.transform(X)
        assigned = ~np.isnan(d).all(axis=1)
        return -float((np.nanmin(d[assigned], axis=1) ** 2).sum()) if assigned.any() else 0.0


_SIGNATURE = _init_signature()
# scikit-learn reads the parameters from the signature of __init__ (get_params, clone).
Segmenter.__init__.__signature__ = _SIGNATURE  # type: ignore[attr-defined]
Segmenter.__doc__ = (Segmenter.__doc__ or "").replace("{params}", _params_doc())
