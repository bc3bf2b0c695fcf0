"""Where the rows come from: in-memory (or memory-mapped) arrays read in chunks."""

from __future__ import annotations

import collections
import contextlib
import contextvars
import functools
import operator
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

__all__ = [
    "ArrayData",
    "default_chunk_rows",
    "default_threads",
    "available_cpus",
    "summed_over_chunks",
    "concatenated_over_chunks",
]

T = TypeVar("T")

#: Bytes of temporaries one E-step chunk may use.
CHUNK_BUDGET_BYTES = 16 * 2**20
_MIN_CHUNK_ROWS = 256
_MAX_CHUNK_ROWS = 65536


def default_chunk_rows(
    n_features: int, n_components: int, itemsize: int = 8, squares_layout: bool = False
) -> int:
    """Rows per chunk so that the E-step's temporaries stay within `CHUNK_BUDGET_BYTES`.

    Parameters
    ----------
    n_features, n_components : int
    itemsize : int, default=8
        Bytes per value (4 for float32).
    squares_layout : bool, default=False
        False: the largest temporaries are the projected rows of full and tied forms
        (K x d per row) and a few (n x K) arrays of log-probabilities. True: the
        (2 d + 1)-row layout of diagonal and spherical forms, whose rows cost far less,
        so their chunks are longer (fewer, larger products).

    Returns
    -------
    int
    """
    if squares_layout:
        bytes_per_row = itemsize * (4 * n_features + 2 + 8 * n_components)
    else:
        bytes_per_row = itemsize * (
            2 * n_components * n_features + 4 * n_components + 2 * n_features
        )
    rows = CHUNK_BUDGET_BYTES // max(bytes_per_row, 1)
    return int(np.clip(rows, _MIN_CHUNK_ROWS, _MAX_CHUNK_ROWS))


def _even_parts(n_samples: int, rows: int) -> list[slice]:
    """Slices of at most ``rows`` rows covering ``n_samples``, of nearly equal length."""
    n_parts = -(-n_samples // rows)
    size = -(-n_samples // n_parts)
    return [slice(start, start + size) for start in range(0, n_samples, size)]


def summed_over_chunks(kernel: Callable[..., T], X: np.ndarray, sample_weight: np.ndarray,
                       rows: int, *args) -> T:
    """``kernel(X_part, w_part, *args)`` summed over parts of at most ``rows`` rows.

    Kernels call this on what a data source hands them, so that their temporaries stay
    bounded whatever the size of a source's batches or a Dask block.

    Parameters
    ----------
    kernel : callable
        ``kernel(X_part, w_part, *args)``, returning something that adds (a `Stats`).
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
    rows : int
        Most rows of a part (the kernel's `default_chunk_rows`); parts are of nearly
        equal length.
    *args
        Passed on to ``kernel``.

    Returns
    -------
    The sum of the parts' results (the single result when X fits in one part).
    """
    if X.shape[0] <= rows:
        return kernel(X, sample_weight, *args)
    parts = (kernel(X[part], sample_weight[part], *args) for part in _even_parts(X.shape[0], rows))
    return functools.reduce(operator.add, parts)


def concatenated_over_chunks(kernel: Callable[..., tuple[np.ndarray, ...]], X: np.ndarray,
                             rows: int, *args) -> tuple[np.ndarray, ...]:
    """``kernel(X_part, *args)`` (a tuple of per-row arrays) over bounded parts, joined.

    Parameters
    ----------
    kernel : callable
        ``kernel(X_part, *args)`` returning a tuple of arrays with one entry per row.
    X : ndarray of shape (n_samples, n_features)
    rows : int
        Most rows of a part.
    *args
        Passed on to ``kernel``.

    Returns
    -------
    tuple of ndarray
        Each array of the tuple concatenated over the parts, in row order.
    """
    if X.shape[0] <= rows:
        return kernel(X, *args)
    parts = [kernel(X[part], *args) for part in _even_parts(X.shape[0], rows)]
    return tuple(np.concatenate(pieces) for pieces in zip(*parts, strict=True))


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


def _single_threaded_blas():
    """A context in which the BLAS uses one thread (a no-op without threadpoolctl)."""
    controller = _blas_controller()
    if controller is None:  # pragma: no cover
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def _add(total, value):
    return value if total is None else total + value


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
            balanced = max(-(-X.shape[0] // (2 * self.n_threads)), _MIN_CHUNK_ROWS,
                           self.chunk_rows // THREAD_CHUNK_FRACTION)
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
        context = contextvars.copy_context()
        total = None
        pending: collections.deque = collections.deque()
        with _single_threaded_blas(), ThreadPoolExecutor(n_threads) as pool:
            for X, w in self.chunks():
                pending.append(pool.submit(context.copy().run, func, X, w))
                if len(pending) > 2 * n_threads:  # bounded: a few chunks in flight
                    total = _add(total, pending.popleft().result())
            while pending:
                total = _add(total, pending.popleft().result())
        return total

    def map_concatenate(self, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Concatenate ``func(X_chunk)`` over all chunks (row-wise outputs)."""
        return np.concatenate([func(X) for X, _ in self.chunks()])
