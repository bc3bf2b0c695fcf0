"""Parquet data too large for memory: read in row batches, never whole.

``gaussmix fit`` and ``gaussmix predict`` read a Parquet file this way when its numeric
columns would take more than `IN_MEMORY_LIMIT_BYTES` as float64 (or when asked with
``--out-of-core``). Every pass over the data (the column moments, each EM iteration,
the anomaly threshold, the assignments) then reads one batch of rows at a time, and
``assignments.csv`` is written batch by batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._errors import CLIError

__all__ = [
    "IN_MEMORY_LIMIT_BYTES",
    "ChunkedTable",
    "reads_in_chunks",
    "open_chunked",
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
        The rows to fit (rows with missing values left out under ``--missing drop``).
    columns : list of str
        Feature columns, in order.
    moments : ColumnMoments
        Column means and standard deviations of ``source``'s rows (NaN left out).
    notes : list of str
        Remarks for the summary and the report.
    """

    source: object
    columns: list[str]
    moments: object
    notes: list[str] = field(default_factory=list)


def _parquet_module():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CLIError(
            "reading Parquet needs pyarrow; install it with pip install 'gaussmix[parquet]' "
            "or convert the data to CSV."
        ) from None
    return pq


def reads_in_chunks(path, out_of_core: bool | None) -> bool:
    """Whether DATA is read in batches: as asked, or (None) for large Parquet files."""
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
        metadata = _parquet_module().ParquetFile(path).metadata
    except Exception:  # no pyarrow, or not Parquet: the in-memory reader says so
        return False
    decoded = metadata.num_rows * metadata.num_columns * 8
    return decoded > IN_MEMORY_LIMIT_BYTES


def _feature_columns(schema, path: Path, columns: list[str] | None, notes: list[str]) -> list[str]:
    import pyarrow.types as pat

    def numeric(name):
        kind = schema.field(name).type
        return pat.is_integer(kind) or pat.is_floating(kind)

    names = list(schema.names)
    if columns is not None:
        absent = [c for c in columns if c not in names]
        if absent:
            raise CLIError(
                f"column(s) {', '.join(map(repr, absent))} not in {path.name}; its columns are "
                f"{', '.join(map(repr, names[:20]))}."
            )
        non_numeric = [c for c in columns if not numeric(c)]
        if non_numeric:
            raise CLIError(
                f"column(s) {', '.join(map(repr, non_numeric))} are not numeric; remove them "
                "from --columns (gaussmix models numeric features only)."
            )
        return list(columns)
    kept = [name for name in names if numeric(name)]
    dropped = [name for name in names if name not in kept]
    if dropped:
        notes.append(f"dropped non-numeric column(s): {', '.join(dropped)}")
    if not kept:
        raise CLIError(
            f"{path.name} has no numeric column; pass a table with numeric features "
            "(choose them with --columns)."
        )
    return kept


def open_chunked(path, columns: list[str] | None, missing: str) -> ChunkedTable:
    """Open a Parquet file for batch reading and scan it once (counts, means, spreads).

    Parameters
    ----------
    path : path-like
    columns : list of str or None
        Feature columns (default: every integer or floating-point column).
    missing : {"error", "drop", "marginalize"}
        The CLI's ``--missing``.
    """
    from ..engine.sources import ParquetSource
    from ..engine.sources.standardized import column_moments

    path = Path(path)
    if not path.exists():
        raise CLIError(f"data file {str(path)!r} does not exist; check the path.")
    pq = _parquet_module()
    try:
        schema = pq.ParquetFile(path).schema_arrow
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        raise CLIError(f"{path} is not a readable Parquet file ({exc}).") from None
    notes: list[str] = []
    names = _feature_columns(schema, path, columns, notes)

    def source(rule: str):
        return ParquetSource(path, names, batch_rows=BATCH_ROWS, missing=rule)

    try:
        scanned = source("keep")  # the first pass counts what is missing
        moments = column_moments(scanned)
    except ValueError as exc:  # infinite values
        raise CLIError(str(exc).replace("\n", " ")) from None
    if moments.n_missing_rows and missing == "error":
        worst = names[int(np.argmin(moments.counts))]
        raise CLIError(
            f"{moments.n_missing_rows} row(s) have missing values (e.g. column {worst!r}); "
            "pass --missing marginalize to fit the observed values, --missing drop to drop "
            "those rows, or clean the data."
        )
    if missing == "drop" and moments.n_missing_rows:
        notes.append(f"dropped {moments.n_missing_rows} row(s) with missing values")
        scanned = source("drop")
        moments = column_moments(scanned)
    elif missing == "error":
        scanned = source("error")
    if missing == "marginalize" and moments.n_missing_rows:
        notes.append(
            f"{moments.n_missing_values} missing value(s) in {moments.n_missing_rows} row(s) "
            "were marginalised (EM on each row's observed values; those rows are assigned "
            "from their observed values)"
        )
        if moments.n_empty_rows:
            notes.append(
                f"{moments.n_empty_rows} row(s) with every value missing were ignored by the "
                "fit (they are assigned by the mixing weights alone)"
            )
    if scanned.n_samples < 2:
        raise CLIError(
            f"{path.name} has {scanned.n_samples} usable row(s); gaussmix needs at least 2."
        )
    notes.append(
        f"read in batches of {BATCH_ROWS:,} rows (out of core): {scanned.n_samples:,} rows"
    )
    return ChunkedTable(scanned, names, moments, notes)


def write_assignments_in_batches(model, source, threshold, path, frame_of) -> tuple[int, int]:
    """Write ``assignments.csv`` batch by batch.

    ``frame_of(values)`` turns a batch of rows into the model's input (a DataFrame with
    its column names). Returns the rows written and the rows flagged as anomalies.
    """
    from ._outputs import assignments

    written = flagged = 0
    with open(path, "w", newline="") as handle:
        for rows, X, _ in source.numbered_batches():
            table = assignments(model, frame_of(np.asarray(X, dtype=np.float64)), rows, threshold)
            table.to_csv(handle, index=False, header=written == 0)
            written += len(table)
            flagged += int(table["anomaly"].sum()) if "anomaly" in table else 0
    return written, flagged
