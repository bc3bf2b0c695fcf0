"""Reading the user's data (CSV, Parquet, .npy) into a numeric DataFrame, with notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np
import pandas as pd

from ..engine.data.columns import can_be_feature, is_feature_by_default
from ..engine.data.parquet import import_parquet
from ._errors import CLIError

__all__ = [
    "MISSING_CHOICES",
    "HEADER_CHOICES",
    "CsvLayout",
    "Table",
    "read_table",
    "parse_columns",
    "feature_columns",
    "parquet_module",
    "csv_layout_options",
]

_CSV_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": None}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
MISSING_CHOICES = ("error", "drop", "marginalize")
_NEEDS_PYARROW = (
    "reading Parquet needs pyarrow; install it with pip install 'gaussmix[parquet]' "
    "or convert the data to CSV."
)


def parquet_module():
    """``pyarrow.parquet``, or the CLI's one-line error saying how to get it."""
    try:
        return import_parquet()
    except ImportError:
        raise CLIError(_NEEDS_PYARROW) from None


@dataclass
class Table:
    """The numeric data the command works on."""

    data: pd.DataFrame
    row_ids: np.ndarray
    notes: list[str] = field(default_factory=list)


def parse_columns(text: str | None) -> list[str] | None:
    """``"a,b"`` -> ``["a", "b"]`` (None stays None)."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise CLIError("--columns is empty; pass column names separated by commas, e.g. a,b.")
    return names


def feature_columns(
    names: list[str], path: Path, columns: list[str] | None, notes: list[str], *, numeric, default
) -> list[str]:
    """The feature columns of a table with columns ``names``.

    Parameters
    ----------
    names : list of str
        The table's columns.
    path : Path
        The file, for messages.
    columns : list of str or None
        ``--columns``: these, which must exist and be ``numeric``; None takes every
        column that is a ``default`` feature and notes the others as dropped.
    notes : list of str
        Appended to.
    numeric, default : callable
        ``numeric(name)``, ``default(name)`` -> bool.

    Returns
    -------
    list of str
    """
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
    kept = [name for name in names if default(name)]
    dropped = [name for name in names if name not in kept]
    if dropped:
        notes.append(f"dropped non-numeric column(s): {', '.join(dropped)}")
    if not kept:
        raise CLIError(
            f"{path.name} has no numeric column; pass a table with numeric features "
            "(choose them with --columns)."
        )
    return kept


#: ``--header`` values: how the first line (after ``--skip-rows``) of a CSV is read.
HEADER_CHOICES = ("auto", "names", "none")


@dataclass(frozen=True)
class CsvLayout:
    """Where a text table's column names and rows start (``--header``, ``--skip-rows``).

    Attributes
    ----------
    header : {"auto", "names", "none"}
        ``auto``: the first line holds the column names, and a line that looks like
        data (a name that is a number) is refused; ``names``: it holds the names,
        whatever they look like; ``none``: there are no names (columns x1, x2, ...).
    skip_rows : int
        Lines to skip before it (a title, counts, comments).
    """

    header: str = "auto"
    skip_rows: int = 0

    @property
    def is_default(self) -> bool:
        """Whether neither option was given (the only layout non-text files accept)."""
        return self == CsvLayout()


def _looks_like_a_number(name: str) -> bool:
    try:
        float(name)
    except ValueError:
        return False
    return True


def _check_header(path: Path, frame: pd.DataFrame, layout: CsvLayout) -> None:
    """Refuse a first line that holds numbers where column names belong (``--header
    auto``): it is data or metadata, e.g. scikit-learn's raw iris.csv, whose first line
    ``150,4,setosa,versicolor,virginica`` would make the class label a feature."""
    numbers = [str(c) for c in frame.columns if _looks_like_a_number(str(c))]
    if layout.header != "auto" or not numbers:
        return
    line = ",".join(str(c) for c in frame.columns)
    line = line if len(line) <= 60 else line[:57] + "..."
    line_number = layout.skip_rows + 1
    raise CLIError(
        f"{path.name}: line {line_number}, {line!r}, has numbers where column names belong "
        f"({', '.join(numbers[:3])}); if it is not a header pass --skip-rows "
        f"{line_number} to skip it and --header none if the file has no names (columns "
        "become x1, x2, ...), or --header names to keep it as names."
    )


def _read_npy(path: Path, layout: CsvLayout) -> pd.DataFrame:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise CLIError(
            f"{path} is not a plain numeric .npy array ({exc}); save it with "
            "numpy.save from a numeric array."
        ) from None
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2 or not can_be_feature(array.dtype):
        raise CLIError(
            f"{path} holds a {array.ndim}-d {array.dtype} array; gaussmix needs a 2-d "
            "numeric array (rows x features)."
        )
    return pd.DataFrame(array, columns=[f"x{i + 1}" for i in range(array.shape[1])])


def _read_parquet(path: Path, layout: CsvLayout) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except ImportError:
        raise CLIError(_NEEDS_PYARROW) from None
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        raise CLIError(f"{path} is not a readable Parquet file ({exc}).") from None


def _read_text_table(path: Path, layout: CsvLayout) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            path,
            sep=_CSV_SUFFIXES[path.suffix.lower()],
            engine="python",
            skiprows=layout.skip_rows,
            header=None if layout.header == "none" else 0,
        )
    except UnicodeDecodeError:
        raise CLIError(f"{path} is not a text table (it is not UTF-8); pass a CSV file.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CLIError(f"{path} is not a readable table ({_first_line(exc)}).") from None
    if layout.header == "none":
        frame.columns = [f"x{i + 1}" for i in range(frame.shape[1])]
    _check_header(path, frame, layout)
    return frame


#: File extension -> reader of the whole file.
_READERS = {
    ".npy": _read_npy,
    **dict.fromkeys(_PARQUET_SUFFIXES, _read_parquet),
    **dict.fromkeys(_CSV_SUFFIXES, _read_text_table),
}


def _read_raw(path: Path, layout: CsvLayout) -> pd.DataFrame:
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise CLIError(
            f"cannot tell the format of {path} from its extension {suffix or '(none)'!r}; use "
            ".csv, .tsv, .txt, .parquet or .npy."
        )
    if suffix not in _CSV_SUFFIXES and not layout.is_default:
        raise CLIError(
            f"--header and --skip-rows describe text tables (.csv, .tsv, .txt); {path.name} "
            "has its own column names: drop those options."
        )
    return reader(path, layout)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def read_table(
    path, columns: list[str] | None = None, missing: str = "error", layout: CsvLayout | None = None
) -> Table:
    """Load DATA and keep its numeric columns.

    ``layout`` says where a text table's names and rows start; a first line with
    numbers where names belong is refused unless ``layout`` says how to read it.

    Non-numeric columns are dropped with a note unless ``columns`` names them, which
    is an error. Missing values are an error unless ``missing="drop"`` (rows with any
    missing value are dropped) or ``missing="marginalize"`` (they stay as NaN for a
    model fitted with ``missing="marginalize"``; rows with nothing observed are
    dropped, infinite values are an error). Either way a note says how many.
    """
    path = Path(path)
    if not path.exists():
        raise CLIError(f"data file {str(path)!r} does not exist; check the path.")
    if not path.is_file():
        raise CLIError(f"{str(path)!r} is not a file; pass a CSV, Parquet or .npy file.")
    if missing not in MISSING_CHOICES:
        raise CLIError(f"--missing must be one of {', '.join(MISSING_CHOICES)}.")
    raw = _read_raw(path, layout or CsvLayout())
    raw.columns = [str(c) for c in raw.columns]
    notes = []
    names = feature_columns(
        list(raw.columns),
        path,
        columns,
        notes,
        numeric=lambda c: can_be_feature(raw[c].dtype),
        default=lambda c: is_feature_by_default(raw[c].dtype),
    )
    data = raw[names]
    data = data.astype(np.float64)
    row_ids = np.arange(len(data))
    if missing == "marginalize":
        data, row_ids = _keep_missing_values(data, row_ids, notes)
    incomplete = data.isna().any(axis=1).to_numpy() | ~np.isfinite(data.to_numpy()).all(axis=1)
    if incomplete.any() and missing != "marginalize":
        if missing == "error":
            counts = data.isna().sum()
            worst = counts.idxmax()
            raise CLIError(
                f"{int(incomplete.sum())} row(s) have missing or infinite values (e.g. column "
                f"{worst!r}); pass --missing marginalize to fit the observed values, "
                "--missing drop to drop those rows, or clean the data."
            )
        notes.append(f"dropped {int(incomplete.sum())} row(s) with missing values")
        data = data[~incomplete]
        row_ids = row_ids[~incomplete]
    if len(data) < 2:
        raise CLIError(f"{path.name} has {len(data)} usable row(s); gaussmix needs at least 2.")
    return Table(data.reset_index(drop=True), row_ids, notes)


def _keep_missing_values(data: pd.DataFrame, row_ids: np.ndarray, notes: list[str]):
    """``--missing marginalize``: keep NaN, drop rows with nothing observed, refuse infinity."""
    values = data.to_numpy()
    infinite = np.isinf(values)
    if infinite.any():
        column = data.columns[int(infinite.any(axis=0).argmax())]
        raise CLIError(
            f"{int(infinite.sum())} value(s) are infinite (e.g. column {column!r}); "
            "--missing marginalize handles missing values only: remove or fix them."
        )
    missing = np.isnan(values)
    empty = missing.all(axis=1)
    if empty.any():
        notes.append(f"dropped {int(empty.sum())} row(s) with every value missing")
        data, row_ids, missing = data[~empty], row_ids[~empty], missing[~empty]
    if missing.any():
        notes.append(
            f"{int(missing.sum())} missing value(s) in {int(missing.any(axis=1).sum())} row(s) "
            "were marginalised (EM on each row's observed values; those rows are assigned "
            "from their observed values)"
        )
    return data, row_ids


def csv_layout_options(command):
    """The ``--header`` and ``--skip-rows`` options of a command that reads DATA."""
    command = click.option(
        "--skip-rows",
        type=click.IntRange(0, None),
        default=0,
        show_default=True,
        help="Lines to skip at the top of a CSV/TSV file (before its column names).",
    )(command)
    return click.option(
        "--header",
        type=click.Choice(HEADER_CHOICES),
        default="auto",
        show_default=True,
        help="CSV/TSV first line: auto = column names, refused if it looks like data; "
        "names = column names whatever they look like; none = no names (x1, x2, ...).",
    )(command)
