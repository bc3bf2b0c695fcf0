"""Parquet files as data sources, read in bounded record batches (never whole)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np

from .arrays import (
    INITIALIZATION_ROWS,
    default_threads,
    map_reduce_in_threads,
    sample_row_indices,
)
from .columns import can_be_feature
from .values import check_magnitude

__all__ = ["ParquetSource", "MissingValuesError", "CorruptParquetError", "import_parquet"]

T = TypeVar("T")

#: Rows decoded at a time when the caller does not choose.
DEFAULT_BATCH_ROWS = 65536
_READ_BUFFER_BYTES = 2**20


class MissingValuesError(ValueError):
    """A Parquet file's rows have values its source's ``missing`` rule does not accept."""


class CorruptParquetError(ValueError):
    """A Parquet file, or one of its row groups, cannot be read: the file is damaged."""


def _arrow_errors() -> tuple[type[BaseException], ...]:
    """The exceptions PyArrow raises on a damaged file (ArrowInvalid, thrift OSErrors)."""
    import pyarrow as pa

    return (pa.ArrowException, OSError)


def _damaged(path: str, what: str, exc: BaseException | str) -> CorruptParquetError:
    reason = " ".join(str(exc).split())  # PyArrow's messages span lines
    return CorruptParquetError(
        f"Parquet file {path!r}: {what} cannot be read ({reason}). The file is damaged "
        "(truncated or overwritten); write it again from its source, or leave it out."
    )


def _chunk_byte_range(column) -> tuple[int, int]:
    """First and last-plus-one byte of a column chunk, from the footer's metadata."""
    offsets = [column.data_page_offset]
    if column.has_dictionary_page and column.dictionary_page_offset:
        offsets.append(column.dictionary_page_offset)
    start = min(offsets)
    return start, start + column.total_compressed_size


def check_layout(path: str, metadata, columns: Sequence[str]) -> None:
    """Refuse a file whose footer describes rows or bytes the file does not hold.

    Every read column chunk of every row group must lie between the magic bytes at the
    start and the footer at the end, and the row groups' rows must add up to the
    file's; a file cut short behind an intact-looking footer, or a footer that lies,
    is caught here, before any row is read.

    Raises
    ------
    CorruptParquetError
        Naming the file and the first row group that cannot be read.
    """
    data_end = os.path.getsize(path) - metadata.serialized_size - 8
    total_rows = 0
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        if row_group.num_rows < 0:
            raise _damaged(path, f"row group {group}", f"it claims {row_group.num_rows} rows")
        total_rows += row_group.num_rows
        for index in range(row_group.num_columns):
            column = row_group.column(index)
            if column.path_in_schema not in columns:
                continue
            start, stop = _chunk_byte_range(column)
            if start < 4 or column.total_compressed_size < 0 or stop > data_end:
                raise _damaged(
                    path,
                    f"row group {group} of {metadata.num_row_groups} (column "
                    f"{column.path_in_schema!r})",
                    f"its data would lie at bytes {start}..{stop}, but the file's data "
                    f"ends at byte {data_end}",
                )
    if total_rows != metadata.num_rows:
        raise _damaged(
            path,
            "the footer",
            f"its row groups hold {total_rows} rows, but it counts {metadata.num_rows}",
        )


