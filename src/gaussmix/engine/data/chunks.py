"""How many rows a kernel takes at once, and kernels applied over bounded chunks of rows."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import TypeVar

import numpy as np

__all__ = [
    "default_chunk_rows",
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
    # Python ints: np.clip costs ~20 us a call, and every small E-step asks once.
    return min(max(int(rows), _MIN_CHUNK_ROWS), _MAX_CHUNK_ROWS)


def _even_parts(n_samples: int, rows: int) -> list[slice]:
    """Slices of at most ``rows`` rows covering ``n_samples``, of nearly equal length."""
    n_parts = -(-n_samples // rows)
    size = -(-n_samples // n_parts)
    return [slice(start, start + size) for start in range(0, n_samples, size)]


def summed_over_chunks(
    kernel: Callable[..., T], X: np.ndarray, sample_weight: np.ndarray, rows: int, *args
) -> T:
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


def concatenated_over_chunks(
    kernel: Callable[..., tuple[np.ndarray, ...]], X: np.ndarray, rows: int, *args
) -> tuple[np.ndarray, ...]:
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
