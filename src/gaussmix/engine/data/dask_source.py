"""Dask arrays as data sources: statistics are computed where the blocks live.

Each call of `DaskSource.map_reduce` builds one small graph: ``func`` (which carries
the current parameters, K x d^2 numbers) enters it once as its own key, every block
is reduced to a `Stats` on the worker that holds it, and the partial results are
added in a tree (`SPLIT_EVERY` at a time) before one small value comes back to the
client. The rows themselves never travel to the client; persisted arrays stay where
they are. The graph runs on whatever scheduler is active: the threaded scheduler by
default, or a ``dask.distributed.Client`` when one has been created.
"""

from __future__ import annotations

import functools
import operator
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from .arrays import INITIALIZATION_ROWS, sample_row_indices, single_threaded_blas
from .columns import can_be_feature
from .values import check_magnitude
from .worker_settings import tune_worker_allocator

__all__ = [
    "DaskSource",
    "WorkersLostError",
    "as_dask_rows",
    "compute",
    "lazy_rowwise",
    "no_workers_timeout",
    "tree_reduce",
]

T = TypeVar("T")

#: How many partial results one reduction task adds.
SPLIT_EVERY = 8

#: Dask configuration key: seconds a fit waits while its cluster has no worker.
NO_WORKERS_TIMEOUT_KEY = "gaussmix.no-workers-timeout"
#: The wait when the key is not set.
DEFAULT_NO_WORKERS_TIMEOUT = 60.0
#: Seconds between two looks at the cluster while a computation runs.
_POLL_SECONDS = 0.25


class WorkersLostError(RuntimeError):
    """The Dask cluster of a computation has had no worker for longer than the wait."""


def no_workers_timeout() -> float:
    """Seconds a computation waits while its cluster has no worker.

    Dask's configuration key ``gaussmix.no-workers-timeout`` (seconds, or a duration
    such as ``"30s"``; also ``DASK_GAUSSMIX__NO_WORKERS_TIMEOUT`` in the environment),
    by default `DEFAULT_NO_WORKERS_TIMEOUT`.
    """
    import dask
    from dask.utils import parse_timedelta

    value = dask.config.get(NO_WORKERS_TIMEOUT_KEY, None)
    if value is None:
        return DEFAULT_NO_WORKERS_TIMEOUT
    seconds = parse_timedelta(value, default="seconds")
    if seconds is None or not seconds > 0:
        raise ValueError(
            f"Dask configuration {NO_WORKERS_TIMEOUT_KEY!r} must be a positive duration "
            f"(e.g. 60 or '1 minute'), got {value!r}."
        )
    return float(seconds)


def _distributed_client():
    """The ``dask.distributed`` client that ``dask.compute`` would use now, or None."""
    import sys

    if "distributed" not in sys.modules:
        return None
    import dask
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:  # no client
        return None
    scheduler = dask.base.get_scheduler()
    return client if scheduler == client.get else None


def compute(*collections):
    """``dask.compute(*collections)``, with a bounded wait on a cluster without workers.

    On the threaded (or any local) scheduler this is ``dask.compute``. With a
    ``dask.distributed`` client, the computation is submitted and watched: if the
    cluster has no worker for `no_workers_timeout` seconds in a row (every worker
    killed, the cluster scaled to zero), the computation is cancelled and
    `WorkersLostError` raised, instead of waiting forever. Killing some of the workers
    is survived as Dask survives it (their tasks are recomputed elsewhere).

    Raises
    ------
    WorkersLostError
        The cluster had no worker for longer than the wait.
    """
    dask, _ = _import_dask()
    client = _distributed_client()
    if client is None:
        return dask.compute(*collections)
    from distributed import TimeoutError as DistributedTimeout
    from distributed import wait

    timeout = no_workers_timeout()
    futures = client.compute(list(collections))
    finished = False
    try:
        no_workers_since = None
        while True:
            try:
                wait(futures, timeout=_POLL_SECONDS)
                break
            except (TimeoutError, DistributedTimeout):
                pass
            if client.nthreads():
                no_workers_since = None
                continue
            no_workers_since = no_workers_since or time.monotonic()
            if time.monotonic() - no_workers_since > timeout:
                raise WorkersLostError(
                    f"The Dask cluster at {client.scheduler.address} has had no worker for "
                    f"{timeout:g} s, so the computation was abandoned (a fit leaves the "
                    "estimator as it was). Start workers (or check why they died) and run "
                    f"it again; the wait is Dask's configuration {NO_WORKERS_TIMEOUT_KEY!r}."
                )
        results = client.gather(futures)
        finished = True
        return tuple(results)
    finally:
        if not finished:
            client.cancel(futures)