def import_parquet():
    """``pyarrow.parquet``, or an ImportError that says how to install it.

    Returns
    -------
    module
    """
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
    missing : {"error", "drop", "keep"}, default="error"
        Rows with a null or NaN feature (or weight): ``"error"`` refuses them when they
        are read; ``"drop"`` leaves them out; ``"keep"`` hands them on as NaN, for an
        estimator with ``missing="marginalize"``, and leaves out only rows with every
        feature missing (they carry no information). With ``"drop"`` and ``"keep"`` one
        counting pass over the file when the source is made sets ``n_samples``.

    Attributes
    ----------
    n_samples : int
        Rows the source hands on (after ``missing`` left some out).
    n_dropped : int
        Rows of the file left out by ``missing``.
    n_features : int
    feature_names : ndarray of str

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
        missing: str = "error",
    ):
        pq = import_parquet()
        if missing not in _MISSING_RULES:
            raise ValueError(
                f"missing must be one of {', '.join(_MISSING_RULES)}, got {missing!r}."
            )
        self.missing = missing
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise ValueError(f"Parquet file {self.path!r} does not exist; check the path.")
        if int(batch_rows) < 1:
            raise ValueError(f"batch_rows must be a positive integer, got {batch_rows!r}.")
        self.batch_rows = int(batch_rows)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype}.")
        try:
            file = pq.ParquetFile(self.path)
            schema = file.schema_arrow
        except _arrow_errors() as exc:
            raise _damaged(self.path, "the footer (the file's metadata)", exc) from exc
        available = list(schema.names)
        if columns is None:
            columns = [
                name
                for name in available
                if name != weight_column and can_be_feature(schema.field(name).type)
            ]
        columns = [str(c) for c in columns]
        absent = [
            c for c in [*columns, *([weight_column] if weight_column else [])] if c not in available
        ]
        if absent:
            raise ValueError(
                f"Columns {absent} are not in {self.path!r}; its columns are {available}."
            )
        not_numeric = [c for c in columns if not can_be_feature(schema.field(c).type)]
        if not_numeric or not columns:
            raise TypeError(
                f"Columns {not_numeric or columns} cannot be fitted: pass numeric columns "
                "with columns=[...]."
            )
        check_layout(self.path, file.metadata, self._columns_to_read(columns, weight_column))
        self.columns = columns
        self.weight_column = weight_column
        self.feature_names = np.asarray(columns, dtype=object)
        self.n_samples = int(file.metadata.num_rows)
        self.n_features = len(columns)
        self.n_row_groups = int(file.num_row_groups)
        self.n_dropped = 0
        if self.missing != "error":
            kept = sum(X.shape[0] for _, X, _ in self.numbered_batches())
            self.n_dropped = self.n_samples - kept
            self.n_samples = kept

    def __repr__(self) -> str:
        """The path and columns, for messages."""
        return f"ParquetSource({self.path!r}, columns={self.columns!r})"

    @staticmethod
    def _columns_to_read(columns, weight_column) -> list[str]:
        return [*columns, *([weight_column] if weight_column else [])]

    def _read_columns(self) -> list[str]:
        return self._columns_to_read(self.columns, self.weight_column)

    def _batches_in_order(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(X, w)`` for consecutive record batches, row group by row group."""
        for _, X, w in self.numbered_batches():
            yield X, w

    def numbered_batches(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(rows, X, w)`` for consecutive record batches, in file order.

        ``rows`` holds the 0-based row numbers in the file of the rows of ``X`` (numbers
        of rows that ``missing`` left out are absent; a batch may then be empty), for
        writing per-row results.
        """
        file = self._open()
        start = 0
        for group in range(self.n_row_groups):
            for batch in self._raw_batches(file, group, self.batch_rows):
                rows = np.arange(start, start + batch.num_rows)
                start += batch.num_rows
                X, w, kept = self._to_arrays(batch)
                yield (rows if kept is None else rows[kept]), X, w

    def _open(self):
        """The file, read through a small buffer (not a whole column chunk at once)."""
        try:
            return import_parquet().ParquetFile(
                self.path, buffer_size=_READ_BUFFER_BYTES, pre_buffer=False
            )
        except _arrow_errors() as exc:
            raise _damaged(self.path, "the footer (the file's metadata)", exc) from exc

    def _raw_batches(self, file, group: int, batch_rows: int):
        """The record batches of one row group; a decoding failure names the row group."""
        batches = file.iter_batches(
            batch_size=batch_rows, row_groups=[group], columns=self._read_columns()
        )
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except _arrow_errors() as exc:
                raise _damaged(self.path, f"row group {group} of {self.n_row_groups}", exc) from exc
            yield batch

    def _row_group_batches(self, file, group: int, batch_rows: int):
        for batch in self._raw_batches(file, group, batch_rows):
            X, w, _ = self._to_arrays(batch)
            yield X, w

    def _to_arrays(self, batch) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(X, w, kept)``: the batch's rows, weights and (with ``missing="drop"``) which
        of its rows were kept (None: all of them)."""
        X = np.empty((batch.num_rows, self.n_features), dtype=self.dtype)
        for j, name in enumerate(self.columns):
            X[:, j] = _column_values(batch.column(name), self.dtype)
        check_magnitude(X, self.n_samples, self.feature_names, where=repr(self.path))
        if self.weight_column is None:
            w = np.ones(batch.num_rows, dtype=self.dtype)
        else:
            w = _column_values(batch.column(self.weight_column), self.dtype)
            if np.any(np.isinf(w)) or np.any(w < 0):
                raise ValueError(
                    f"Weight column {self.weight_column!r} has negative or infinite "
                    "values; weights must be finite and >= 0."
                )
        return _MISSING_RULES[self.missing](self, X, w)

    def map_reduce(self, func: Callable[[np.ndarray, np.ndarray], T]) -> T:
        """``func(X_batch, w_batch)`` summed over the file's batches, in file order.

        The batches are read in the calling thread and computed on `default_threads`
        threads (``$GAUSSMIX_NUM_THREADS``), each with one BLAS thread, as the in-memory
        path does: a multi-threaded BLAS splitting every batch's small products ran
        several times slower under a competing load. At most one batch per thread waits
        besides those being computed, so memory stays a few batches.
        """
        n_batches = max(1, -(-self.n_samples // self.batch_rows))
        n_threads = min(default_threads(), n_batches)
        return map_reduce_in_threads(
            func, self._batches_in_order(), n_threads, max_pending=n_threads
        )

    def map_concatenate(self, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Concatenate ``func(X_batch)`` over the file's batches (row-wise outputs).

        The result is allocated once and filled batch by batch (no second copy).
        """
        result = None
        start = 0
        for X, _ in self._batches_in_order():
            values = np.asarray(func(X))
            if result is None:
                result = np.empty((self.n_samples, *values.shape[1:]), dtype=values.dtype)
            result[start : start + values.shape[0]] = values
            start += values.shape[0]
        if result is None or start != self.n_samples:
            raise ValueError(
                f"{self.path!r} gave {start} rows where {self.n_samples} were counted when "
                "the source was made; was the file changed since? Make a new source."
            )
        return result

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

    def in_memory(self) -> None:
        """None: the rows stay in the file."""
        return None

    def batches(self, batch_rows: int, random_state: np.random.RandomState):
        """Row groups in a random order, each cut into batches of ``batch_rows`` rows."""
        file = self._open()
        for group in random_state.permutation(self.n_row_groups):
            yield from self._row_group_batches(file, int(group), int(batch_rows))


def _columns_with(source: ParquetSource, X_bad: np.ndarray, w_bad: np.ndarray) -> list[str]:
    """Names of the columns (features, then the weight column) where a mask holds."""
    bad_columns = np.flatnonzero(X_bad.any(axis=0))
    names = [source.columns[int(j)] for j in bad_columns]
    if source.weight_column is not None and w_bad.any():
        names.append(source.weight_column)
    return names


def _refuse_missing(source: ParquetSource, X, w):
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(w))):
        columns = _columns_with(source, ~np.isfinite(X), ~np.isfinite(w))
        raise MissingValuesError(
            f"{source.path!r} has missing, NaN or infinite values in column(s) "
            f"{columns}; read it with missing='drop' to leave those rows "
            "out or missing='keep' for a model with missing='marginalize', or clean it."
        )
    return X, w, None


def _drop_missing(source: ParquetSource, X, w):
    kept = np.isfinite(X).all(axis=1) & np.isfinite(w)
    if kept.all():
        return X, w, None
    return X[kept], w[kept], kept


def _keep_missing(source: ParquetSource, X, w):
    if np.any(np.isinf(X)):
        columns = _columns_with(source, np.isinf(X), np.zeros(0, dtype=bool))
        raise MissingValuesError(
            f"{source.path!r} has infinite values in column(s) {columns}; only missing "
            "values (null or NaN) can be marginalised: fix or drop those rows."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(
            f"Weight column {source.weight_column!r} has missing values; give every row a weight."
        )
    observed = ~np.isnan(X).all(axis=1)
    if observed.all():
        return X, w, None
    return X[observed], w[observed], observed


#: What a batch's rows with missing values become, by the ``missing`` option.
_MISSING_RULES = {"error": _refuse_missing, "drop": _drop_missing, "keep": _keep_missing}


def _column_values(column, dtype) -> np.ndarray:
    """A column as floats, nulls as NaN."""
    return column.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
