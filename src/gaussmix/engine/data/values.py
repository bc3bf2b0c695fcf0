"""Values that are not data: one magnitude check for every source.

EM sums squares of (centred) values over every row and feature. A value so large that
those sums would overflow the rows' float type is not a measurement: a unit error, or
(as in a Parquet page with 16 corrupted bytes) garbage that decodes without error. Every
source refuses such rows with the same message, naming the column, before they reach a
fit's statistics (in-memory arrays once, out-of-core sources chunk by chunk as they are
read).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ValueMagnitudeError", "magnitude_limit", "check_magnitude"]


class ValueMagnitudeError(ValueError):
    """A column holds values whose squares would overflow the sums a fit accumulates."""


def magnitude_limit(dtype, n_samples: int, n_features: int) -> float:
    """Largest absolute value whose second moments cannot overflow ``dtype``.

    ``sqrt(max_float / (n_samples * n_features)) / 2``: for a million rows of 16
    features about 2e15 in float32 and 2e150 in float64.
    """
    return float(np.sqrt(np.finfo(dtype).max / max(n_samples * n_features, 1)) / 2)


def _column_name(index: int, feature_names: Any) -> str:
    if feature_names is not None and len(feature_names) > index:
        return repr(str(feature_names[index]))
    return f"{index} (0-based)"


def check_magnitude(
    X: np.ndarray,
    n_samples: int | None = None,
    feature_names: Sequence[str] | np.ndarray | None = None,
    where: str = "X",
) -> None:
    """Refuse values whose second moments would overflow X's floating-point type.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Rows (all of them, or one chunk of a larger source). NaN and infinity are left
        to the missing-value checks.
    n_samples : int, optional
        Rows of the whole data set (the limit depends on it); default ``X.shape[0]``.
    feature_names : sequence of str, optional
        Column names for the message; columns are numbered otherwise.
    where : str, default="X"
        What holds the rows, for the message (e.g. a file name).

    Raises
    ------
    ValueMagnitudeError
        Naming the first column with such a value, the value and the limit.
    """
    if X.size == 0 or X.dtype.kind != "f":
        return
    n_samples = X.shape[0] if n_samples is None else int(n_samples)
    n_features = X.shape[1]
    limit = magnitude_limit(X.dtype, n_samples, n_features)
    highest, lowest = float(X.max()), float(X.min())  # no temporaries: the common case
    if np.isfinite(highest) and np.isfinite(lowest) and max(highest, -lowest) <= limit:
        return
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        largest = np.nanmax(np.where(np.isinf(X), np.nan, np.abs(X)), axis=0)
    too_large = np.flatnonzero(largest > limit)
    if too_large.size == 0:
        return
    column = int(too_large[0])
    others = f" (and {too_large.size - 1} other column(s))" if too_large.size > 1 else ""
    advice = (
        "pass float64 data (X.astype(numpy.float64)) or rescale it"
        if X.dtype == np.float32
        else "rescale it (e.g. divide by a constant or use StandardScaler)"
    )
    raise ValueMagnitudeError(
        f"{where} has values up to {float(largest[column]):.3g} in column "
        f"{_column_name(column, feature_names)}{others}; sums of their squares over "
        f"{n_samples} rows and {n_features} features would overflow {X.dtype} (limit about "
        f"{limit:.3g}): {advice}. If such values are not data (a unit error, a corrupted "
        "file), fix their source."
    )
