"""Checks and repairs of rows of data shared by the estimators and model selection."""

from __future__ import annotations

import numpy as np

__all__ = ["fill_with_column_means", "refuse_infinity"]


def refuse_infinity(X) -> None:
    """Refuse infinite values among rows that may hold NaN for missing values."""
    if isinstance(X, np.ndarray) and np.isinf(X).any():
        raise ValueError(
            "X contains infinity; missing values must be NaN and every other value finite."
        )


def fill_with_column_means(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A copy of X with each NaN replaced by its column's weighted mean (0 if none)."""
    observed = ~np.isnan(X)
    column_weight = weights @ observed
    sums = weights @ np.where(observed, X, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(column_weight > 0, sums / column_weight, 0.0)
    return np.where(observed, X, means.astype(X.dtype))
