"""Scale-out glue of the estimators: data sources in, lazy results out, streaming EM.

The parts of the estimators that depend on where the data lives (a NumPy array, a
memory map, a Dask collection, a Parquet file) are here: mixins for what records
state on the estimator, free functions for what only reads it (each dispatched
through a short table rather than a chain of type tests):

- `SourceReadingMixin`: what ``fit`` / ``partial_fit`` read (and the features
  ``fit`` records),
- `inference_rows` and `map_rows`: what ``predict``, ``score_samples``, ... read and
  return (lazy Dask arrays for Dask input),
- `total_log_likelihood`: ``score``, ``bic`` and ``aic`` without materialising
  per-row results of out-of-core data,
- `OnlineEMMixin` (``partial_fit``) and `MinibatchRunner`: online EM (Cappé &
  Moulines 2009).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from ..checks.parameters import (
    Rule,
    check_sample_weight,
    integer,
    missing_values_explained,
    numeric_columns_required,
    validate_parameters,
)
from ..engine.core.em import EMMonitor, EMResult
from ..engine.core.estep import chunk_statistics, log_responsibilities
from ..engine.core.mstep import m_step
from ..engine.core.noise import noise_m_step
from ..engine.core.stats import Stats
from ..engine.core.stepwise import blend, run_minibatch_em, step_size
from ..engine.covariance.forms import SingularCovarianceError
from ..engine.data import (
    ArraySource,
    as_data_source,
    is_dask_array,
    is_dask_collection,
    is_data_source,
    keeps_missing_values,
)
from ..engine.data.arrays import ArrayData
from ..engine.data.chunks import default_chunk_rows

__all__ = [
    "STREAMING_RULES",
    "SourceReadingMixin",
    "OnlineEMMixin",
    "inference_rows",
    "map_rows",
    "total_log_likelihood",
    "MinibatchRunner",
]

#: The float dtypes the estimators compute in (others are converted to the first).
FLOAT_DTYPES = [np.float64, np.float32]

#: Rules of the streaming parameters (merged into an estimator's ``_rules``).
STREAMING_RULES = {
    "batch_size": Rule(lambda v: v is None or integer(1).accepts(v), "None or an integer >= 1"),
    "learning_offset": Rule(
        lambda v: (
            isinstance(v, (int, float, np.number))
            and not isinstance(v, bool)
            and np.isfinite(v)
            and v >= 0
        ),
        "a finite number >= 0",
    ),
    "learning_decay": Rule(
        lambda v: (
            isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and 0.5 < v <= 1
        ),
        "a number in (0.5, 1]",
    ),
}


# ---------------------------------------------------------------------- reading data
def _check_features(estimator, data) -> None:
    if data.n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {data.n_features} features, but {type(estimator).__name__} was fitted "
            f"with {estimator.n_features_in_}; pass the same columns as in fit."
        )
    names = getattr(estimator, "feature_names_in_", None)
    if (
        names is not None
        and data.feature_names is not None
        and list(names) != list(data.feature_names)
    ):
        raise ValueError(
            f"X has columns {list(data.feature_names)}, but the model was fitted on "
            f"{list(names)}; select the same columns in the same order."
        )


class SourceReadingMixin:
    """How an estimator reads what ``fit`` and ``partial_fit`` are given.

    ``fit`` records the data's features (``n_features_in_``, ``feature_names_in_``);
    later calls check their data against them.
    """

    def _row_checker(self, *, reset: bool, **options) -> Callable[[Any], np.ndarray]:
        """scikit-learn's ``validate_data`` for this estimator's rows in `FLOAT_DTYPES`.

        Its finiteness check sums X: inf + -inf or a float16 overflow there must not
        leak a RuntimeWarning (the check itself reports non-finite values). ``reset``
        (record the features, as ``fit`` does) and ``options`` are passed to
        ``validate_data``.
        """

        def check_array(values):
            with numeric_columns_required(values), missing_values_explained(self):
                with np.errstate(over="ignore", invalid="ignore"):
                    return validate_data(self, values, dtype=FLOAT_DTYPES, reset=reset, **options)

        return check_array

    def _training_source(self, X, sample_weight):
        """The data source of a ``fit``: validated, with ``n_features_in_`` recorded.

        In-memory arrays and memory maps go through scikit-learn's ``validate_data``
        (which records feature names and, for memory maps of float data, copies nothing).
        """
        refuse_unmarginalised_missing_values(self, X)
        data = as_data_source(
            X,
            sample_weight,
            n_components=self.n_components,
            check_array=self._row_checker(reset=True, ensure_min_samples=2),
            check_weights=check_sample_weight,
            allow_nan=getattr(self, "missing", "error") == "marginalize",
        )
        if not isinstance(data, ArraySource):
            self._record_features(data)
        return data

    def _batch_source(self, X, sample_weight):
        """The data source of a later ``partial_fit`` call: checked against the fitted
        features."""
        data = as_data_source(
            X,
            sample_weight,
            n_components=self.n_components,
            check_array=self._row_checker(reset=False),
            check_weights=check_sample_weight,
        )
        if not isinstance(data, ArraySource):
            _check_features(self, data)
        return data

    def _record_features(self, data) -> None:
        """``n_features_in_`` and ``feature_names_in_`` for inputs scikit-learn did not see."""
        self.n_features_in_ = data.n_features
        if data.feature_names is None:
            self.__dict__.pop("feature_names_in_", None)
        else:
            self.feature_names_in_ = np.asarray(data.feature_names, dtype=object)


def refuse_unmarginalised_missing_values(estimator, X) -> None:
    """Refuse a source that hands on NaN to an estimator that would not marginalise them.

    Raises
    ------
    ValueError
        If ``X`` keeps missing values (``ParquetSource(missing="keep")``) and the
        estimator's ``missing`` is not ``"marginalize"``.
    """
    keeps_nan = is_data_source(X) and keeps_missing_values(X)
    if keeps_nan and getattr(estimator, "missing", "error") != "marginalize":
        raise ValueError(
            f"{X!r} hands on rows with missing values (missing='keep'), but "
            f"{type(estimator).__name__} does not marginalise them: pass "
            "missing='marginalize' to the estimator, or read the file with missing='drop'."
        )


def _dask_rows(estimator, X, validate):
    from ..engine.data.dask_source import as_dask_rows

    return as_dask_rows(X, estimator.n_features_in_)


def _source_rows(estimator, X, validate):
    refuse_unmarginalised_missing_values(estimator, X)
    _check_features(estimator, X)
    return X


def _validated_rows(estimator, X, validate):
    return validate(X)


#: How inference reads each kind of input: (accepts, read(estimator, X, validate)).
_INFERENCE_READERS: list[tuple[Callable[[Any], bool], Callable]] = [
    (is_dask_collection, _dask_rows),
    (is_data_source, _source_rows),
    (lambda X: True, _validated_rows),
]


def inference_rows(estimator, X, validate: Callable[[Any], np.ndarray]):
    """Rows for ``predict``-like methods: a Dask array, a data source, or a validated array.

    Parameters
    ----------
    estimator : fitted mixture estimator
    X : array-like, Dask collection or data source
    validate : callable
        Validation of in-memory arrays (scikit-learn's ``validate_data``, ``reset=False``).
    """
    check_is_fitted(estimator, "converged_")
    read = next(read for accepts, read in _INFERENCE_READERS if accepts(X))
    return read(estimator, X, validate)


def _lazy_rows(X, func, n_components):
    from ..engine.data.dask_source import lazy_rowwise

    return lazy_rowwise(X, func)


def _source_concatenate(X, func, n_components):
    return X.map_concatenate(func)


def _in_memory_rows(X, func, n_components):
    chunk_rows = default_chunk_rows(X.shape[1], n_components, X.itemsize)
    data = ArrayData(X, np.ones(X.shape[0], dtype=X.dtype), chunk_rows)
    return data.map_concatenate(func)


#: How per-row results are computed for each kind of input.
_ROW_MAPPERS: list[tuple[Callable[[Any], bool], Callable]] = [
    (is_dask_array, _lazy_rows),
    (is_data_source, _source_concatenate),
    (lambda X: True, _in_memory_rows),
]


def map_rows(X, func: Callable[[np.ndarray], np.ndarray], n_components: int):
    """``func`` over the rows of ``X`` in bounded chunks.

    A NumPy array for in-memory input and data sources; a lazy Dask array, chunked
    like ``X``, for Dask input.
    """
    mapper = next(mapper for accepts, mapper in _ROW_MAPPERS if accepts(X))
    return mapper(X, func, n_components)


# ---------------------------------------------------------------------- criteria
def _dask_total(estimator, X, sample_weight):
    import dask
    import dask.array as da

    log_density = estimator.score_samples(X).astype(np.float64)
    if sample_weight is None:
        total, weight = dask.compute(log_density.sum(), log_density.shape[0])
    else:
        weights = da.asarray(sample_weight).astype(np.float64)
        if weights.shape != log_density.shape:
            raise ValueError(
                f"sample_weight has shape {weights.shape} but X has {log_density.shape[0]} "
                "rows; pass one weight per row."
            )
        weights = weights.rechunk(log_density.chunks)
        total, weight = dask.compute((weights * log_density).sum(), weights.sum())
    return float(total), float(weight)


def _source_total(estimator, X, sample_weight):
    if sample_weight is not None:
        raise TypeError(
            "sample_weight cannot be given with a data source; name a weight column in it."
        )
    estimator._check_X(X)
    params = estimator._inference_params()

    def totals(X_chunk, w_chunk):
        log_density = log_responsibilities(X_chunk, params)[0].astype(np.float64)
        return np.array([w_chunk @ log_density, w_chunk.sum(dtype=np.float64)])

    total, weight = X.map_reduce(totals)
    return float(total), float(weight)


def _in_memory_total(estimator, X, sample_weight):
    log_density = estimator.score_samples(X)
    weights = check_sample_weight(sample_weight, log_density.shape[0], np.float64)
    return float(weights @ log_density.astype(np.float64)), float(weights.sum())


_TOTALS: list[tuple[Callable[[Any], bool], Callable]] = [
    (is_dask_collection, _dask_total),
    (is_data_source, _source_total),
    (lambda X: True, _in_memory_total),
]


def total_log_likelihood(estimator, X, sample_weight) -> tuple[float, float]:
    """``(sum_n w_n log p(x_n), sum_n w_n)`` of ``X`` under the fitted model."""
    total = next(total for accepts, total in _TOTALS if accepts(X))
    return total(estimator, X, sample_weight)


# ---------------------------------------------------------------------- streaming
def _e_step_over(data, params, scatter):
    return data.map_reduce(lambda X, w: chunk_statistics(X, w, params, scatter))


@dataclass(frozen=True, eq=False)
class MinibatchRunner:
    """Runs stepwise EM over ``data`` in batches of ``batch_size`` rows from a start."""

    estimator: Any
    data: Any
    model: Any
    batch_size: int
    random_state: np.random.RandomState

    def __call__(
        self, start, monitor: EMMonitor | None = None
    ) -> tuple[EMResult, Stats | None, int]:
        """One mini-batch run from ``start``.

        Returns
        -------
        result : EMResult
        running : Stats or None
            The running statistics the run ended with.
        n_steps : int
            Online EM steps taken.
        """
        estimator, model = self.estimator, self.model
        n_components = estimator.n_components

        def passes():
            for X, w in self.data.batches(self.batch_size, self.random_state):
                batch = ArraySource(X, w, n_components)
                yield lambda params, batch=batch: _e_step_over(batch, params, model.scatter)

        def update(stats, params):
            return _online_m_step(stats, model, estimator.reg_covar, params)

        result, running, n_steps = run_minibatch_em(
            start,
            passes,
            update,
            model.scatter,
            offset=estimator.learning_offset,
            decay=estimator.learning_decay,
            tol=estimator.tol,
            max_passes=estimator.max_iter,
        )
        if monitor:
            for n_iter, value in enumerate(result.lower_bounds, start=1):
                monitor.iteration_done(n_iter, value, np.nan)
        return result, running, n_steps


def _online_m_step(stats, model, reg_covar, params):
    """The M-step of online EM; a noise component keeps its share (see engine/core/noise.py)."""
    new_params = m_step(stats, model, reg_covar, params.covariance)
    if getattr(params, "noise", None) is None:
        return new_params
    return noise_m_step(stats, new_params, params.noise)


class OnlineEMMixin:
    """``partial_fit``'s step of online EM (Cappé & Moulines 2009) for an EM estimator.

    The estimator keeps its running statistics (``_running_stats``) and the number of
    steps taken (``n_steps_``) between calls.
    """

    def _online_em_step(self, X, sample_weight=None):
        """One step of online EM on the batch ``X`` (see ``GaussianMixture.partial_fit``)."""
        if hasattr(self, "converged_"):
            validate_parameters(self.get_params(deep=False), self._rules)
            data = self._batch_source(X, sample_weight)
        else:  # the first batch: a full-EM fit on it, with every check fit makes
            data = self._fit(X, sample_weight, None)
        model, params = self._model, self._params
        stats = _e_step_over(data, params, model.scatter)
        n_steps = getattr(self, "n_steps_", 0)
        running = blend(
            getattr(self, "_running_stats", None),
            stats,
            step_size(n_steps, self.learning_offset, self.learning_decay),
            model.scatter,
        )
        try:
            new_params = _online_m_step(running, model, self.reg_covar, params)
        except SingularCovarianceError as exc:
            raise ValueError(str(exc)) from exc
        self._params = new_params
        self._running_stats = running
        self.n_steps_ = n_steps + 1
        self.lower_bound_ = stats.mean_log_likelihood
        self.lower_bounds_ = [*getattr(self, "lower_bounds_", []), self.lower_bound_]
        return self
