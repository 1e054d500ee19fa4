"""A realistic, seeded demo customer table (custseg ships no third-party data)."""

from __future__ import annotations

import numpy as np
import pandas as pd

# (share, age mean/sd, income mean/sd in k$, spending mean/sd, share female):
# five groups of unequal size and spread, like a shopping-mall customer base.
_GROUPS = (
    (0.38, 43, 13, 55, 8, 50, 6, 0.58),  # average income, average spending
    (0.20, 33, 4, 86, 12, 82, 9, 0.54),  # affluent, high spending
    (0.17, 41, 11, 88, 14, 17, 10, 0.46),  # affluent, low spending
    (0.13, 45, 13, 26, 7, 21, 13, 0.61),  # low income, low spending
    (0.12, 25, 5, 26, 7, 79, 10, 0.59),  # low income, high spending
)


def make_customers(n_rows: int = 1000, *, seed: int = 0) -> pd.DataFrame:
    """Generate a customer table with CustomerID, Gender, Age, income and spending score.

    Parameters
    ----------
    n_rows : int
        Number of customers (at least 10).
    seed : int
        Random seed; the same seed gives the same table.

    Returns
    -------
    DataFrame of shape (n_rows, 5)

    Examples
    --------
    >>> make_customers(200, seed=1).columns.tolist()
    ['CustomerID', 'Gender', 'Age', 'Annual Income (k$)', 'Spending Score (1-100)']
    """
    if n_rows < 10:
        raise ValueError(f"n_rows={n_rows} is too small for a demo; use at least 10")
    rng = np.random.default_rng(seed)
    shares = np.array([g[0] for g in _GROUPS])
    group = rng.choice(len(_GROUPS), size=n_rows, p=shares / shares.sum())
    params = np.array([g[1:] for g in _GROUPS], dtype=float)[group]
    age = rng.normal(params[:, 0], params[:, 1])
    income = rng.normal(params[:, 2], params[:, 3])
    spending = rng.normal(params[:, 4], params[:, 5])
    female = rng.random(n_rows) < params[:, 6]
    return pd.DataFrame(
        {
            "CustomerID": np.arange(1, n_rows + 1),
            "Gender": np.where(female, "Female", "Male"),
            "Age": np.clip(np.round(age), 18, 80).astype(int),
            "Annual Income (k$)": np.clip(np.round(income), 10, 160).astype(int),
            "Spending Score (1-100)": np.clip(np.round(spending), 1, 100).astype(int),
        }
    )
