"""Where the rows come from: in-memory (or memory-mapped) arrays read in chunks."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterator
from typing import TypeVar

import numpy as np

__all__ = ["ArrayData", "default_chunk_rows"]

T = TypeVar("T")

#: Bytes of temporaries one E-step chunk may use.
CHUNK_BUDGET_BYTES = 16 * 2**20
_MIN_CHUNK_ROWS = 256
_MAX_CHUNK_ROWS = 65536


def default_chunk_rows(n_features: int, n_components: int, itemsize: int = 8) -> int:
    """Rows per chunk so that the E-step's temporaries stay within `CHUNK_BUDGET_BYTES`.

    The largest temporaries are the projected rows (K x d per row) and a few
    (n x K) arrays of log-probabilities.
    """
    bytes_per_row = itemsize * (2 * n_components * n_features + 4 * n_components + 2 * n_features)
    rows = CHUNK_BUDGET_BYTES // max(bytes_per_row, 1)
    return int(np.clip(rows, _MIN_CHUNK_ROWS, _MAX_CHUNK_ROWS))


class ArrayData:
    """A 2-d array (NumPy or memory-mapped) with sample weights, read in row chunks.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
    chunk_rows : int
        Rows per chunk.
    """

    def __init__(self, X: np.ndarray, sample_weight: np.ndarray, chunk_rows: int):
        self.X = X
        self.sample_weight = sample_weight
        self.chunk_rows = int(chunk_rows)

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return self.X.shape[0]

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(X_chunk, weight_chunk)`` pairs covering all rows in order."""
        for start in range(0, self.n_samples, self.chunk_rows):
            stop = start + self.chunk_rows
            yield np.asarray(self.X[start:stop]), self.sample_weight[start:stop]

    def map_reduce(self, func: Callable[[np.ndarray, np.ndarray], T]) -> T:
        """``func(chunk) + func(chunk) + ...`` over all chunks."""
        return functools.reduce(operator.add, (func(X, w) for X, w in self.chunks()))

    def map_concatenate(self, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Concatenate ``func(X_chunk)`` over all chunks (row-wise outputs)."""
        return np.concatenate([func(X) for X, _ in self.chunks()])
