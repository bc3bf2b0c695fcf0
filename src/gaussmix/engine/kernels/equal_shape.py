"""Compiled M-steps of the models with one shape for every component: VEI, VEE, VEV, EEV.

Each mirrors its NumPy implementation (``engine/covariance/models/diagonal.py``,
``ellipsoidal.py``): the same algorithm, start and stopping rule, so that both agree to
rounding (tested in ``tests/engine/test_compiled_em.py``).

* EEV: ``W_k = L_k Omega_k L_k^T`` (eigenvalues ascending); ``Sigma_k = L_k (sum_j
  Omega_j / n) L_k^T``. A closed form.
* VEI and VEV: with ``omega_k`` the diagonal of ``W_k`` (VEI) or its eigenvalues (VEV),
  alternate ``A = unit-determinant(sum_k omega_k / lambda_k)`` and
  ``lambda_k = sum_j (omega_kj / A_j) / (n_k d)`` (Celeux & Govaert, 1995);
  ``Sigma_k = lambda_k A`` in the axes (VEI) or in ``W_k``'s eigenvectors (VEV).
* VEE: alternate ``C = unit-determinant(sum_k W_k / lambda_k)`` and
  ``lambda_k = tr(C^{-1} W_k) / (n_k d)``; ``Sigma_k = lambda_k C``.

The alternations start from the volumes ``det(Sigma_k)^(1/d)`` of the previous
covariances and stop as ``_algebra.minimise_by_steps`` does: when the objective
``f = sum_k n_k log det Sigma_k + tr(Sigma_k^{-1} W_k)`` changes by at most
``inner_tol * sum_k n_k``, after ``inner_max_iter`` steps, or at a step whose objective
is not finite (that step is kept, and the EM loop's factorisation then refuses it).

Divisions follow NumPy's rules here (``error_model="numpy"``: ``x / 0`` is ``inf`` or
NaN, never an exception), as the NumPy implementations compute under ``np.errstate``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .linalg import determinant_root, inverse_from_cholesky


@njit(cache=True, nogil=True, error_model="numpy")
def _sum(values):
    total = 0.0
    for value in values:
        total += value
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def _has_converged(previous, value, total_count, tol):
    """``_algebra.has_converged``: the change of ``f`` per unit of weight is at most ``tol``."""
    return abs(previous - value) <= tol * total_count


@njit(cache=True, nogil=True, error_model="numpy")
def _shape_given_volumes(values, volumes, shape):
    """``A = unit-determinant(sum_k values_k / lambda_k)`` into ``shape`` (d,)."""
    n_components, d = values.shape
    log_total = 0.0
    for j in range(d):
        total = 0.0
        for k in range(n_components):
            total += values[k, j] / volumes[k]
        shape[j] = total
        log_total += np.log(total)
    root = np.exp(log_total / d)
    for j in range(d):
        shape[j] /= root


@njit(cache=True, nogil=True, error_model="numpy")
def _volumes_given_shape(values, counts, shape, volumes):
    """``lambda_k = sum_j (values_kj / A_j) / (n_k d)`` into ``volumes`` (K,)."""
    n_components, d = values.shape
    for k in range(n_components):
        total = 0.0
        for j in range(d):
            total += values[k, j] / shape[j]
        volumes[k] = total / (counts[k] * d)


@njit(cache=True, nogil=True, error_model="numpy")
def _diagonal_objective(values, counts, volumes, shape):
    """``f`` for the eigenvalues ``lambda_k A`` against ``values`` (``diagonal_objective``)."""
    n_components, d = values.shape
    objective = 0.0
    for k in range(n_components):
        for j in range(d):
            variance = volumes[k] * shape[j]
            objective += counts[k] * np.log(variance) + values[k, j] / variance
    return objective


@njit(cache=True, nogil=True, error_model="numpy")
def alternate_volumes_and_shape(values, counts, volumes, inner_tol, inner_max_iter, shape):
    """The VEI and VEV iteration: volumes and one diagonal shape, each given the other.

    Parameters
    ----------
    values : ndarray of shape (K, d)
        ``omega_k``: each component's scatter along its own axes (its diagonal for VEI,
        its eigenvalues for VEV).
    counts : ndarray of shape (K,)
    volumes : ndarray of shape (K,)
        The starting volumes; on return, the last step's.
    inner_tol : float
    inner_max_iter : int
    shape : ndarray of shape (d,)
        Receives the shape that goes with the returned volumes.
    """
    n_components, d = values.shape
    total_count = _sum(counts)
    _shape_given_volumes(values, volumes, shape)
    objective = _diagonal_objective(values, counts, volumes, shape)
    for _ in range(inner_max_iter):
        _volumes_given_shape(values, counts, shape, volumes)
        _shape_given_volumes(values, volumes, shape)
        previous, objective = objective, _diagonal_objective(values, counts, volumes, shape)
        if not np.isfinite(objective) or _has_converged(
            previous, objective, total_count, inner_tol
        ):
            return


@njit(cache=True, nogil=True, error_model="numpy")
def _pooled_shape(scatter, volumes, shape, lower, inverse):
    """VEE's ``C`` given the volumes, into ``shape``; ``inverse`` receives ``C^{-1}``.

    Returns False if ``sum_k W_k / lambda_k`` is not positive definite (or not finite).
    """
    n_components, d = scatter.shape[0], scatter.shape[1]
    for j in range(d):
        for m in range(d):
            total = 0.0
            for k in range(n_components):
                total += scatter[k, j, m] / volumes[k]
            shape[j, m] = total
    root = determinant_root(shape, lower)
    if not np.isfinite(root):
        return False
    inverse_from_cholesky(lower, inverse)
    for j in range(d):
        for m in range(d):
            shape[j, m] /= root
            inverse[j, m] *= root
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _shape_traces(scatter, inverse_shape, traces):
    """``tr(C^{-1} W_k)`` for every ``k`` into ``traces`` (both matrices symmetric)."""
    n_components, d = scatter.shape[0], scatter.shape[1]
    for k in range(n_components):
        total = 0.0
        for j in range(d):
            for m in range(d):
                total += scatter[k, j, m] * inverse_shape[j, m]
        traces[k] = total


@njit(cache=True, nogil=True, error_model="numpy")
def _shared_shape_objective(counts, volumes, traces, d):
    """VEE's ``f`` (``log det C = 0``): ``sum_k n_k d log lambda_k + tr(C^{-1} W_k) / lambda_k``."""
    objective = 0.0
    for k in range(counts.shape[0]):
        objective += counts[k] * d * np.log(volumes[k]) + traces[k] / volumes[k]
    return objective


