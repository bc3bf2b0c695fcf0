"""Whole EM fits of one small in-memory table in compiled code (Numba).

A fit of a few hundred rows spends its time on the fixed cost of each iteration's many
small NumPy calls, not on arithmetic (see ``docs/architecture.md``). Here the E-step, the
M-step of the covariance models (all but EVE and VVE) and the convergence test run in one compiled
loop that returns to Python only when the fit has converged, reached ``max_iter``, or met
something it leaves to the general path: a covariance that is not positive definite, a
row no component can explain, values that are not finite. Then it hands back the
parameters entering that iteration, and the NumPy path (`gaussmix.engine.core.em.run_em`)
continues from them with its full handling of collapses.

Every quantity mirrors the NumPy path's definitions (``engine/core/estep.py``,
``engine/core/mstep.py``, the models' ``estimate_covariances``): the same responsibilities
(those below ``eps^2`` of their row's largest are zero), the same tiny count added to
every component, means moved from the previous ones, ``reg_covar`` added to the
constrained covariances. The parity is tested in ``tests/engine/test_compiled_em.py``.

Covariance constraints are mclust's letters as data: ``volume`` (1 equal, 2 varying),
``shape`` and ``orientation`` (0 identity, 1 equal, 2 varying). The closed-form
combinations are computed here (EII, VII, EEI, VVI, EVI, EEE, VVV and EVV), the models
with one shape and an iterative or eigendecomposition M-step in `equal_shape` (VEI, VEE,
VEV and EEV, started from the current covariances as the NumPy path's M-steps are). EVE
and VVE's M-step is compiled separately (`shared_orientation`, called by the model from
Python), so their rule here hands back.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .equal_shape import pooled_eigenvalues, volumes_and_diagonal_shape, volumes_and_shared_shape
from .linalg import cholesky_lower, determinant_root

#: `em_fit` status codes.
CONVERGED, MAX_ITER, HANDED_BACK = 0, 1, 2

_LOG_2PI = math.log(2.0 * math.pi)
_EPS = np.finfo(np.float64).eps
# Responsibilities below eps^2 of their row's largest are exact zeros (as in estep.py).
_NEGLIGIBLE_LOG = 2.0 * math.log(_EPS)
# The count added to every component (as in mstep.py): an emptied one keeps its mean.
_EMPTY_COUNT = 10.0 * _EPS
# As in scatter.py: a variance within 64 units of rounding of its second moment is zero.
CANCELLATION = 64 * _EPS

#: mclust's constraint letters I, E, V as codes.
IDENTITY, EQUAL, VARYING = 0, 1, 2


@njit(cache=True, nogil=True)
def _total(values):
    """Sum of a 1-d array (a loop: Numba compiles it faster than ``values.sum()``)."""
    total = 0.0
    for value in values:
        total += value
    return total


@njit(cache=True, nogil=True)
def _all_finite(matrix):
    """Whether every entry of a 2-d array is finite."""
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if not np.isfinite(matrix[i, j]):
                return False
    return True


@njit(cache=True, nogil=True)
def _scale_each(covariances, factors):
    """Multiply component ``k``'s matrix by ``factors[k]``, in place."""
    for k in range(covariances.shape[0]):
        for j in range(covariances.shape[1]):
            for m in range(covariances.shape[2]):
                covariances[k, j, m] *= factors[k]


@njit(cache=True, nogil=True)
def _zero_moments(counts, first, second):
    """Set the moment accumulators to zero."""
    for k in range(first.shape[0]):
        counts[k] = 0.0
        for j in range(first.shape[1]):
            first[k, j] = 0.0
            for m in range(first.shape[1]):
                second[k, j, m] = 0.0


@njit(cache=True, nogil=True)
def _accept(counts, new_means, new_covariances, new_factors, weights, means, covariances, factors):
    """Make the M-step's results the current parameters (weights from the counts)."""
    total_count = _total(counts)
    for k in range(means.shape[0]):
        weights[k] = counts[k] / total_count
        for j in range(means.shape[1]):
            means[k, j] = new_means[k, j]
            for m in range(means.shape[1]):
                covariances[k, j, m] = new_covariances[k, j, m]
                factors[k, j, m] = new_factors[k, j, m]


@njit(cache=True, nogil=True)
def factor_all(covariances, factors):
    """`cholesky_lower` of every component.

    Parameters
    ----------
    covariances : ndarray of shape (K, d, d)
    factors : ndarray of shape (K, d, d)
        Receives the lower Cholesky factors.

    Returns
    -------
    bool
        False if any covariance is not positive definite.
    """
    for k in range(covariances.shape[0]):
        if not cholesky_lower(covariances[k], factors[k]):
            return False
    return True


