"""Scale-out glue of the estimators: data sources in, lazy results out, streaming EM.

`GaussianMixture` keeps its methods; the parts that depend on where the data lives
(a NumPy array, a memory map, a Dask collection, a Parquet file) are here, each
dispatched through a short table rather than a chain of type tests:

- `training_source` / `batch_source`: what ``fit`` / ``partial_fit`` read,
- `inference_rows` and `map_rows`: what ``predict``, ``score_samples``, ... read and
  return (lazy Dask arrays for Dask input),
- `total_log_likelihood`: ``score``, ``bic`` and ``aic`` without materialising
  per-row results of out-of-core data,
- `partial_fit` and `MinibatchRunner`: online EM (Cappé & Moulines 2009).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from ..engine.data import ArrayData, default_chunk_rows
from ..engine.em import EMMonitor, EMResult
from ..engine.estep import chunk_statistics, log_responsibilities
from ..engine.forms import SingularCovarianceError
from ..engine.mstep import m_step
from ..engine.noise import noise_m_step
from ..engine.sources import (
    ArraySource,
    as_data_source,
    is_dask_array,
    is_dask_collection,
    is_data_source,
    keeps_missing_values,
)
from ..engine.stepwise import blend, run_minibatch_em, step_size
from ._validation import (
    Rule,
    check_sample_weight,
    integer,
    missing_values_explained,
    numeric_columns_required,
    validate_parameters,
)

__all__ = [
    "STREAMING_RULES",
    "training_source",
    "batch_source",
    "inference_rows",
    "map_rows",
    "total_log_likelihood",
    "partial_fit",
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
def _record_features(estimator, data) -> None:
    """``n_features_in_`` and ``feature_names_in_`` for inputs scikit-learn did not see."""
    estimator.n_features_in_ = data.n_features
    if data.feature_names is None:
        estimator.__dict__.pop("feature_names_in_", None)
    else:
        estimator.feature_names_in_ = np.asarray(data.feature_names, dtype=object)


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


def row_checker(estimator, *, reset: bool, **options) -> Callable[[Any], np.ndarray]:
    """scikit-learn's ``validate_data`` for ``estimator``'s rows in `FLOAT_DTYPES`.

    Its finiteness check sums X: inf + -inf or a float16 overflow there must not leak a
    RuntimeWarning (the check itself reports non-finite values). ``reset`` and
    ``options`` are passed to ``validate_data``.
    """

    def check_array(values):
        with numeric_columns_required(values), missing_values_explained(estimator):
            with np.errstate(over="ignore", invalid="ignore"):
                return validate_data(
                    estimator, values, dtype=FLOAT_DTYPES, reset=reset, **options
                )

    return check_array


def training_source(estimator, X, sample_weight):
    """The data source of a ``fit``: validated, with ``n_features_in_`` recorded.

    In-memory arrays and memory maps go through scikit-learn's ``validate_data``
    (which records feature names and, for memory maps of float data, copies nothing).
    """

    refuse_unmarginalised_missing_values(estimator, X)
    check_array = row_checker(estimator, reset=True, ensure_min_samples=2)
    data = as_data_source(
        X,
        sample_weight,
        n_components=estimator.n_components,
        check_array=check_array,
        check_weights=check_sample_weight,
        allow_nan=getattr(estimator, "missing", "error") == "marginalize",
    )
    if not isinstance(data, ArraySource):
        _record_features(estimator, data)
    return data


def refuse_unmarginalised_missing_values(estimator, X) -> None:
    """Refuse a source that hands on NaN to an estimator that would not marginalise them.

    Raises
    ------
    ValueError
        If ``X`` keeps missing values (``ParquetSource(missing="keep")``) and the
        estimator's ``missing`` is not ``"marginalize"``.
    """
    if keeps_missing_values(X) and getattr(estimator, "missing", "error") != "marginalize":
        raise ValueError(
            f"{X!r} hands on rows with missing values (missing='keep'), but "
            f"{type(estimator).__name__} does not marginalise them: pass "
            "missing='marginalize' to the estimator, or read the file with missing='drop'."
        )


def batch_source(estimator, X, sample_weight):
    """The data source of a later ``partial_fit`` call: checked against the fitted features."""

    check_array = row_checker(estimator, reset=False)
    data = as_data_source(
        X,
        sample_weight,
        n_components=estimator.n_components,
        check_array=check_array,
        check_weights=check_sample_weight,
    )
    if not isinstance(data, ArraySource):
        _check_features(estimator, data)
    return data


def _dask_rows(estimator, X, validate):
    from ..engine.sources.dask_source import as_dask_rows

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
    from ..engine.sources.dask_source import lazy_rowwise

    return lazy_rowwise(X, func)


def _source_concatenate(X, func, n_components):
    if not hasattr(X, "map_concatenate"):
        raise TypeError(f"{type(X).__name__} cannot return per-row results; pass an array instead.")
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


@dataclass
class MinibatchRunner:
    """Runs stepwise EM over ``data`` in batches of ``batch_size`` rows from a start.

    After a call, ``running`` and ``n_steps`` describe the run that was just made.
    """

    estimator: Any
    data: Any
    model: Any
    batch_size: int
    random_state: np.random.RandomState
    running: Any = None
    n_steps: int = 0

    def __call__(self, start, monitor: EMMonitor | None = None) -> EMResult:
        estimator, model = self.estimator, self.model
        n_components = estimator.n_components

        def passes():
            for X, w in self.data.batches(self.batch_size, self.random_state):
                batch = ArraySource(X, w, n_components)
                yield lambda params, batch=batch: _e_step_over(batch, params, model.scatter)

        def update(stats, params):
            return _online_m_step(stats, model, estimator.reg_covar, params)

        result, self.running, self.n_steps = run_minibatch_em(
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
        return result


def _online_m_step(stats, model, reg_covar, params):
    """The M-step of online EM; a noise component keeps its share (see engine/noise.py)."""
    new_params = m_step(stats, model, reg_covar, params.covariance)
    if getattr(params, "noise", None) is None:
        return new_params
    return noise_m_step(stats, new_params, params.noise)


def partial_fit(estimator, X, sample_weight=None):
    """One step of online EM on the batch ``X`` (see ``GaussianMixture.partial_fit``)."""
    if hasattr(estimator, "converged_"):
        validate_parameters(estimator.get_params(deep=False), estimator._rules)
        data = batch_source(estimator, X, sample_weight)
    else:  # the first batch: a full-EM fit on it, with every check fit makes
        data = estimator._fit(X, sample_weight, None)
    model, params = estimator._model, estimator._params
    stats = _e_step_over(data, params, model.scatter)
    n_steps = getattr(estimator, "n_steps_", 0)
    running = blend(
        getattr(estimator, "_running_stats", None),
        stats,
        step_size(n_steps, estimator.learning_offset, estimator.learning_decay),
        model.scatter,
    )
    try:
        new_params = _online_m_step(running, model, estimator.reg_covar, params)
    except SingularCovarianceError as exc:
        raise ValueError(str(exc)) from exc
    estimator._params = new_params
    estimator._running_stats = running
    estimator.n_steps_ = n_steps + 1
    estimator.lower_bound_ = stats.mean_log_likelihood
    estimator.lower_bounds_ = [*getattr(estimator, "lower_bounds_", []), estimator.lower_bound_]
    return estimator