@njit(cache=True, nogil=True, error_model="numpy")
def alternate_volumes_and_shared_shape(scatter, counts, volumes, inner_tol, inner_max_iter, shape):
    """The VEE iteration: volumes and one full unit-determinant ``C``, each given the other.

    Parameters
    ----------
    scatter : ndarray of shape (K, d, d)
    counts : ndarray of shape (K,)
    volumes : ndarray of shape (K,)
        The starting volumes; on return, the last step's.
    inner_tol : float
    inner_max_iter : int
    shape : ndarray of shape (d, d)
        Receives ``C`` of the returned volumes.

    Returns
    -------
    bool
        False if some ``sum_k W_k / lambda_k`` was not positive definite (the NumPy
        path then decides what that means).
    """
    n_components, d = scatter.shape[0], scatter.shape[1]
    total_count = _sum(counts)
    lower = np.empty((d, d))
    inverse = np.empty((d, d))
    traces = np.empty(n_components)
    if not _pooled_shape(scatter, volumes, shape, lower, inverse):
        return False
    _shape_traces(scatter, inverse, traces)
    objective = _shared_shape_objective(counts, volumes, traces, d)
    for _ in range(inner_max_iter):
        for k in range(n_components):
            volumes[k] = traces[k] / (counts[k] * d)
        if not _pooled_shape(scatter, volumes, shape, lower, inverse):
            return False
        _shape_traces(scatter, inverse, traces)
        previous, objective = objective, _shared_shape_objective(counts, volumes, traces, d)
        if not np.isfinite(objective) or _has_converged(
            previous, objective, total_count, inner_tol
        ):
            break
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _eigen_decompositions(scatter, values, vectors):
    """``W_k = L_k diag(values_k) L_k^T``, eigenvalues ascending (``np.linalg.eigh``).

    Returns False if a scatter matrix is not finite (LAPACK would refuse it).
    """
    for k in range(scatter.shape[0]):
        for j in range(scatter.shape[1]):
            for m in range(scatter.shape[2]):
                if not np.isfinite(scatter[k, j, m]):
                    return False
        # Element by element: Numba compiles slice assignments several times slower.
        component_values, component_vectors = np.linalg.eigh(scatter[k])
        for j in range(scatter.shape[1]):
            values[k, j] = component_values[j]
            for m in range(scatter.shape[1]):
                vectors[k, j, m] = component_vectors[j, m]
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _from_eigen(vectors, values, covariance):
    """``V diag(values) V^T`` into ``covariance`` (``_algebra.from_eigen``)."""
    d = values.shape[0]
    for j in range(d):
        for m in range(d):
            total = 0.0
            for i in range(d):
                total += vectors[j, i] * values[i] * vectors[m, i]
            covariance[j, m] = total