def _import_dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "Fitting Dask collections needs Dask; install it with `pip install 'gaussmix[dask]'`."
        ) from exc
    return dask, da


def as_dask_rows(X, n_features: int | None = None):
    """A 2-d floating Dask array with one chunk across the columns.

    Parameters
    ----------
    X : dask.array.Array or dask.dataframe.DataFrame
    n_features : int, optional
        Columns the data must have (the number seen in ``fit``).
    """
    _, da = _import_dask()
    if hasattr(X, "to_dask_array"):
        X = X.to_dask_array(lengths=True)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-d Dask array of shape (n_samples, n_features), got {X.ndim} "
            "dimension(s); reshape it, e.g. X.reshape(-1, 1) for a single feature."
        )
    if any(np.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            "The Dask array has unknown chunk sizes; call X.compute_chunk_sizes() first "
            "(or to_dask_array(lengths=True) on a DataFrame)."
        )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but the model was fitted with {n_features}; "
            "pass the same columns as in fit."
        )
    if not can_be_feature(X.dtype):
        raise TypeError(f"A Dask array of dtype {X.dtype} cannot be fitted; pass numeric columns.")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def _check_block(
    X: np.ndarray, allow_nan: bool = False, n_samples: int | None = None, feature_names=None
) -> np.ndarray:
    """A block's rows, refused if they hold NaN (unless allowed), infinity, or values too
    large to be data for a fit of ``n_samples`` rows (see `values.check_magnitude`)."""
    if n_samples is not None:
        check_magnitude(X, n_samples, feature_names)
    if allow_nan:
        if np.isinf(X).any():
            raise ValueError(
                "Input contains infinity; missing values must be NaN and every other value finite."
            )
        return X
    if not np.all(np.isfinite(X)):
        raise ValueError(
            "Input contains NaN or infinity; remove or impute those rows before fitting, "
            "or fit NaN as missing values with missing='marginalize'."
        )
    return X


def _check_weight_block(w: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            "sample_weight contains negative, NaN or infinite values; weights must be "
            "finite and >= 0."
        )
    return w


class _Carried:
    """A value that travels in a graph as one literal key (a bare callable would not)."""

    def __init__(self, value):
        self.value = value


def _apply(carried, X, w, allow_nan=False, n_samples=None, feature_names=None):
    tune_worker_allocator()  # once per worker process: undo the nanny's eager trimming
    func = carried.value
    X = _check_block(np.asarray(X), allow_nan, n_samples, feature_names)
    w = np.ones(X.shape[0], dtype=X.dtype) if w is None else _check_weight_block(np.asarray(w))
    return func(X, w)


def _add_all(parts):
    return functools.reduce(operator.add, parts)


def tree_reduce(parts: list, split_every: int = SPLIT_EVERY):
    """Add delayed values in a tree, ``split_every`` at a time; one delayed value comes back."""
    dask, _ = _import_dask()
    while len(parts) > 1:
        parts = [
            dask.delayed(_add_all, pure=True)(parts[i : i + split_every])
            for i in range(0, len(parts), split_every)
        ]
    return parts[0]


