"""The contract every data source fulfils: what the EM machinery may ask of the data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np

__all__ = ["DataSource", "missing_members"]

T = TypeVar("T")


@runtime_checkable
class DataSource(Protocol):
    """Rows of a data set, read in bounded pieces wherever they live.

    Attributes
    ----------
    n_samples : int
        Rows the source hands on.
    n_features : int
        Columns of each row.
    dtype : numpy.dtype
        Element type of the rows (float32 or float64).
    feature_names : ndarray of str or None
        Column names, where the source knows them.
    missing : str or None
        How the source treats missing values: ``"keep"`` when rows may hold NaN (an
        estimator must then marginalise them); anything else (None, ``"error"``,
        ``"drop"``) when every row it hands on is complete.
    """

    n_samples: int
    n_features: int
    dtype: np.dtype
    feature_names: np.ndarray | None
    missing: str | None

    def map_reduce(self, func: Callable[[np.ndarray, np.ndarray], T]) -> T:
        """``func(X_chunk, w_chunk) + func(...) + ...`` over every row in bounded chunks.

        ``func`` must return something that adds (a `Stats`, a NumPy array).
        """
        ...

    def map_concatenate(self, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``func(X_chunk)`` for every chunk, concatenated in row order (row-wise results)."""
        ...

    def initialization_sample(
        self, random_state: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(X, w)`` in memory for an initialiser: every row when the data is small,
        otherwise a bounded, reproducible random sample."""
        ...

    def batches(
        self, batch_rows: int, random_state: np.random.RandomState
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(X, w)`` batches of about ``batch_rows`` rows in a random order (mini-batch EM)."""
        ...

    def in_memory(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(X, w)`` when every row is already a NumPy array in memory, else None."""
        ...


#: What a class must define to be a `DataSource` (the protocol's members, in order).
_MEMBERS = (
    "n_samples",
    "n_features",
    "dtype",
    "feature_names",
    "missing",
    "map_reduce",
    "map_concatenate",
    "initialization_sample",
    "batches",
    "in_memory",
)


def missing_members(value: object) -> list[str]:
    """The `DataSource` members ``value`` lacks (empty for a complete source)."""
    return [name for name in _MEMBERS if not hasattr(value, name)]
