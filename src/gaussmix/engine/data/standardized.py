"""Standardising a data source on the fly: column moments in one pass, then ``(x - c) / s``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

__all__ = ["ColumnMoments", "column_moments", "StandardizedSource"]

T = TypeVar("T")


@dataclass(frozen=True)
class ColumnMoments:
    """Per-column counts, means and sample standard deviations of the observed values.

    Attributes
    ----------
    counts : ndarray of shape (n_features,)
        Observed (non-NaN) values per column.
    mean : ndarray of shape (n_features,)
    std : ndarray of shape (n_features,)
        Sample standard deviation (``ddof=1``); NaN for a column with fewer than two values.
    n_rows : int
        Rows seen.
    n_missing_rows : int
        Rows with at least one NaN.
    n_empty_rows : int
        Rows with every value NaN.
    """

    counts: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    n_rows: int
    n_missing_rows: int
    n_empty_rows: int

    @property
    def n_missing_values(self) -> int:
        """NaN values in all columns together."""
        return int(self.n_rows * self.counts.size - self.counts.sum())


@dataclass(frozen=True)
class _Partial:
    """Moments of some rows about their own column means (Chan et al.'s pairwise update)."""

    counts: np.ndarray
    mean: np.ndarray
    squares: np.ndarray  # sum of squared deviations from ``mean``
    rows: int
    missing_rows: int
    empty_rows: int

    def __add__(self, other: _Partial) -> _Partial:
        counts = self.counts + other.counts
        safe = np.where(counts > 0, counts, 1)
        delta = other.mean - self.mean
        mean = self.mean + delta * other.counts / safe
        squares = self.squares + other.squares + delta**2 * self.counts * other.counts / safe
        return _Partial(
            counts,
            mean,
            squares,
            self.rows + other.rows,
            self.missing_rows + other.missing_rows,
            self.empty_rows + other.empty_rows,
        )


def _chunk_moments(X: np.ndarray) -> _Partial:
    values = np.asarray(X, dtype=np.float64)
    observed = ~np.isnan(values)
    counts = observed.sum(axis=0)
    filled = np.where(observed, values, 0.0)
    mean = filled.sum(axis=0) / np.where(counts > 0, counts, 1)
    deviations = np.where(observed, values - mean, 0.0)
    missing_per_row = (~observed).sum(axis=1)
    return _Partial(
        counts,
        mean,
        np.einsum("nd,nd->d", deviations, deviations),
        values.shape[0],
        int(np.count_nonzero(missing_per_row)),
        int(np.count_nonzero(missing_per_row == values.shape[1])),
    )


def column_moments(source) -> ColumnMoments:
    """Means and standard deviations of a source's columns in one pass, NaN left out.

    Rows are counted once each, unweighted (a weight column does not change the
    standardisation). Chunks are combined by the pairwise update of Chan, Golub &
    LeVeque, which stays accurate for data far from the origin.

    Parameters
    ----------
    source : DataSource
        Anything with ``map_reduce(func)``.

    Returns
    -------
    ColumnMoments
    """
    total = source.map_reduce(lambda X, w: _chunk_moments(X))
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(total.squares / (total.counts - 1))
    std = np.where(total.counts > 1, std, np.nan)
    return ColumnMoments(
        total.counts.astype(np.int64),
        total.mean,
        std,
        total.rows,
        total.missing_rows,
        total.empty_rows,
    )


class StandardizedSource:
    """A data source whose rows are ``(x - center) / scale`` of another source's rows.

    Every chunk is transformed as it is read, so nothing is held beyond one chunk.

    Parameters
    ----------
    source : DataSource
        The rows to transform.
    center, scale : array-like of shape (n_features,)
        Subtracted, then divided by (``scale`` must be positive).
    """

    def __init__(self, source, center, scale):
        center = np.asarray(center, dtype=np.float64)
        scale = np.asarray(scale, dtype=np.float64)
        shape = (source.n_features,)
        if center.shape != shape or scale.shape != shape:
            raise ValueError(
                f"center and scale must have shape {shape}, got {center.shape} and {scale.shape}."
            )
        if not (np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError("scale must be finite and positive in every column.")
        self.source = source
        self.center = center
        self.scale = scale
        self.n_samples = source.n_samples
        self.n_features = source.n_features
        self.dtype = source.dtype
        self.feature_names = source.feature_names
        self.missing = source.missing

    def __repr__(self) -> str:
        """The wrapped source, for messages."""
        return f"StandardizedSource({self.source!r})"

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``(X - center) / scale`` in X's dtype."""
        dtype = X.dtype
        return ((X - self.center.astype(dtype)) / self.scale.astype(dtype)).astype(
            dtype, copy=False
        )

    def map_reduce(self, func: Callable[[np.ndarray, np.ndarray], T]) -> T:
        """``func`` over the transformed chunks, summed."""
        return self.source.map_reduce(lambda X, w: func(self.transform(X), w))

    def map_concatenate(self, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Concatenate ``func`` over the transformed chunks."""
        return self.source.map_concatenate(lambda X: func(self.transform(X)))

    def initialization_sample(self, random_state: np.random.RandomState):
        """The wrapped source's sample, transformed."""
        X, w = self.source.initialization_sample(random_state)
        return self.transform(X), w

    def in_memory(self) -> None:
        """None: rows are standardised as they are read."""
        return None

    def batches(self, batch_rows: int, random_state: np.random.RandomState):
        """The wrapped source's mini-batches, transformed."""
        for X, w in self.source.batches(batch_rows, random_state):
            yield self.transform(X), w

    def numbered_batches(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(rows, X, w)`` of the wrapped source, ``X`` transformed."""
        for rows, X, w in self.source.numbered_batches():
            yield rows, self.transform(X), w