class DaskSource:
    """A Dask array (or DataFrame of numeric columns) with optional Dask or NumPy weights.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
    sample_weight : dask.array.Array, array-like or None
        Row weights; NumPy weights are split into the row chunks of ``X``.
    check_weights : callable, optional
        Validates weights held in memory: ``check_weights(w, n_samples, dtype)``.
    feature_names : ndarray of str, optional
        Column names (from a DataFrame).
    allow_nan : bool, default=False
        Let NaN (missing values) through the block checks, for an estimator with
        ``missing="marginalize"`` whose statistics marginalise them; infinity is
        refused either way.
    """

    def __init__(
        self, X, sample_weight=None, *, check_weights=None, feature_names=None, allow_nan=False
    ):
        self.X = as_dask_rows(X)
        self.feature_names = feature_names
        self.missing = None  # NaN, where allowed, is checked block by block (allow_nan)
        self.allow_nan = bool(allow_nan)
        self.sample_weight = self._weights(sample_weight, check_weights)

    @classmethod
    def from_dataframe(
        cls, frame, sample_weight=None, *, check_weights=None, allow_nan=False
    ) -> DaskSource:
        """A source over the numeric columns of a Dask DataFrame; column names are kept."""
        non_numeric = [str(c) for c, t in frame.dtypes.items() if not can_be_feature(t)]
        if non_numeric:
            raise TypeError(
                f"Columns {non_numeric} are not numeric; select numeric columns, e.g. "
                "frame[numeric_columns]."
            )
        columns = [str(c) for c in frame.columns]
        names = (
            np.asarray(columns, dtype=object)
            if all(isinstance(c, str) for c in frame.columns)
            else None
        )
        return cls(
            frame,
            sample_weight,
            check_weights=check_weights,
            feature_names=names,
            allow_nan=allow_nan,
        )

    def _weights(self, sample_weight, check_weights):
        _, da = _import_dask()
        if sample_weight is None:
            return None
        if hasattr(sample_weight, "to_dask_array"):
            sample_weight = sample_weight.to_dask_array(lengths=True)
        if isinstance(sample_weight, da.Array):
            if sample_weight.ndim != 1 or sample_weight.shape[0] != self.n_samples:
                raise ValueError(
                    f"sample_weight has shape {sample_weight.shape} but X has "
                    f"{self.n_samples} rows; pass one weight per row."
                )
            return sample_weight.astype(np.float64).rechunk((self.X.chunks[0],))
        if check_weights is not None:
            weights = check_weights(sample_weight, self.n_samples, np.float64)
        else:
            weights = np.asarray(sample_weight, dtype=np.float64)
        return da.from_array(weights, chunks=(self.X.chunks[0],))

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of columns."""
        return int(self.X.shape[1])

    @property
    def dtype(self) -> np.dtype:
        """Element type of the rows."""
        return self.X.dtype

    def _names(self) -> list[str] | None:
        return None if self.feature_names is None else [str(n) for n in self.feature_names]

    def _delayed_blocks(self):
        blocks = list(self.X.to_delayed().ravel())
        if self.sample_weight is None:
            return [(block, None) for block in blocks]
        return list(zip(blocks, self.sample_weight.to_delayed().ravel(), strict=True))

    def map_reduce(self, func: Callable[[np.ndarray, np.ndarray], T]) -> T:
        """``func(block, weights)`` on every block where it lives, added in a tree."""
        dask, _ = _import_dask()
        shared_func = dask.delayed(_Carried(func), pure=True, traverse=False)
        parts = [
            dask.delayed(_apply, pure=True)(
                shared_func, block, weights, self.allow_nan, self.n_samples, self._names()
            )
            for block, weights in self._delayed_blocks()
        ]
        # One BLAS thread where the blocks run in this process (Dask's threaded scheduler
        # runs one block per core); a nanny's worker processes start with one already.
        with single_threaded_blas():
            (total,) = compute(tree_reduce(parts))
        return total

    def initialization_sample(self, random_state: np.random.RandomState):
        """At most `INITIALIZATION_ROWS` random rows (and weights), fetched without the rest."""
        rows = sample_row_indices(self.n_samples, INITIALIZATION_ROWS, random_state)
        X_rows = self.X[rows]
        if self.sample_weight is None:
            (X_sample,) = compute(X_rows)
            X_sample = _check_block(
                np.asarray(X_sample), self.allow_nan, self.n_samples, self._names()
            )
            return X_sample, np.ones(len(rows), dtype=X_sample.dtype)
        X_sample, w_sample = compute(X_rows, self.sample_weight[rows])
        X_sample = _check_block(np.asarray(X_sample), self.allow_nan, self.n_samples, self._names())
        return X_sample, _check_weight_block(np.asarray(w_sample, dtype=X_sample.dtype))

    def map_concatenate(self, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``func(block)`` on every block where it lives, concatenated in row order."""
        (result,) = compute(lazy_rowwise(self.X, func))
        return np.asarray(result)

    def in_memory(self) -> None:
        """None: the rows live on the workers."""
        return None

    def batches(self, batch_rows, random_state):
        """Mini-batch EM would pull blocks to the client; Dask data is fitted by full EM."""
        raise TypeError(
            "batch_size is not supported for Dask input: full EM already runs on the "
            "workers chunk by chunk. Set batch_size=None, or call partial_fit once per block."
        )


def lazy_rowwise(X, func: Callable[[np.ndarray], np.ndarray]):
    """``func`` applied to every row block of a Dask array, lazily, chunked like ``X``.

    ``func`` maps an (n, d) block to an (n,) or (n, m) array; its output's trailing
    shape and dtype are read from a one-row probe.
    """
    probe = func(np.zeros((1, X.shape[1]), dtype=X.dtype))
    if probe.ndim == 1:
        return X.map_blocks(
            func, drop_axis=1, dtype=probe.dtype, meta=np.empty((0,), dtype=probe.dtype)
        )
    return X.map_blocks(
        func,
        chunks=(X.chunks[0], (probe.shape[1],)),
        dtype=probe.dtype,
        meta=np.empty((0, 0), dtype=probe.dtype),
    )