@njit(cache=True, nogil=True)
def e_step(X, sample_weight, weights, means, factors, resp):
    """Weighted responsibilities into ``resp``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    sample_weight : ndarray of shape (n,)
    weights, means : ndarray of shape (K,), (K, d)
    factors : ndarray of shape (K, d, d)
        Lower Cholesky factors of the covariances.
    resp : ndarray of shape (n, K)
        Receives ``w_n r_nk``; responsibilities below ``eps^2`` of their row's largest
        are zero, as in ``estep.normalise_columns``.

    Returns
    -------
    mean_log_likelihood : float
        ``sum_n w_n log p(x_n) / sum_n w_n``; NaN when a row's log-density is not
        finite (the NumPy path decides then).
    total_weight : float
    """
    n, d = X.shape
    n_components = means.shape[0]
    log_norm = np.empty(n_components)
    for k in range(n_components):
        log_det = 0.0
        for j in range(d):
            log_det += math.log(factors[k, j, j])
        log_norm[k] = math.log(weights[k]) - log_det - 0.5 * d * _LOG_2PI
    centred = np.empty(d)
    total_log_likelihood = 0.0
    total_weight = 0.0
    for i in range(n):
        row_max = -np.inf
        for k in range(n_components):
            lower = factors[k]
            squared = 0.0
            for j in range(d):
                value = X[i, j] - means[k, j]
                for m in range(j):
                    value -= lower[j, m] * centred[m]
                value /= lower[j, j]
                centred[j] = value
                squared += value * value
            log_prob = log_norm[k] - 0.5 * squared
            resp[i, k] = log_prob
            if log_prob > row_max:
                row_max = log_prob
        if not np.isfinite(row_max):
            return np.nan, 0.0
        row_total = 0.0
        for k in range(n_components):
            shifted = resp[i, k] - row_max
            value = math.exp(shifted) if shifted >= _NEGLIGIBLE_LOG else 0.0
            resp[i, k] = value
            row_total += value
        scale = sample_weight[i] / row_total
        for k in range(n_components):
            resp[i, k] *= scale
        total_log_likelihood += sample_weight[i] * (math.log(row_total) + row_max)
        total_weight += sample_weight[i]
    return total_log_likelihood / total_weight, total_weight


@njit(cache=True, nogil=True)
def e_step_statistics(X, sample_weight, weights, means, covariances, full):
    """One E-step's sufficient statistics about the current means, for any model.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    sample_weight : ndarray of shape (n,)
    weights, means, covariances : ndarray of shape (K,), (K, d), (K, d, d)
    full : bool
        Full second moments, or only their diagonals.

    Returns
    -------
    tuple
        ``(ok, log_likelihood, total_weight, counts, first, second)`` as `Stats` holds
        them (``second`` (K, d, d), only its diagonal set unless ``full``); ``ok`` is
        False when a covariance is not positive definite or a row's density is not
        finite.
    """
    n, d = X.shape
    n_components = means.shape[0]
    counts = np.zeros(n_components)
    first = np.zeros((n_components, d))
    second = np.zeros((n_components, d, d))
    factors = np.empty((n_components, d, d))
    if not factor_all(covariances, factors):
        return False, np.nan, 0.0, counts, first, second
    resp = np.empty((n, n_components))
    mean_log_likelihood, total_weight = e_step(X, sample_weight, weights, means, factors, resp)
    if not np.isfinite(mean_log_likelihood):
        return False, np.nan, 0.0, counts, first, second
    shifted_moments(X, resp, means, counts, first, second, full)
    return True, mean_log_likelihood * total_weight, total_weight, counts, first, second


@njit(cache=True, nogil=True)
def shifted_moments(X, resp, shift, counts, first, second, full):
    """Moments of the weighted responsibilities about ``shift`` (the E-step's means).

    ``counts[k] = sum_n r[n, k]``, ``first[k] = sum_n r[n, k] (x_n - c_k)`` and
    ``second[k]`` the same of ``(x_n - c_k)(x_n - c_k)^T`` (``full``) or of its
    diagonal only (then only ``second[k]``'s diagonal is written; the rest is zero).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    resp : ndarray of shape (n, K)
        Weighted responsibilities (`e_step`).
    shift : ndarray of shape (K, d)
    counts, first, second : ndarray of shape (K,), (K, d), (K, d, d)
        Receive the moments.
    full : bool
    """
    n, d = X.shape
    n_components = resp.shape[1]
    centred = np.empty(d)
    _zero_moments(counts, first, second)
    for k in range(n_components):
        block = second[k]
        for i in range(n):
            r = resp[i, k]
            if r == 0.0:
                continue
            counts[k] += r
            for j in range(d):
                centred[j] = X[i, j] - shift[k, j]
                first[k, j] += r * centred[j]
            for j in range(d):
                weighted = r * centred[j]
                if full:
                    for m in range(j + 1):
                        block[j, m] += weighted * centred[m]
                else:
                    block[j, j] += weighted * centred[j]
        for j in range(d):
            for m in range(j):
                block[m, j] = block[j, m]


