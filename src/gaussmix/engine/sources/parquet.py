"""Parquet files as data sources, read in bounded record batches (never whole)."""

from __future__ import annotations

import functools
import operator
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np

from .arrays import INITIALIZATION_ROWS, sample_row_indices

__all__ = ["ParquetSource"]

T = TypeVar("T")

#: Rows decoded at a time when the caller does not choose.
DEFAULT_BATCH_ROWS = 65536
_READ_BUFFER_BYTES = 2**20


def _import_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "Reading Parquet files needs PyArrow; install it with "
            "`pip install 'gaussmix[parquet]'`."
        ) from exc
    return pq


class ParquetSource:
    """Rows of a Parquet file, read batch by batch within each row group.

    Pass it to ``GaussianMixture.fit`` (or ``score``, ``bic``, ``aic``,
    ``partial_fit``) in place of an array: memory stays bounded by ``batch_rows`` rows
    whatever the file's size.

    Parameters
    ----------
    path : str or os.PathLike
        The Parquet file.
    columns : sequence of str, optional
        Feature columns, in order. Default: every numeric column except ``weight_column``.
    weight_column : str, optional
        Column of non-negative row weights.
    batch_rows : int, default=65536
        Rows decoded at a time (memory ~ ``batch_rows * n_features * 8`` bytes).
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Element type of the rows handed to the E-step.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, ParquetSource  # doctest: +SKIP
    >>> gm = GaussianMixture(3).fit(ParquetSource("big.parquet", columns=["x", "y"]))  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike,
        columns: Sequence[str] | None = None,
        *,
        weight_column: str | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        dtype=np.float64,
    ):
        pq = _import_parquet()
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise ValueError(f"Parquet file {self.path!r} does not exist; check the path.")
        if int(batch_rows) < 1:
            raise ValueError(f"batch_rows must be a positive integer, got {batch_rows!r}.")
        self.batch_rows = int(batch_rows)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype}.")
        file = pq.ParquetFile(self.path)
        schema = file.schema_arrow
        available = list(schema.names)
        if columns is None:
            columns = [
                name
                for name in available
                if name != weight_column and _is_numeric(schema.field(name).type)
            ]
        columns = [str(c) for c in columns]
        missing = [c for c in [*columns, *([weight_column] if weight_column else [])]
                   if c not in available]
        if missing:
            raise ValueError(
                f"Columns {missing} are not in {self.path!r}; its columns are {available}."
            )
        not_numeric = [c for c in columns if not _is_numeric(schema.field(c).type)]
        if not_numeric or not columns:
            raise TypeError(
                f"Columns {not_numeric or columns} cannot be fitted: pass numeric columns "
                "with columns=[...]."
            )
        self.columns = columns
        self.weight_column = weight_column
        self.feature_names = np.asarray(columns, dtype=object)
        self.n_samples = int(file.metadata.num_rows)
        self.n_features = len(columns)
        self.n_row_groups = int(file.num_row_groups)

    def __repr__(self) -> str:
        return f"ParquetSource({self.path!r}, columns={self.columns!r})"

    def _read_columns(self) -> list[str]:
        return [*self.columns, *([self.weight_column] if self.weight_column else [])]

    def _batches_in_order(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(X, w)`` for consecutive record batches, row group by row group."""
        file = self._open()
        for group in range(self.n_row_groups):
            yield from self._row_group_batches(file, group)

    def _open(self):
        """The file, read through a small buffer (not a whole column chunk at once)."""
        return _import_parquet().ParquetFile(self.path, buffer_size=_READ_BUFFER_BYTES,
                                             pre_buffer=False)

    def _row_group_batches(self, file, group: int):
        for batch in file.iter_batches(
            batch_size=self.batch_rows, row_groups=[group], columns=self._read_columns()
        ):
            yield self._to_arrays(batch)

    def _to_arrays(self, batch) -> tuple[np.ndarray, np.ndarray]:
        X = np.empty((batch.num_rows, self.n_features), dtype=self.dtype)
        for j, name in enumerate(self.columns):
            X[:, j] = _column_values(batch.column(name), self.dtype)
        if not np.all(np.isfinite(X)):
            raise ValueError(
                f"{self.path!r} has missing, NaN or infinite values in {self.columns}; "
                "drop or impute those rows before fitting."
            )
        if self.weight_column is None:
            return X, np.ones(batch.num_rows, dtype=self.dtype)
        w = _column_values(batch.column(self.weight_column), self.dtype)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(
                f"Weight column {self.weight_column!r} has negative, missing or infinite "
                "values; weights must be finite and >= 0."
            )
        return X, w

    def map_reduce(self, func: Callable[[np.ndarray, np.ndarray], T]) -> T:
        """``func(X_batch, w_batch)`` summed over the file's batches."""
        return functools.reduce(operator.add, (func(X, w) for X, w in self._batches_in_order()))

    def map_concatenate(self, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Concatenate ``func(X_batch)`` over the file's batches (row-wise outputs)."""
        return np.concatenate([func(X) for X, _ in self._batches_in_order()])

    def initialization_sample(self, random_state: np.random.RandomState):
        """At most `INITIALIZATION_ROWS` random rows, picked in one pass over the file."""
        rows = sample_row_indices(self.n_samples, INITIALIZATION_ROWS, random_state)
        X_parts, w_parts, start = [], [], 0
        for X, w in self._batches_in_order():
            stop = start + X.shape[0]
            lo, hi = np.searchsorted(rows, [start, stop])
            X_parts.append(X[rows[lo:hi] - start])
            w_parts.append(w[rows[lo:hi] - start])
            start = stop
        return np.concatenate(X_parts), np.concatenate(w_parts)

    def batches(self, batch_rows: int, random_state: np.random.RandomState):
        """Row groups in a random order, each cut into batches of ``batch_rows`` rows."""
        file = self._open()
        reader = ParquetSource.__new__(ParquetSource)
        reader.__dict__.update(self.__dict__, batch_rows=int(batch_rows))
        for group in random_state.permutation(self.n_row_groups):
            yield from reader._row_group_batches(file, int(group))


def _is_numeric(arrow_type) -> bool:
    import pyarrow.types as pat

    return bool(pat.is_integer(arrow_type) or pat.is_floating(arrow_type)
                or pat.is_boolean(arrow_type))


def _column_values(column, dtype) -> np.ndarray:
    """A column as floats, nulls as NaN."""
    return column.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
