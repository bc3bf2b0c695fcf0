"""Which columns of a table can be features: one rule for every reader.

A column can be a feature when its values are numbers: signed or unsigned integers,
floating point, or booleans (read as 0 and 1). Text, categories, dates and complex
numbers cannot. When the user does not name the features, booleans are left out:
they are usually flags, not measurements; naming one makes it a feature.

The same rule holds wherever the rows come from: a CSV or Parquet file read whole into
a DataFrame, a Parquet file read in batches (`ParquetSource`), a ``.npy`` array, a Dask
array or DataFrame. A column's type may be given as a NumPy dtype, a pandas dtype
(extension types such as ``Int64`` and ``boolean`` included) or a PyArrow ``DataType``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "NUMERIC_KINDS",
    "DEFAULT_FEATURE_KINDS",
    "column_kind",
    "can_be_feature",
    "is_feature_by_default",
]

#: NumPy dtype kinds of the columns that can be features (bool, int, uint, float).
NUMERIC_KINDS = "biuf"
#: Kinds taken when the features are not named: numbers, not booleans.
DEFAULT_FEATURE_KINDS = "iuf"


def _arrow_kind(arrow_type) -> str:
    import pyarrow.types as pat

    kinds = (
        (pat.is_boolean, "b"),
        (pat.is_signed_integer, "i"),
        (pat.is_unsigned_integer, "u"),
        (pat.is_floating, "f"),
    )
    return next((kind for is_kind, kind in kinds if is_kind(arrow_type)), "O")


def column_kind(dtype: Any) -> str:
    """The NumPy kind character of a column type (``"O"`` when it has none).

    Parameters
    ----------
    dtype : numpy.dtype, pandas dtype, pyarrow.DataType or anything `numpy.dtype` accepts

    Returns
    -------
    str
        ``"b"``, ``"i"``, ``"u"``, ``"f"``, ``"c"``, ``"M"``, ... as `numpy.dtype.kind`.
    """
    if type(dtype).__module__.startswith("pyarrow"):
        return _arrow_kind(dtype)
    kind = getattr(dtype, "kind", None)
    if isinstance(kind, str):
        return kind
    try:
        return np.dtype(dtype).kind
    except TypeError:
        return "O"


def can_be_feature(dtype: Any) -> bool:
    """Whether a column of this type can be a feature (integer, floating or boolean).

    Parameters
    ----------
    dtype : numpy.dtype, pandas dtype or pyarrow.DataType

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> can_be_feature(np.dtype("bool")), can_be_feature(np.dtype("complex128"))
    (True, False)
    """
    return column_kind(dtype) in NUMERIC_KINDS


def is_feature_by_default(dtype: Any) -> bool:
    """Whether a column of this type is a feature when the features are not named.

    Integer and floating columns are; boolean columns (flags) are not, unless named.

    Parameters
    ----------
    dtype : numpy.dtype, pandas dtype or pyarrow.DataType

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> is_feature_by_default(np.dtype("int8")), is_feature_by_default(np.dtype("bool"))
    (True, False)
    """
    return column_kind(dtype) in DEFAULT_FEATURE_KINDS
