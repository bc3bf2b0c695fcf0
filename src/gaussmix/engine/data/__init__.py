"""Data sources: where the rows of an EM fit come from.

Every source fulfils one contract, `DataSource` (see `protocol`), so the EM driver,
mini-batch EM and ``partial_fit`` never ask where the data lives: arrays and memory maps
(`arrays`), Parquet files (`parquet`), Dask collections (`dask_source`), any of them
standardised on the fly (`standardized`). `chunks` sizes the pieces a kernel takes.

`as_data_source` turns what a user passes to ``fit`` into a source by the first entry
of `SOURCE_ADAPTERS` that accepts it; adding a kind of input is adding one entry.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .arrays import INITIALIZATION_ROWS, ArraySource, MemmapSource
from .parquet import CorruptParquetError, MissingValuesError, ParquetSource
from .protocol import DataSource, missing_members
from .values import ValueMagnitudeError

__all__ = [
    "DataSource",
    "SourceAdapter",
    "SOURCE_ADAPTERS",
    "as_data_source",
    "is_dask_collection",
    "is_data_source",
    "keeps_missing_values",
    "require_complete_source",
    "INITIALIZATION_ROWS",
    "ArraySource",
    "MemmapSource",
    "ParquetSource",
    "MissingValuesError",
    "CorruptParquetError",
    "ValueMagnitudeError",
]


def _loaded_type(module: str, name: str) -> type | None:
    """``module.name`` if that module is already imported (no import otherwise)."""
    return getattr(sys.modules.get(module), name, None)


def _is_instance(value: Any, module: str, name: str) -> bool:
    cls = _loaded_type(module, name)
    return cls is not None and isinstance(value, cls)


def is_dask_array(value: Any) -> bool:
    """Whether ``value`` is a ``dask.array.Array`` (without importing dask)."""
    return _is_instance(value, "dask.array", "Array")


def is_dask_dataframe(value: Any) -> bool:
    """Whether ``value`` is a ``dask.dataframe.DataFrame`` (without importing dask)."""
    return _is_instance(value, "dask.dataframe", "DataFrame")


def is_dask_collection(value: Any) -> bool:
    """Whether ``value`` is a Dask array or a Dask DataFrame."""
    return is_dask_array(value) or is_dask_dataframe(value)


def is_data_source(value: Any) -> bool:
    """Whether ``value`` is meant as a data source (it has ``map_reduce``).

    Whether it fulfils the whole `DataSource` contract is checked when it is used
    (`as_data_source`), so an incomplete one gets a message naming what it lacks.
    """
    return hasattr(value, "map_reduce") and not isinstance(value, np.ndarray)


def require_complete_source(value: Any) -> DataSource:
    """``value`` itself, if it implements the whole `DataSource` contract.

    Raises
    ------
    TypeError
        Naming the members it lacks.
    """
    lacking = missing_members(value)
    if lacking:
        raise TypeError(
            f"{type(value).__name__} is not a complete data source: it lacks "
            f"{', '.join(lacking)}. A data source implements gaussmix.engine.data.DataSource "
            "(see docs/architecture.md); or pass the rows as an array."
        )
    return value


def keeps_missing_values(source: DataSource) -> bool:
    """Whether a source hands rows with NaN on (e.g. ``ParquetSource(missing="keep")``)."""
    return require_complete_source(source).missing == "keep"


@dataclass(frozen=True)
class SourceAdapter:
    """One kind of input: how to recognise it and how to turn it into a source.

    Parameters
    ----------
    name : str
        What the input is, for messages.
    accepts : callable
        ``accepts(X) -> bool``.
    build : callable
        ``build(X, sample_weight, n_components, check_array, check_weights, allow_nan)
        -> DataSource``.
    """

    name: str
    accepts: Callable[[Any], bool]
    build: Callable[..., DataSource]


def _build_existing_source(X, sample_weight, n_components, check_array, check_weights, allow_nan):
    require_complete_source(X)
    if sample_weight is not None:
        raise TypeError(
            f"sample_weight cannot be given with a {type(X).__name__}; name a weight column "
            "in the source instead (e.g. ParquetSource(path, weight_column='w'))."
        )
    return X


def _build_dask_array(X, sample_weight, n_components, check_array, check_weights, allow_nan):
    from .dask_source import DaskSource

    return DaskSource(X, sample_weight, check_weights=check_weights, allow_nan=allow_nan)


def _build_dask_dataframe(X, sample_weight, n_components, check_array, check_weights, allow_nan):
    from .dask_source import DaskSource

    return DaskSource.from_dataframe(
        X, sample_weight, check_weights=check_weights, allow_nan=allow_nan
    )


def _build_memmap(X, sample_weight, n_components, check_array, check_weights, allow_nan):
    X = check_array(X)
    if sample_weight is None:  # unit weights as a read-only view: no O(n_samples) array
        weights = np.broadcast_to(np.ones(1, dtype=X.dtype), X.shape[:1])
    else:
        weights = check_weights(sample_weight, X.shape[0], X.dtype)
    return MemmapSource(X, weights, n_components)


def _build_array(X, sample_weight, n_components, check_array, check_weights, allow_nan):
    X = check_array(X)
    return ArraySource(X, check_weights(sample_weight, X.shape[0], X.dtype), n_components)


#: Kinds of input in the order they are tried; the last accepts any array-like.
SOURCE_ADAPTERS: list[SourceAdapter] = [
    SourceAdapter("data source", is_data_source, _build_existing_source),
    SourceAdapter("Dask array", is_dask_array, _build_dask_array),
    SourceAdapter("Dask DataFrame", is_dask_dataframe, _build_dask_dataframe),
    SourceAdapter("NumPy memmap", lambda X: isinstance(X, np.memmap), _build_memmap),
    SourceAdapter("array-like", lambda X: True, _build_array),
]


def _no_check_array(X):
    return np.asarray(X)


def as_data_source(
    X,
    sample_weight=None,
    *,
    n_components: int = 1,
    check_array: Callable[[Any], np.ndarray] = _no_check_array,
    check_weights: Callable[..., np.ndarray] | None = None,
    allow_nan: bool = False,
) -> DataSource:
    """The data source for ``X``, chosen by the first adapter in `SOURCE_ADAPTERS` that accepts it.

    Parameters
    ----------
    X : array-like, numpy.memmap, dask.array.Array, dask.dataframe.DataFrame or DataSource
        The data.
    sample_weight : array-like of shape (n_samples,), dask array or None
        Row weights.
    n_components : int, default=1
        Components of the model, used to size in-memory chunks.
    check_array : callable, default=numpy.asarray
        Validates and converts in-memory array-likes (the estimator passes scikit-learn's
        ``validate_data``, which records feature names).
    check_weights : callable, optional
        ``check_weights(sample_weight, n_samples, dtype) -> ndarray``: validates weights
        held in memory. By default None means unit weights and others are taken as given.
    allow_nan : bool, default=False
        Whether NaN (missing values, for ``missing="marginalize"``) may pass the checks
        of sources that check their blocks themselves (Dask); in-memory arrays are
        checked by ``check_array``.

    Returns
    -------
    DataSource
    """
    check_weights = check_weights or _unchecked_weights
    adapter = next(adapter for adapter in SOURCE_ADAPTERS if adapter.accepts(X))
    return adapter.build(X, sample_weight, n_components, check_array, check_weights, allow_nan)


def _unchecked_weights(sample_weight, n_samples, dtype):
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    return np.asarray(sample_weight, dtype=dtype)
