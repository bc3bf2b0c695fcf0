"""In-memory and memory-mapped arrays: chunked reading on a thread pool, and the sources over them."""

from __future__ import annotations

import collections
import contextlib
import contextvars
import functools
import operator
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from .chunks import _MIN_CHUNK_ROWS, default_chunk_rows
from .values import check_magnitude

__all__ = [
    "ArrayData",
    "available_cpus",
    "default_threads",
    "ArraySource",
    "MemmapSource",
    "INITIALIZATION_ROWS",
    "sample_row_indices",
    "batch_starts",
    "map_reduce_in_threads",
    "single_threaded_blas",
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
        extra = random_state.randint(
            0, n_samples, size=2 * (max_rows - chosen.size), dtype=np.int64
        )
        chosen = np.unique(np.concatenate([chosen, extra]))
    if chosen.size > max_rows:
        chosen = np.sort(random_state.choice(chosen, size=max_rows, replace=False))
    return chosen


def batch_starts(
    n_samples: int, batch_rows: int, random_state: np.random.RandomState
) -> np.ndarray:
    """First rows of contiguous batches of ``batch_rows``, in a random order."""
    return random_state.permutation(np.arange(0, n_samples, batch_rows))


#: With several threads, chunks are shortened to at most this fraction (1 / value) of
#: the length the kernels would use alone, and no further.
THREAD_CHUNK_FRACTION = 4

#: Most threads `ArrayData.map_reduce` uses by default.
_MAX_DEFAULT_THREADS = 8


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """Threads for chunked work: ``$GAUSSMIX_NUM_THREADS`` if set, else the CPUs (at most 8)."""
    configured = os.environ.get("GAUSSMIX_NUM_THREADS", "").strip()
    if configured:
        try:
            return max(1, int(configured))
        except ValueError:
            raise ValueError(
                f"GAUSSMIX_NUM_THREADS must be a positive integer, got {configured!r}; "
                "unset it to use every available CPU."
            ) from None
    return min(available_cpus(), _MAX_DEFAULT_THREADS)


@functools.lru_cache(maxsize=1)
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        return None
    return ThreadpoolController()


def single_threaded_blas():
    """A context in which the BLAS uses one thread (a no-op without threadpoolctl).

    One `ThreadpoolController`, made once per process, serves every call: making one
    scans the process's loaded libraries, which took milliseconds per call (as long as a
    whole small fit) when each k-means candidate made its own.
    """
    controller = _blas_controller()
    if controller is None:  # pragma: no cover
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def _add(total, value):
    return value if total is None else total + value


def map_reduce_in_threads(
    func: Callable[[np.ndarray, np.ndarray], T],
    chunks: Iterable[tuple[np.ndarray, np.ndarray]],
    n_threads: int,
    max_pending: int | None = None,
) -> T:
    """``func(X, w) + func(X, w) + ...`` over ``chunks``, on ``n_threads`` threads.

    The chunks are produced in the calling thread (a file is read there), a few at a time
    (at most ``max_pending + 1`` in flight, ``2 n_threads`` by default, so memory stays
    bounded), and the results are
    added in chunk order, so the sum does not depend on the threads. The BLAS uses one
    thread meanwhile: the cores work on different chunks instead of splitting each
    chunk's small products between them, which on a loaded machine is many times slower.
    Each call of ``func`` runs in a copy of the caller's context (``np.errstate`` applies).
    With ``n_threads`` 1 the chunks are computed in the calling thread, still with one
    BLAS thread.
    """
    context = contextvars.copy_context()
    total = None
    if n_threads <= 1:
        with single_threaded_blas():
            for X, w in chunks:
                total = _add(total, func(X, w))
        if total is None:
            raise ValueError("map_reduce_in_threads got no chunks.")
        return total
    max_pending = 2 * n_threads if max_pending is None else max(int(max_pending), 1)
    pending: collections.deque = collections.deque()
    with single_threaded_blas(), ThreadPoolExecutor(n_threads) as pool:
        for X, w in chunks:
            pending.append(pool.submit(context.copy().run, func, X, w))
            if len(pending) > max_pending:  # bounded: a few chunks in flight
                total = _add(total, pending.popleft().result())
        while pending:
            total = _add(total, pending.popleft().result())
    if total is None:
        raise ValueError("map_reduce_in_threads got no chunks.")
    return total


class ArrayData:
    """A 2-d array (NumPy or memory-mapped) with sample weights, read in row chunks.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
    chunk_rows : int
        Rows per chunk.
    n_threads : int, optional
        Threads that `map_reduce` runs chunks on; by default `default_threads` (the
        environment variable ``GAUSSMIX_NUM_THREADS``, else the available CPUs, at most
        8). Each chunk's matrix products then run single-threaded, so the cores work on
        different chunks instead of splitting small products between them (NumPy releases
        the GIL inside its kernels, so the element-wise work is spread too). With several
        threads, chunks are shortened when needed so that each thread gets at least two,
        but never below a quarter of ``chunk_rows`` (`THREAD_CHUNK_FRACTION`): small data
        stays one chunk, in the calling thread.
        ``1`` runs every chunk in the calling thread with the BLAS's own threads.
    """

    def __init__(
        self,
        X: np.ndarray,
        sample_weight: np.ndarray,
        chunk_rows: int,
        n_threads: int | None = None,
    ):
        self.X = X
        self.sample_weight = sample_weight
        self.n_threads = default_threads() if n_threads is None else int(n_threads)
        self.chunk_rows = int(chunk_rows)
        if self.n_threads > 1:  # no idle thread: at least two chunks each, if rows allow
            # ... but never below a quarter of the given length: shorter chunks carry too
            # little work for a thread pool (a 14-model x 9-K sweep on 5,000 rows split
            # into 1,250-row chunks took 11.6 s instead of 3.5 s).
            balanced = max(
                -(-X.shape[0] // (2 * self.n_threads)),
                _MIN_CHUNK_ROWS,
                self.chunk_rows // THREAD_CHUNK_FRACTION,
            )
            self.chunk_rows = max(1, min(self.chunk_rows, balanced))

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
        """``func(chunk) + func(chunk) + ...`` over all chunks, summed in chunk order.

        ``func`` must be a pure function of its chunk: with several threads, chunks run
        concurrently (each in a copy of the caller's context, so ``np.errstate`` applies).
        """
        n_chunks = -(-self.n_samples // self.chunk_rows)
        n_threads = min(self.n_threads, n_chunks)
        if n_threads <= 1:
            return functools.reduce(operator.add, (func(X, w) for X, w in self.chunks()))
        return map_reduce_in_threads(func, self.chunks(), n_threads)

    def map_concatenate(self, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Concatenate ``func(X_chunk)`` over all chunks (row-wise outputs)."""
        return np.concatenate([func(X) for X, _ in self.chunks()])


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
    missing = None

    def __init__(self, X: np.ndarray, sample_weight: np.ndarray, n_components: int):
        self.X = X
        self.sample_weight = sample_weight
        # The longest chunks any kernel takes whole (the diagonal layout's); kernels with
        # costlier rows cut them further (`gaussmix.engine.data.chunks.summed_over_chunks`).
        self._data = ArrayData(
            X,
            sample_weight,
            default_chunk_rows(X.shape[1], n_components, X.itemsize, squares_layout=True),
        )

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

    def map_concatenate(self, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``func(X_chunk)`` over all chunks, concatenated in row order."""
        return self._data.map_concatenate(func)

    def initialization_sample(self, random_state: np.random.RandomState):
        """All rows and weights."""
        return self.X, self.sample_weight

    def in_memory(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The rows and weights: this source holds them in memory."""
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

    def in_memory(self) -> None:
        """None: a memory map reads its rows from disk."""
        return None

    def _checked(self, X: np.ndarray) -> np.ndarray:
        """Rows as read, refused if they hold values that are not data (see `values`)."""
        check_magnitude(X, self.n_samples)
        return X

    def map_reduce(self, func: Callable[[np.ndarray, np.ndarray], T]) -> T:
        """``func(X_chunk, w_chunk)`` summed over all chunks, each checked as it is read."""
        return self._data.map_reduce(lambda X, w: func(self._checked(X), w))

    def initialization_sample(self, random_state: np.random.RandomState):
        """A bounded random sample of rows (all rows if there are few)."""
        rows = sample_row_indices(self.n_samples, INITIALIZATION_ROWS, random_state)
        return self._checked(np.asarray(self.X[rows])), self.sample_weight[rows]
