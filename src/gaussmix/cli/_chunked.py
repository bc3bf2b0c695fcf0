"""Parquet data too large for memory: read in row batches, never whole.

``gaussmix fit`` and ``gaussmix predict`` read a Parquet file this way when its numeric
columns would take more than `IN_MEMORY_LIMIT_BYTES` as float64 (or when asked with
``--out-of-core``). Every pass over the data (the column moments, each EM iteration,
the anomaly threshold, the assignments) then reads one batch of rows at a time, and
``assignments.csv`` is written batch by batch.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.data.columns import can_be_feature, is_feature_by_default
from ..engine.data.parquet import MissingValuesError, ParquetSource
from ..engine.data.standardized import ColumnMoments
from ._data import feature_columns, parquet_module
from ._errors import CLIError

__all__ = [
    "IN_MEMORY_LIMIT_BYTES",
    "ChunkedTable",
    "reads_in_chunks",
    "open_chunked",
    "numbered_sample",
    "missing_values_in_cli_terms",
    "write_assignments_in_batches",
]

#: Parquet files whose numeric columns decode to more than this are read in batches.
IN_MEMORY_LIMIT_BYTES = 1 << 30

#: Rows of a batch (memory per batch ~ rows x features x 8 bytes, plus Arrow's buffers).
BATCH_ROWS = 65_536

_PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass
class ChunkedTable:
    """A Parquet file read in batches, with what the command needs to know about it.

    Attributes
    ----------
    source : ParquetSource
        The rows to fit (rows with missing values left out under ``--missing drop``;
        rows with nothing observed left out under ``--missing marginalize``).
    columns : list of str
        Feature columns, in order.
    moments : ColumnMoments or None
        Column means and standard deviations of ``source``'s rows (NaN left out); None
        when the file was not scanned.
    notes : list of str
        Remarks for the summary and the report.
    """

    source: ParquetSource
    columns: list[str]
    moments: ColumnMoments | None
    notes: list[str] = field(default_factory=list)


def reads_in_chunks(path, out_of_core: bool | None) -> bool:
    """Whether DATA is read in batches.

    Parameters
    ----------
    path : path-like
        The data file.
    out_of_core : bool or None
        ``--out-of-core`` (True), ``--in-memory`` (False), or neither (None: Parquet
        files whose numeric columns exceed `IN_MEMORY_LIMIT_BYTES` as float64).

    Returns
    -------
    bool
    """
    path = Path(path)
    parquet = path.suffix.lower() in _PARQUET_SUFFIXES
    if out_of_core and not parquet:
        raise CLIError(
            f"--out-of-core reads Parquet files; convert {path.name} to Parquet (e.g. "
            "pandas.read_csv(...).to_parquet(...)) or leave the option out."
        )
    if out_of_core is not None or not parquet or not path.is_file():
        return bool(out_of_core)
    try:
        file = parquet_module().ParquetFile(path)
        schema = file.schema_arrow
        n_numeric = sum(is_feature_by_default(schema.field(name).type) for name in schema.names)
        decoded = file.metadata.num_rows * n_numeric * 8
    except Exception:  # no pyarrow, or not Parquet: the in-memory reader says so
        return False
    return decoded > IN_MEMORY_LIMIT_BYTES


@contextmanager
def missing_values_in_cli_terms(path, missing: str):
    """Turn a source's `MissingValuesError` into the CLI's one-line error."""
    try:
        yield
    except MissingValuesError:
        if missing == "marginalize":
            raise CLIError(
                f"{Path(path).name} has infinite values; --missing marginalize handles "
                "missing values only: pass --missing drop to drop those rows, or fix them."
            ) from None
        raise CLIError(
            f"{Path(path).name} has missing or infinite values; pass --missing marginalize "
            "to fit the observed values, --missing drop to drop those rows, or clean the data."
        ) from None


#: The CLI's --missing choices as ParquetSource's ``missing`` rules.
_SOURCE_RULES = {"error": "error", "drop": "drop", "marginalize": "keep"}


def open_chunked(
    path, columns: list[str] | None, missing: str, *, scan: bool = True
) -> ChunkedTable:
    """Open a Parquet file for batch reading; with ``scan``, one pass for the moments.

    Parameters
    ----------
    path : path-like
    columns : list of str or None
        Feature columns (default: every integer or floating-point column).
    missing : {"error", "drop", "marginalize"}
        The CLI's ``--missing``. Under ``"error"`` the scan refuses missing values.
    scan : bool, default=True
        Read the file once for column moments and missing-value counts (needed by
        ``fit``; ``predict`` only reads the rows it assigns).

    Returns
    -------
    ChunkedTable
    """
    from ..engine.data.standardized import column_moments

    path = Path(path)
    if not path.exists():
        raise CLIError(f"data file {str(path)!r} does not exist; check the path.")
    pq = parquet_module()
    try:
        schema = pq.ParquetFile(path).schema_arrow
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        raise CLIError(f"{path} is not a readable Parquet file ({exc}).") from None
    notes: list[str] = []
    names = feature_columns(
        list(schema.names),
        path,
        columns,
        notes,
        numeric=lambda name: can_be_feature(schema.field(name).type),
        default=lambda name: is_feature_by_default(schema.field(name).type),
    )
    with missing_values_in_cli_terms(path, missing):
        source = ParquetSource(path, names, batch_rows=BATCH_ROWS, missing=_SOURCE_RULES[missing])
        moments = column_moments(source) if scan else None
    if source.n_dropped and missing == "drop":
        notes.append(f"dropped {source.n_dropped} row(s) with missing values")
    if source.n_dropped and missing == "marginalize":
        notes.append(f"dropped {source.n_dropped} row(s) with every value missing")
    if moments is not None and moments.n_missing_rows:
        notes.append(
            f"{moments.n_missing_values} missing value(s) in {moments.n_missing_rows} row(s) "
            "were marginalised (EM on each row's observed values; those rows are assigned "
            "from their observed values)"
        )
    if source.n_samples < 2:
        raise CLIError(
            f"{path.name} has {source.n_samples} usable row(s); gaussmix needs at least 2."
        )
    notes.append(f"read in batches of {BATCH_ROWS:,} rows (out of core): {source.n_samples:,} rows")
    return ChunkedTable(source, names, moments, notes)


def numbered_sample(source, max_rows: int, random_state: np.random.RandomState) -> pd.DataFrame:
    """At most ``max_rows`` random rows of ``source``, indexed by their row numbers in the file.

    Parameters
    ----------
    source : ParquetSource or StandardizedSource
        Anything with ``n_samples``, ``feature_names`` and ``numbered_batches()``.
    max_rows : int
    random_state : numpy.random.RandomState

    Returns
    -------
    DataFrame
        One pass over the source; the index is named ``row``.
    """
    from ..engine.data.arrays import sample_row_indices

    positions = sample_row_indices(source.n_samples, max_rows, random_state)
    numbers, parts, start = [], [], 0
    for rows, X, _ in source.numbered_batches():
        stop = start + X.shape[0]
        lo, hi = np.searchsorted(positions, [start, stop])
        numbers.append(rows[positions[lo:hi] - start])
        parts.append(X[positions[lo:hi] - start])
        start = stop
    return pd.DataFrame(
        np.concatenate(parts).astype(np.float64, copy=False),
        columns=list(source.feature_names),
        index=pd.Index(np.concatenate(numbers), name="row"),
    )


def write_assignments_in_batches(model, source, threshold, path, frame_of) -> tuple[int, int]:
    """Write ``assignments.csv`` batch by batch.

    Parameters
    ----------
    model : fitted mixture
    source : ParquetSource or StandardizedSource
        The rows to assign, read with ``numbered_batches()``.
    threshold : float or None
        Anomaly threshold (log-density).
    path : path-like
    frame_of : callable
        ``frame_of(values)`` turns a batch of rows into the model's input (a DataFrame
        with its column names).

    Returns
    -------
    rows_written, rows_flagged : int
    """
    from ._outputs import assignments

    written = flagged = 0
    header = True
    with open(path, "w", newline="") as handle:
        for rows, X, _ in source.numbered_batches():
            if X.shape[0] == 0:  # every row of the batch was left out
                continue
            table = assignments(model, frame_of(np.asarray(X, dtype=np.float64)), rows, threshold)
            table.to_csv(handle, index=False, header=header)
            header = False
            written += len(table)
            flagged += int(table["anomaly"].sum()) if "anomaly" in table else 0
    return written, flagged
