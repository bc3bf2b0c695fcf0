"""The data of a selection sweep: what every cell fits, and the rows its start comes from.

In memory, every cell fits the array and starts from a partition of (a subset of) its
rows. A data source (a `ParquetSource`, a standardised source, ...) is never loaded:
every cell's EM reads it in chunks, the starting partitions come from its bounded
random initialisation sample, and the criteria are sums over its chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils import check_array, check_random_state

from ..checks.parameters import check_sample_weight, numeric_columns_required
from ..checks.rows import fill_with_column_means, refuse_infinity
from ..engine.core import criteria
from ..engine.core.estep import log_responsibilities
from ..engine.data import is_dask_collection, is_data_source, keeps_missing_values

__all__ = ["SweepData", "CriteriaTerms", "sweep_data"]


@dataclass(frozen=True)
class CriteriaTerms:
    """What the criteria of one fitted cell need, from one pass over the data.

    Attributes
    ----------
    log_likelihood : float
        ``sum_n w_n log p(x_n)``.
    classification_penalty : float
        ``-2 sum_n w_n log max_k r_nk`` (the ICL's addition to the BIC).
    cluster_sizes : ndarray of shape (n_columns,)
        Rows whose most probable component is each column (the noise column last).
    """

    log_likelihood: float
    classification_penalty: float
    cluster_sizes: np.ndarray


@dataclass(frozen=True)
class SweepData:
    """The data of a sweep (see the module docstring).

    Attributes
    ----------
    fit_input : array-like or DataSource
        What each cell's ``GaussianMixture.fit`` receives.
    fit_weight : ndarray or None
        Its ``sample_weight`` (None for a source, which carries its own weights).
    start_rows : ndarray of shape (n_rows, n_features)
        Complete rows (NaN filled) that the tree and the starting partitions are built on.
    start_weights : ndarray of shape (n_rows,)
    total_weight : float
        ``n`` of the criteria: the sum of all weights.
    n_features : int
    """

    fit_input: Any
    fit_weight: np.ndarray | None
    start_rows: np.ndarray
    start_weights: np.ndarray
    total_weight: float
    n_features: int

    @property
    def in_memory(self) -> bool:
        """Whether the starting rows are all the rows (not a sample of a source)."""
        return self.fit_weight is not None

    def terms_from_fitted_rows(self, estimator, rows) -> tuple[CriteriaTerms, np.ndarray]:
        """`criteria_terms` in memory, and the responsibilities of every row.

        ``rows`` are the data as the estimator's fit validated them (its training
        source's array), which are not validated again.
        """
        if self.fit_weight is None:
            raise RuntimeError("terms_from_fitted_rows is for sweeps whose rows are in memory")
        log_density, resp = estimator._log_density_and_responsibilities(rows, checked=True)
        return _terms(log_density, resp, self.fit_weight), resp

    def criteria_terms(self, estimator) -> CriteriaTerms:
        """`CriteriaTerms` of a fitted estimator over all of the data."""
        if self.fit_weight is not None:  # in memory
            log_density, resp = estimator._log_density_and_responsibilities(self.fit_input)
            return _terms(log_density, resp, self.fit_weight)
        params = estimator._inference_params()

        def chunk_terms(X: np.ndarray, w: np.ndarray) -> np.ndarray:
            log_density, log_resp = log_responsibilities(X, params)
            terms = _terms(log_density, np.exp(log_resp), w.astype(np.float64))
            return np.concatenate(
                [[terms.log_likelihood, terms.classification_penalty], terms.cluster_sizes]
            )

        totals = self.fit_input.map_reduce(chunk_terms)
        return CriteriaTerms(float(totals[0]), float(totals[1]), totals[2:].astype(np.int64))


def _terms(log_density: np.ndarray, resp: np.ndarray, weights: np.ndarray) -> CriteriaTerms:
    return CriteriaTerms(
        float(weights @ log_density.astype(np.float64)),
        criteria.classification_penalty(weights, resp),
        np.bincount(resp.argmax(axis=1), minlength=resp.shape[1]),
    )


def sweep_data(X, sample_weight, *, marginalize: bool, random_state) -> SweepData:
    """Validate the sweep's data and make its `SweepData`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or a data source
    sample_weight : array-like of shape (n_samples,) or None
        Not allowed with a data source (name a weight column in the source instead).
    marginalize : bool
        Whether NaN is allowed (``missing="marginalize"``).
    random_state : int or None
        Seed of a source's initialisation sample.
    """
    if is_dask_collection(X):
        raise TypeError(
            "select_model does not take Dask collections yet; fit GaussianMixture on them "
            "directly, or pass a ParquetSource / memory map."
        )
    if is_data_source(X):
        return _source_sweep(X, sample_weight, marginalize, random_state)
    return _array_sweep(X, sample_weight, marginalize)


def _array_sweep(X, sample_weight, marginalize: bool) -> SweepData:
    try:
        with numeric_columns_required(X):
            values = check_array(
                X,
                dtype=[np.float64, np.float32],
                ensure_min_samples=2,
                ensure_all_finite="allow-nan" if marginalize else True,
            )
    except ValueError as exc:
        if "NaN" in str(exc) and not marginalize:
            raise ValueError(
                "Input X contains NaN. Pass missing='marginalize' to fit every model to the "
                "observed values, or impute the values beforehand."
            ) from exc
        raise
    if marginalize:
        refuse_infinity(values)
    weights = check_sample_weight(sample_weight, values.shape[0], values.dtype)
    # The tree and the starting partitions read complete rows; EM itself marginalises.
    # Row-major like every source's rows: the tree's tie-breaks must not depend on
    # whether the user passed a DataFrame (column-major) or an array.
    filled = np.ascontiguousarray(
        fill_with_column_means(values, weights) if marginalize else values
    )
    return SweepData(X, weights, filled, weights, float(weights.sum()), values.shape[1])


def _source_sweep(source, sample_weight, marginalize: bool, random_state) -> SweepData:
    if sample_weight is not None:
        raise TypeError(
            f"sample_weight cannot be given with a {type(source).__name__}; name a weight "
            "column in the source instead (e.g. ParquetSource(path, weight_column='w'))."
        )
    if keeps_missing_values(source) and not marginalize:
        raise ValueError(
            f"{source!r} hands on rows with missing values (missing='keep'): pass "
            "missing='marginalize' to select_model, or read the file with missing='drop'."
        )
    rows, weights = source.initialization_sample(check_random_state(random_state))
    rows = np.asarray(rows)
    weights = np.asarray(weights, dtype=np.float64)
    if marginalize:
        refuse_infinity(rows)
        rows = fill_with_column_means(rows, weights)
    elif not np.all(np.isfinite(rows)):
        raise ValueError(
            "The data contain NaN (missing values). Pass missing='marginalize' to fit "
            "every model to the observed values."
        )
    total_weight = float(source.map_reduce(_weight_sum))
    if rows.shape[0] < 2:
        raise ValueError(f"The data have {rows.shape[0]} row(s); at least 2 are needed.")
    return SweepData(source, None, rows, weights, total_weight, int(source.n_features))


def _weight_sum(X: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w, dtype=np.float64))
