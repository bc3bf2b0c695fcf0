"""E-step kernels: pure functions from a chunk of rows and parameters to results.

The fused kernel `chunk_statistics` works on one chunk in "component-major" layout: the
rows are centred at a reference point and transposed to shape (d, n), and every
per-component quantity is an (K, n) array whose rows are contiguous. Then the
log-densities of all components come from one or two matrix products (see the forms'
``squared_mahalanobis_centred``), the log-sum-exp and the normalisation are reductions
over the short first axis (fast, vectorised along n), and the responsibilities are
computed once, in place, and never exponentiated twice.

Nothing here allocates more than a few (rows in the chunk) x K x d numbers; callers bound
memory by bounding the chunk (`gaussmix.engine.data.chunks.default_chunk_rows`). Float32 rows are
computed in float32; the statistics are accumulated in float64.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..covariance.forms import SQUARES, centred_columns, moment_rows, reference_point
from ..covariance.scatter import Scatter
from ..data.chunks import concatenated_over_chunks, default_chunk_rows, summed_over_chunks
from .params import ComponentParams, MixtureParams
from .stats import Stats

__all__ = [
    "logsumexp_rows",
    "log_responsibilities",
    "statistics_from_responsibilities",
    "statistics_about_data_mean",
    "chunk_statistics",
    "reference_point",
    "centred_columns",
    "normalise_columns",
    "kernel_chunk_rows",
]


def logsumexp_rows(values: np.ndarray) -> np.ndarray:
    """``log(sum(exp(values), axis=1))``, stable, ``-inf`` for rows that are all ``-inf``."""
    row_max = values.max(axis=1)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(values - row_max[:, np.newaxis]).sum(axis=1)) + row_max


def _negligible_log(dtype) -> float:
    """Log of the smallest responsibility (relative to its row's largest) worth keeping.

    ``eps^2`` of the dtype: 5e-32 in float64, 1.4e-14 in float32.
    """
    return 2.0 * float(np.log(np.finfo(dtype).eps))


def normalise_columns(log_prob: np.ndarray, column_weights: np.ndarray | None = None) -> np.ndarray:
    """Turn weighted log-probabilities (K, n) into responsibilities, in place.

    Parameters
    ----------
    log_prob : ndarray of shape (n_components, n_samples)
        ``log pi_k + log N(x_n | mu_k, Sigma_k)``; overwritten with the responsibilities.
    column_weights : ndarray of shape (n_samples,), optional
        Sample weights to multiply the responsibilities by (in the same pass).

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        ``log sum_k exp(log_prob[k, n])``; ``-inf`` where every component has ``-inf``.
    """
    column_max = log_prob.max(axis=0)
    finite = np.isfinite(column_max)
    if not finite.all():
        column_max = np.where(finite, column_max, 0.0).astype(log_prob.dtype)
    log_prob -= column_max
    # Responsibilities below eps^2 of their row's largest (5e-32 in float64, 1.4e-14 in
    # float32) are made exact zeros. Each changes a sum over n rows by less than eps^2
    # times its largest term, n eps^2 in all: below the rounding of that sum (about eps
    # times the sum) for every component holding more than n eps of the weight (2e-11 of
    # a row at n = 1e5). The zeros let the second moments skip rows (`scatter`), and keep
    # subnormal numbers, which the CPU handles a hundred times slower, out of the
    # exponential and every product that follows. The exponential of values clipped just
    # below the threshold stays normal and fast; one multiplication zeroes what fell below.
    negligible = _negligible_log(log_prob.dtype)
    if log_prob.min(initial=0.0) < negligible:
        np.maximum(log_prob, negligible - 1.0, out=log_prob)
        np.exp(log_prob, out=log_prob)
        np.multiply(log_prob, log_prob >= np.exp(negligible, dtype=log_prob.dtype), out=log_prob)
    else:
        np.exp(log_prob, out=log_prob)
    total = log_prob.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.reciprocal(total)
        if column_weights is not None:
            scale *= column_weights
        log_prob *= scale
        log_density = np.log(total)
    log_density += column_max
    return log_density


def log_responsibilities(X: np.ndarray, params: MixtureParams) -> tuple[np.ndarray, np.ndarray]:
    """Log-density of each row and log-responsibilities of each component.

    Computed in bounded chunks of rows, whatever the number of rows given.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        ``log p(x_n)``.
    log_resp : ndarray of shape (n_samples, n_components), or (n_samples, n_components + 1)
        ``log p(z_n = k | x_n)``; with a noise component its column comes last.
    """
    log_density, log_resp = concatenated_over_chunks(
        _log_responsibilities, X, kernel_chunk_rows(X, params), params
    )
    return log_density, log_resp


def _log_responsibilities(X: np.ndarray, params: MixtureParams):
    weighted = params.weighted_log_prob(X)
    if getattr(params, "noise", None) is not None:
        weighted = params.with_noise_column(weighted)
    log_density = logsumexp_rows(weighted)
    return log_density, weighted - log_density[:, np.newaxis]


def _statistics_float64(X, sample_weight, responsibilities, shift, scatter, log_likelihood):
    weighted_resp = responsibilities * sample_weight[:, np.newaxis]
    reference = reference_point(shift)
    centred = centred_columns(X, reference)
    offsets = shift - reference
    return _assemble(
        centred,
        weighted_resp.T,
        offsets,
        shift,
        scatter,
        log_likelihood,
        float(np.sum(sample_weight, dtype=np.float64)),
        rows=X,
        reference=reference,
    )


def statistics_from_responsibilities(
    X: np.ndarray,
    sample_weight: np.ndarray,
    responsibilities: np.ndarray,
    shift: np.ndarray,
    scatter: Scatter,
    log_likelihood: float = 0.0,
) -> Stats:
    """Accumulate `Stats` of a chunk from given responsibilities.

    Computed in float64 whatever X's dtype, in blocks of rows so that memory stays bounded:
    this path starts EM from hard or random assignments, where a float32 scatter about a
    single row would not be positive definite.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
    responsibilities : ndarray of shape (n_samples, n_components)
    shift : ndarray of shape (n_components, n_features)
        Centre of each component's moments (normally the current means).
    scatter : Scatter
        Which second moments to accumulate.
    log_likelihood : float
        Weighted log-likelihood of the chunk, carried into the result.
    """
    shift = np.asarray(shift, dtype=np.float64)
    n_components, n_features = shift.shape
    block_rows = default_chunk_rows(n_features, n_components)
    stats: Stats | None = None
    for start in range(0, X.shape[0], block_rows):
        rows = slice(start, start + block_rows)
        block = _statistics_float64(
            X[rows].astype(np.float64, copy=False),
            sample_weight[rows].astype(np.float64, copy=False),
            responsibilities[rows].astype(np.float64, copy=False),
            shift,
            scatter,
            0.0,
        )
        stats = block if stats is None else stats + block
    assert stats is not None, "X has no rows"
    return Stats(
        counts=stats.counts,
        first=stats.first,
        second=stats.second,
        shift=shift,
        log_likelihood=float(log_likelihood),
        total_weight=stats.total_weight,
    )


def statistics_about_data_mean(
    X: np.ndarray, sample_weight: np.ndarray, responsibilities: np.ndarray, scatter: Scatter
) -> Stats:
    """`statistics_from_responsibilities` with every component's moments about the
    weighted mean of ``X``: the statistics of a starting partition, before any means exist.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
    responsibilities : ndarray of shape (n_samples, n_components)
    scatter : Scatter
        Which second moments to accumulate.
    """
    centre = np.average(X, axis=0, weights=sample_weight).astype(np.float64)
    shift = np.broadcast_to(centre, (responsibilities.shape[1], X.shape[1])).copy()
    return statistics_from_responsibilities(X, sample_weight, responsibilities, shift, scatter)


def _assemble(
    columns,
    weighted_resp,
    offsets,
    shift,
    scatter,
    log_likelihood,
    total_weight,
    rows=None,
    reference=None,
):
    """`Stats` from weighted responsibilities (K, n) and the centred columns (d, n), or
    the centred columns followed by their squares (2 d, n): see `forms.moment_rows`.
    ``rows``, the chunk's (n, d) rows, with the ``reference`` point the columns were
    centred at, speed up per-component second moments."""
    n_features = offsets.shape[1]
    # Accumulated in float64 (einsum's cast is faster than sum's): float32 sums lost a
    # noise component's weight, one minus the Gaussian counts, to cancellation.
    counts = np.einsum("kn->k", weighted_resp, dtype=np.float64)
    squares_about_reference = None
    # (columns @ weighted_resp.T).T: BLAS reduces the long axis faster into a (rows, K)
    # result than into (K, rows), by a fifth in float32.
    if columns.shape[0] == 2 * n_features:  # first and squared moments from one product
        moments = (columns @ weighted_resp.T).T.astype(np.float64)
        first_about_reference = moments[:, :n_features]
        squares_about_reference = moments[:, n_features:]
    else:
        first_about_reference = (columns @ weighted_resp.T).T.astype(np.float64)
    centred = columns[:n_features]
    # sum_n r_nk (x_n - c_k) = sum_n r_nk (x_n - ref) - N_k (c_k - ref)
    first = first_about_reference - counts[:, np.newaxis] * offsets
    second = scatter.centred_second_moments(
        centred,
        weighted_resp,
        offsets,
        counts,
        first_about_reference,
        squares_about_reference,
        rows=rows,
        reference=reference,
    )
    return Stats(
        counts=counts,
        first=first,
        second=second,
        shift=shift,
        log_likelihood=float(log_likelihood),
        total_weight=total_weight,
    )


def chunk_statistics(
    X: np.ndarray,
    sample_weight: np.ndarray,
    params: MixtureParams,
    scatter: Scatter,
) -> Stats:
    """E-step on one chunk: responsibilities under ``params``, reduced to `Stats`.

    One pass over the chunk: log-densities of all components by matrix products on the
    centred rows, responsibilities normalised in place, then the weighted moments.
    Float32 chunks are computed in float32 and their statistics returned in float64.
    More rows than `kernel_chunk_rows` allows are cut into even parts of at most that many.
    """
    return summed_over_chunks(
        _fused_statistics, X, sample_weight, kernel_chunk_rows(X, params), params, scatter
    )


def kernel_chunk_rows(X: np.ndarray, params: ComponentParams) -> int:
    """Most rows the E-step kernels process at once for ``params``' covariance form."""
    return default_chunk_rows(
        X.shape[1],
        params.n_components,
        X.itemsize,
        squares_layout=params.covariance.column_layout == SQUARES,
    )


def _fused_statistics(X, sample_weight, params, scatter) -> Stats:
    dtype = X.dtype
    prepared = prepared_params(params, dtype)
    columns = prepared.columns(X)
    log_prob = prepared.log_gaussian(columns)
    weights = sample_weight.astype(dtype, copy=False)
    noise = getattr(params, "noise", None)
    if noise is not None:  # one more row, log pi_0 - log V, in the normalisation only
        n_components = log_prob.shape[0]
        log_prob = np.concatenate(
            [log_prob, np.full((1, log_prob.shape[1]), noise.log_density, dtype=dtype)]
        )
    log_density = normalise_columns(log_prob, weights)
    if noise is not None:
        log_prob = log_prob[:n_components]
    with np.errstate(invalid="ignore"):
        log_likelihood = float(np.dot(log_density.astype(np.float64), weights))
    return prepared.statistics(X, columns, log_prob, scatter, log_likelihood, sample_weight)


@dataclass(frozen=True)
class _PreparedParams:
    """What every chunk of one E-step needs from the parameters, computed once."""

    shift: np.ndarray
    reference: np.ndarray
    offsets: np.ndarray
    log_gaussian: Callable[[np.ndarray], np.ndarray]
    layout: str
    moment_rows: slice

    def columns(self, X: np.ndarray) -> np.ndarray:
        """The chunk's centred columns in the layout ``log_gaussian`` reads fastest."""
        return centred_columns(X, self.reference, self.layout)

    def statistics(self, X, columns, weighted_resp, scatter, log_likelihood, sample_weight):
        """`Stats` of the chunk ``X`` (its `columns`) from its weighted responsibilities
        (K, n), carrying ``log_likelihood`` (or the variational E-step's entropy term)."""
        return _assemble(
            columns[self.moment_rows],
            weighted_resp,
            self.offsets,
            self.shift,
            scatter,
            log_likelihood,
            float(np.sum(sample_weight, dtype=np.float64)),
            rows=X,
            reference=self.reference,
        )


# Parameters -> {dtype: _PreparedParams}; entries vanish with their parameters.
_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _log_mixing_weights(params: MixtureParams) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(params.weights)


def prepared_params(
    params: ComponentParams,
    dtype,
    component_log_terms: Callable[[Any], np.ndarray] = _log_mixing_weights,
) -> _PreparedParams:
    """The per-E-step constants of ``params`` for chunks of ``dtype`` (memoised).

    ``component_log_terms(params)`` gives the per-component constant added to
    ``log N(x | mu_k, Sigma_k)`` (``log pi_k`` by default, which needs `MixtureParams`;
    the variational E-step adds its posterior's expected-log terms). One ``params``
    object must always use the same function.
    """
    dtype = np.dtype(dtype)
    try:
        by_dtype = _PREPARED[params]
    except (KeyError, TypeError):  # TypeError: not weak-referenceable, do not memoise
        by_dtype = {}
        try:
            _PREPARED[params] = by_dtype
        except TypeError:
            pass
    prepared = by_dtype.get(dtype)
    if prepared is None:
        shift = np.asarray(params.means, dtype=np.float64)
        reference = reference_point(shift)
        offsets = shift - reference
        log_terms = component_log_terms(params)
        evaluate = params.covariance.log_gaussian_evaluator(
            offsets, dtype, log_terms, negligible=_negligible_log(dtype)
        )
        layout = params.covariance.column_layout
        rows = moment_rows(layout, shift.shape[1])
        prepared = _PreparedParams(shift, reference, offsets, evaluate, layout, rows)
        by_dtype[dtype] = prepared
    return prepared