@njit(cache=True, nogil=True)
def scatter_about_mean(second, first, counts, scatter):
    """``second - first first^T / counts``, with variances lost to rounding exactly zero.

    A variance at most `CANCELLATION` of the second moment it came from is rounding
    residue (a component on one row, or on rows tied in a column): it is set to zero
    with its row and column, as ``Scatter.about_mean`` does, so that whether such a
    component is singular never depends on rounding.

    Parameters
    ----------
    second, first, counts : ndarray of shape (K, d, d), (K, d), (K,)
        Moments about the E-step's means; ``counts`` already holds the tiny count
        added to every component.
    scatter : ndarray of shape (K, d, d)
        Receives the scatter about the new means.
    """
    n_components, d = first.shape
    for k in range(n_components):
        for j in range(d):
            for m in range(d):
                scatter[k, j, m] = second[k, j, m] - first[k, j] * first[k, m] / counts[k]
        for j in range(d):
            if scatter[k, j, j] <= CANCELLATION * second[k, j, j]:
                for m in range(d):
                    scatter[k, j, m] = 0.0
                    scatter[k, m, j] = 0.0


@njit(cache=True, nogil=True)
def _spherical(scatter, counts, volume, covariances):
    """``tr(W_k) / (n_k d)`` on the diagonal, pooled over components for equal volume."""
    n_components, d = scatter.shape[0], scatter.shape[1]
    pooled_trace = 0.0
    for k in range(n_components):
        trace = 0.0
        for j in range(d):
            trace += scatter[k, j, j]
        pooled_trace += trace
        for j in range(d):
            covariances[k, j, j] = trace / (counts[k] * d)
    if volume == EQUAL:
        total_count = _total(counts)
        for k in range(n_components):
            for j in range(d):
                covariances[k, j, j] = pooled_trace / (total_count * d)


@njit(cache=True, nogil=True)
def _pooled(counts, covariances):
    """One covariance for all: ``sum_k W_k / n`` (equal volume and shape)."""
    n_components, d = covariances.shape[0], covariances.shape[1]
    total_count = _total(counts)
    for j in range(d):
        for m in range(d):
            pooled = 0.0
            for k in range(n_components):
                pooled += covariances[k, j, m]
            for k in range(n_components):
                covariances[k, j, m] = pooled / total_count


@njit(cache=True, nogil=True)
def _own(counts, covariances):
    """Each component's own ``W_k / n_k`` (varying volume and shape)."""
    _scale_each(covariances, 1.0 / counts)


@njit(cache=True, nogil=True)
def _equal_volume(counts, covariances):
    """``lambda W_k / det(W_k)^(1/d)`` with ``lambda = sum_k det(W_k)^(1/d) / n``."""
    n_components, d = covariances.shape[0], covariances.shape[1]
    roots = np.empty(n_components)
    work = np.empty((d, d))
    for k in range(n_components):
        roots[k] = determinant_root(covariances[k], work)
    common_volume = _total(roots) / _total(counts)
    _scale_each(covariances, common_volume / roots)