@njit(cache=True, nogil=True, error_model="numpy")
def _previous_volumes(previous, volumes):
    """``det(Sigma_k)^(1/d)`` of the previous covariances (the iterations' start)."""
    d = previous.shape[1]
    work = np.empty((d, d))
    for k in range(previous.shape[0]):
        volumes[k] = determinant_root(previous[k], work)
        if not np.isfinite(volumes[k]):
            return False
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def volumes_and_shared_shape(scatter, counts, previous, inner_tol, inner_max_iter, covariances):
    """VEE's M-step, ``Sigma_k = lambda_k C``, into ``covariances``.

    Parameters
    ----------
    scatter : ndarray of shape (K, d, d)
        ``W_k`` about the new means.
    counts : ndarray of shape (K,)
    previous : ndarray of shape (K, d, d)
        The current covariances: the iterations start from their volumes.
    inner_tol : float
    inner_max_iter : int
        The model's ``inner_tol`` and ``inner_max_iter``.
    covariances : ndarray of shape (K, d, d)
        Receives the estimate, without ``reg_covar``.

    Returns
    -------
    bool
        False when the NumPy path must decide: a previous covariance or some
        ``sum_k W_k / lambda_k`` not positive definite.
    """
    n_components, d = scatter.shape[0], scatter.shape[1]
    volumes = np.empty(n_components)
    if not _previous_volumes(previous, volumes):
        return False
    shape = np.empty((d, d))
    if not alternate_volumes_and_shared_shape(
        scatter, counts, volumes, inner_tol, inner_max_iter, shape
    ):
        return False
    for k in range(n_components):
        for j in range(d):
            for m in range(d):
                covariances[k, j, m] = volumes[k] * shape[j, m]
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def volumes_and_diagonal_shape(
    scatter, counts, own_orientations, previous, inner_tol, inner_max_iter, covariances
):
    """VEI's M-step (in the axes) or VEV's (``own_orientations``: in ``W_k``'s eigenvectors).

    Parameters
    ----------
    scatter : ndarray of shape (K, d, d)
        ``W_k`` about the new means (VEI reads only the diagonal).
    counts : ndarray of shape (K,)
    own_orientations : bool
        Whether each component has its own orientation (VEV) or the axes (VEI).
    previous : ndarray of shape (K, d, d)
        The current covariances: the iterations start from their volumes.
    inner_tol : float
    inner_max_iter : int
        The model's ``inner_tol`` and ``inner_max_iter``.
    covariances : ndarray of shape (K, d, d)
        Receives the estimate, without ``reg_covar``.

    Returns
    -------
    bool
        False when the NumPy path must decide: a previous covariance not positive
        definite, or a scatter matrix that is not finite (VEV).
    """
    n_components, d = scatter.shape[0], scatter.shape[1]
    volumes = np.empty(n_components)
    if not _previous_volumes(previous, volumes):
        return False
    values = np.empty((n_components, d))
    vectors = np.zeros((n_components, d, d))
    if own_orientations:
        if not _eigen_decompositions(scatter, values, vectors):
            return False
    else:
        for k in range(n_components):
            for j in range(d):
                values[k, j] = scatter[k, j, j]
                vectors[k, j, j] = 1.0
    shape = np.empty(d)
    alternate_volumes_and_shape(values, counts, volumes, inner_tol, inner_max_iter, shape)
    eigenvalues = np.empty(d)
    for k in range(n_components):
        for j in range(d):
            eigenvalues[j] = volumes[k] * shape[j]
        _from_eigen(vectors[k], eigenvalues, covariances[k])
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def pooled_eigenvalues(scatter, counts, covariances):
    """EEV's M-step into ``covariances``: each ``W_k``'s eigenvectors, pooled eigenvalues.

    Parameters
    ----------
    scatter : ndarray of shape (K, d, d)
    counts : ndarray of shape (K,)
    covariances : ndarray of shape (K, d, d)
        Receives ``L_k diag(sum_j Omega_j / n) L_k^T``, without ``reg_covar``.

    Returns
    -------
    bool
        False if a scatter matrix is not finite.
    """
    n_components, d = scatter.shape[0], scatter.shape[1]
    values = np.empty((n_components, d))
    vectors = np.empty((n_components, d, d))
    if not _eigen_decompositions(scatter, values, vectors):
        return False
    total_count = _sum(counts)
    shared = np.zeros(d)
    for j in range(d):
        for k in range(n_components):
            shared[j] += values[k, j]
        shared[j] /= total_count
    for k in range(n_components):
        _from_eigen(vectors[k], shared, covariances[k])
    return True
