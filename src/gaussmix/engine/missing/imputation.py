"""Imputation of missing values from a fitted mixture: conditional means and draws.

Each row's missing coordinates given its observed ones follow, under component ``k``,
``N(xhat_m, C)`` (see `gaussmix.engine.missing.kernels`); the conditional expectation
mixes the ``xhat_m`` by the responsibilities, and a draw picks a component by them first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.estep import normalise_columns
from ..core.params import MixtureParams
from . import kernels
from .patterns import _count_missing, missingness_patterns

__all__ = [
    "PatternConditionals",
    "pattern_conditionals",
    "conditional_expectation",
    "draw_imputations",
]


def _rows_by_pattern(X: np.ndarray):
    """``(rows, observed)`` for each pattern of the incomplete rows."""
    incomplete = np.flatnonzero(np.isnan(X).any(axis=1))
    if incomplete.size == 0:
        return
    patterns, pattern_of_row = missingness_patterns(X[incomplete])
    for index, observed in enumerate(patterns):
        yield incomplete[pattern_of_row == index], observed


def conditional_expectation(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``E[x_m | x_o]`` under the mixture, filled into a copy of ``X``.

    Each missing value becomes ``sum_k p(k | x_o) xhat_km``. Rows with nothing observed
    get the mixture mean.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    params : MixtureParams

    Returns
    -------
    X_imputed : ndarray of shape (n_samples, n_features), float64, no NaN
    """
    imputed = np.array(X, dtype=np.float64)
    missing = np.isnan(imputed)
    variances = kernels._diagonal_variances(params)
    if variances is not None:
        blocks = kernels._diagonal_blocks(X, params, variances)
    else:
        n_missing = _count_missing(missing)
        imputed[n_missing == X.shape[1]] = params.weights @ params.means
        informative = np.flatnonzero((n_missing > 0) & (n_missing < X.shape[1]))
        blocks = kernels._precision_blocks(X, missing, n_missing, informative, params)
    for rows, terms in blocks:
        resp = terms.log_prob
        normalise_columns(resp)
        imputed[rows] = np.where(missing[rows], terms.expectation(resp), imputed[rows])
    return imputed


@dataclass(frozen=True)
class PatternConditionals:
    """What every component says about the rows of one missingness pattern.

    Attributes
    ----------
    weighted_log_prob : ndarray of shape (n_rows, n_components)
        ``log pi_k + log N(x_o | mu_ko, Sigma_koo)``.
    completed : ndarray of shape (n_components, n_rows, n_features) or None
        The rows with each missing value replaced by its conditional expectation under
        component ``k``; None if conditionals were not asked for.
    factors : ndarray of shape (n_components, n_missing, n_features) or None
        Rows ``b_j`` (zero on observed coordinates) with ``sum_j b_j b_j^T`` equal to the
        conditional covariance of the missing coordinates under component ``k``,
        embedded in a (n_features, n_features) matrix; None if conditionals were not
        asked for.
    """

    weighted_log_prob: np.ndarray
    completed: np.ndarray | None
    factors: np.ndarray | None


