"""In-memory and memory-mapped arrays as data sources."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import numpy as np

from ..data import ArrayData, default_chunk_rows

__all__ = [
    "ArraySource",
    "MemmapSource",
    "INITIALIZATION_ROWS",
    "sample_row_indices",
    "batch_starts",
]

T = TypeVar("T")

#: Most rows an initialiser (k-means, ...) sees when the data is not an in-memory array.
INITIALIZATION_ROWS = 100_000


def sample_row_indices(
    n_samples: int, max_rows: int, random_state: np.random.RandomState
) -> np.ndarray:
    """Sorted indices of ``min(n_samples, max_rows)`` distinct rows drawn uniformly.

    Every row when there are at most ``max_rows`` (no random draw is spent then).
    Memory is O(max_rows) however many rows there are: indices are drawn with
    replacement and de-duplicated (topping up until there are enough), then a random
    subset of the distinct ones is kept; by symmetry every subset is equally likely.
    """
    if n_samples <= max_rows:
        return np.arange(n_samples)
    if n_samples <= 4 * max_rows:  # a permutation of few rows costs little
        return np.sort(random_state.choice(n_samples, size=max_rows, replace=False))
    chosen = np.unique(random_state.randint(0, n_samples, size=max_rows, dtype=np.int64))
    while chosen.size < max_rows:
        extra = random_state.randint(0, n_samples, size=2 * (max_rows - chosen.size),
                                      dtype=np.int64)
        chosen = np.unique(np.concatenate([chosen, extra]))
    if chosen.size > max_rows:
        chosen = np.sort(random_state.choice(chosen, size=max_rows, replace=False))
    return chosen


def batch_starts(
    n_samples: int, batch_rows: int, random_state: np.random.RandomState
) -> np.ndarray:
    """First rows of contiguous batches of ``batch_rows``, in a random order."""
    return random_state.permutation(np.arange(0, n_samples, batch_rows))


class ArraySource:
    """A NumPy array in memory, read in chunks sized for the E-step's temporaries.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated data (float32 or float64).
    sample_weight : ndarray of shape (n_samples,)
        Validated row weights.
    n_components : int
        Components of the model (sizes the chunks).

    Notes
    -----
    The initialisation sample is the whole array, so that in-memory fits start exactly
    where scikit-learn's do.
    """

    feature_names = None

    def __init__(self, X: np.ndarray, sample_weight: np.ndarray, n_components: int):
        self.X = X
        self.sample_weight = sample_weight
        # The longest chunks any kernel takes whole (the diagonal layout's); kernels with
        # costlier rows cut them further (`gaussmix.engine.data.summed_over_chunks`).
        self._data = ArrayData(X, sample_weight, default_chunk_rows(
            X.shape[1], n_components, X.itemsize, squares_layout=True))

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        """Number of columns."""
        return self.X.shape[1]

    @property
    def dtype(self) -> np.dtype:
        """Element type of the rows."""
        return self.X.dtype

    def map_reduce(self, func: Callable[[np.ndarray, np.ndarray], T]) -> T:
        """``func(X_chunk, w_chunk)`` summed over all chunks."""
        return self._data.map_reduce(func)

    def initialization_sample(self, random_state: np.random.RandomState):
        """All rows and weights."""
        return self.X, self.sample_weight

    def batches(
        self, batch_rows: int, random_state: np.random.RandomState
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Contiguous batches of ``batch_rows`` rows in a random order."""
        for start in batch_starts(self.n_samples, batch_rows, random_state):
            stop = start + batch_rows
            yield np.asarray(self.X[start:stop]), self.sample_weight[start:stop]


class MemmapSource(ArraySource):
    """A memory-mapped array (``np.memmap``, ``np.load(..., mmap_mode="r")``), read chunk by chunk.

    Only one chunk of rows is in memory at a time; the initialisation runs on at most
    `INITIALIZATION_ROWS` rows drawn at random (reproducibly, from
    ``random_state``).
    """

    def initialization_sample(self, random_state: np.random.RandomState):
        """A bounded random sample of rows (all rows if there are few)."""
        rows = sample_row_indices(self.n_samples, INITIALIZATION_ROWS, random_state)
        return np.asarray(self.X[rows]), self.sample_weight[rows]