@njit(cache=True, nogil=True)
def constrained_covariances(
    scatter, counts, volume, shape, orientation, previous, inner_tol, inner_max_iter, covariances
):
    """The maximum-likelihood covariances under mclust's constraint letters.

    One rule per family of models, read from the letters (volume, shape, orientation):
    spherical; one pooled covariance (equal volume and shape); one shape for all
    otherwise (`equal_shape`: VEI, VEE, VEV by alternating volumes and shape from the
    ``previous`` covariances' volumes, EEV from eigendecompositions); each component's own
    (varying volume and shape); equal volume with varying shapes. Orientation I keeps
    the diagonals.

    Parameters
    ----------
    scatter : ndarray of shape (K, d, d)
    counts : ndarray of shape (K,)
    volume, shape, orientation : int
    previous : ndarray of shape (K, d, d)
        The current covariances (where iterative M-steps start).
    inner_tol : float
    inner_max_iter : int
        The model's tolerance and iteration cap of iterative M-steps.
    covariances : ndarray of shape (K, d, d)
        Receives the estimate, without ``reg_covar``.

    Returns
    -------
    bool
        False for a combination not computed here (an equal orientation with varying
        shapes, EVE and VVE) or an estimate the NumPy path must make.
    """
    n_components, d = scatter.shape[0], scatter.shape[1]
    for k in range(n_components):
        for j in range(d):
            for m in range(d):
                keep = orientation != IDENTITY or j == m
                covariances[k, j, m] = scatter[k, j, m] if keep else 0.0
    if shape == IDENTITY and orientation == IDENTITY:  # EII, VII
        _spherical(scatter, counts, volume, covariances)
    elif shape == EQUAL and volume == EQUAL and orientation != VARYING:  # EEI, EEE
        _pooled(counts, covariances)
    elif shape == EQUAL and volume == VARYING and orientation == EQUAL:  # VEE
        return volumes_and_shared_shape(
            scatter, counts, previous, inner_tol, inner_max_iter, covariances
        )
    elif shape == EQUAL and volume == VARYING:  # VEI, VEV
        return volumes_and_diagonal_shape(
            scatter,
            counts,
            orientation == VARYING,
            previous,
            inner_tol,
            inner_max_iter,
            covariances,
        )
    elif shape == EQUAL and orientation == VARYING:  # EEV
        return pooled_eigenvalues(scatter, counts, covariances)
    elif shape == VARYING and orientation == EQUAL:  # EVE, VVE: not compiled
        return False
    elif shape == VARYING and volume == VARYING:  # VVI, VVV
        _own(counts, covariances)
    elif shape == VARYING and volume == EQUAL:  # EVI, EVV
        _equal_volume(counts, covariances)
    else:
        return False
    return True


@njit(cache=True, nogil=True)
def em_fit(
    X,
    sample_weight,
    weights,
    means,
    covariances,
    volume,
    shape,
    orientation,
    reg_covar,
    tol,
    max_iter,
    lower_bound,
    trace,
    inner_tol,
    inner_max_iter,
):
    """Run EM from the given parameters, updating them in place.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64
    sample_weight : ndarray of shape (n,)
    weights, means, covariances : ndarrays of shape (K,), (K, d), (K, d, d)
        The starting parameters; on return, those after the last accepted M-step.
    volume, shape, orientation : int
        The covariance constraint (`IDENTITY`, `EQUAL`, `VARYING`).
    reg_covar, tol : float
    max_iter : int
    lower_bound : float
        Mean log-likelihood before the first iteration.
    trace : ndarray of shape (max_iter,)
        Receives the mean log-likelihood entering each iteration.
    inner_tol : float
    inner_max_iter : int
        Tolerance and iteration cap of the iterative M-steps (the model's).

    Returns
    -------
    n_iter : int
        Iterations completed (entries of ``trace`` written).
    status : int
        `CONVERGED`, `MAX_ITER`, or `HANDED_BACK`: the next iteration needs the NumPy
        path; the parameters are those entering it.
    """
    n, d = X.shape
    n_components = means.shape[0]
    factors = np.empty((n_components, d, d))
    if not factor_all(covariances, factors):
        return 0, HANDED_BACK
    resp = np.empty((n, n_components))
    counts = np.empty(n_components)
    first = np.empty((n_components, d))
    second = np.empty((n_components, d, d))
    new_means = np.empty((n_components, d))
    scatter = np.empty((n_components, d, d))
    new_covariances = np.empty((n_components, d, d))
    new_factors = np.empty((n_components, d, d))
    full = orientation != IDENTITY
    for iteration in range(max_iter):
        log_likelihood, _ = e_step(X, sample_weight, weights, means, factors, resp)
        if not np.isfinite(log_likelihood):
            return iteration, HANDED_BACK
        shifted_moments(X, resp, means, counts, first, second, full)
        for k in range(n_components):
            counts[k] += _EMPTY_COUNT
            for j in range(d):
                new_means[k, j] = means[k, j] + first[k, j] / counts[k]
        scatter_about_mean(second, first, counts, scatter)
        if not constrained_covariances(
            scatter,
            counts,
            volume,
            shape,
            orientation,
            covariances,
            inner_tol,
            inner_max_iter,
            new_covariances,
        ):
            return iteration, HANDED_BACK
        for k in range(n_components):
            for j in range(d):
                new_covariances[k, j, j] += reg_covar
        if not (_all_finite(new_means) and factor_all(new_covariances, new_factors)):
            return iteration, HANDED_BACK
        _accept(
            counts, new_means, new_covariances, new_factors, weights, means, covariances, factors
        )
        trace[iteration] = log_likelihood
        change = log_likelihood - lower_bound
        lower_bound = log_likelihood
        if abs(change) < tol:
            return iteration + 1, CONVERGED
    return max_iter, MAX_ITER