def pattern_conditionals(
    X: np.ndarray,
    observed: np.ndarray,
    params: MixtureParams,
    dense_covariances: np.ndarray | None = None,
    *,
    conditionals: bool = True,
) -> PatternConditionals:
    """Marginal log-densities and conditional moments for rows sharing one pattern.

    All components at once: one batched Cholesky factorisation of the K observed
    blocks ``Sigma_koo`` and batched triangular solves over the pattern's rows.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Rows whose observed coordinates are exactly ``observed`` (NaN elsewhere).
    observed : ndarray of bool, shape (n_features,)
        Which coordinates are observed; at least one must be.
    params : MixtureParams
        The mixture.
    dense_covariances : ndarray of shape (n_components, n_features, n_features), optional
        ``params.covariance.dense_covariances(K, d)``, if the caller already has it.
    conditionals : bool, default=True
        Whether to compute ``completed`` and ``factors`` (inference needs only the
        log-densities; those two are then None).

    Returns
    -------
    PatternConditionals
    """
    n_components, n_features = params.means.shape
    if dense_covariances is None:
        dense_covariances = params.covariance.dense_covariances(n_components, n_features)
    obs = np.flatnonzero(observed)
    mis = np.flatnonzero(~observed)
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(params.means, dtype=np.float64)
    block_oo = dense_covariances[:, obs][:, :, obs]
    lower = np.linalg.cholesky(block_oo)
    # Plain LU solves: on tiny triangular systems they are far cheaper than a
    # dedicated triangular solver's call overhead, and exact for triangular matrices.
    differences = X[np.newaxis, :, obs] - means[:, np.newaxis, obs]
    whitened = np.linalg.solve(lower, np.swapaxes(differences, 1, 2))
    log_det = 2.0 * np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)
    squared_distances = np.einsum("kon,kon->kn", whitened, whitened)
    weighted_log_prob = (
        kernels._log_weights(params)[:, np.newaxis]
        - 0.5 * (obs.size * kernels._LOG_2PI + log_det[:, np.newaxis] + squared_distances)
    ).T
    if not conditionals:
        return PatternConditionals(weighted_log_prob, None, None)
    # G = L^-1 Sigma_om, so Sigma_mo Sigma_oo^-1 (x_o - mu_o) = G^T whitened.
    gain = np.linalg.solve(lower, dense_covariances[:, obs][:, :, mis])
    completed = np.broadcast_to(X, (n_components, *X.shape)).copy()
    completed[:, :, mis] = means[:, np.newaxis, mis] + np.swapaxes(whitened, 1, 2) @ gain
    conditional_covariances = dense_covariances[:, mis][:, :, mis] - np.swapaxes(gain, 1, 2) @ gain
    factors = np.zeros((n_components, mis.size, n_features))
    factors[:, :, mis] = kernels._covariance_root_rows(conditional_covariances)
    return PatternConditionals(weighted_log_prob, completed, factors)


def draw_imputations(
    X: np.ndarray,
    params: MixtureParams,
    n_imputations: int,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """Multiple imputations: missing values drawn from their conditional mixture.

    For each imputation and row, a component is drawn from ``p(k | x_o)`` and the
    missing values from ``N(xhat_km, C_k)``; observed values are kept.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    params : MixtureParams
    n_imputations : int
    random_state : numpy.random.RandomState

    Returns
    -------
    X_imputed : ndarray of shape (n_imputations, n_samples, n_features), float64
    """
    X = np.asarray(X, dtype=np.float64)
    imputed = np.repeat(X[np.newaxis], n_imputations, axis=0)
    dense = params.covariance.dense_covariances(*params.means.shape)
    for rows, observed in _rows_by_pattern(X):
        if observed.any():
            terms = pattern_conditionals(X[rows], observed, params, dense)
            resp, _ = kernels._responsibilities(terms.weighted_log_prob, None)
            completed, factors = terms.completed, terms.factors
            assert completed is not None and factors is not None  # conditionals were asked for
        else:
            resp = np.broadcast_to(params.weights, (rows.size, params.n_components))
            completed = np.broadcast_to(
                params.means[:, np.newaxis, :], (params.n_components, rows.size, X.shape[1])
            )
            factors = kernels._covariance_root_rows(dense)
        cumulative = np.cumsum(resp, axis=1)
        cumulative /= cumulative[:, -1:]
        n_missing = factors.shape[1]
        for m in range(n_imputations):
            uniforms = random_state.uniform(size=(rows.size, 1))
            components = np.minimum((uniforms > cumulative).sum(axis=1), params.n_components - 1)
            noise = random_state.standard_normal((rows.size, n_missing))
            draws = completed[components, np.arange(rows.size)] + np.einsum(
                "nj,njd->nd", noise, factors[components]
            )
            imputed[m, rows[:, np.newaxis], np.flatnonzero(~observed)] = draws[:, ~observed]
    return imputed
