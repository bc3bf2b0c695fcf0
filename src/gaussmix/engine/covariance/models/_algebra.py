"""Small linear-algebra pieces shared by the constrained M-steps.

Notation: ``W_k`` is the weighted scatter of component ``k`` about its mean, ``n_k`` its
soft count, and every M-step minimises the negative expected complete log-likelihood
(up to constants and a factor 1/2)::

    f(Sigma) = sum_k n_k log det Sigma_k + tr(Sigma_k^{-1} W_k)

over the covariances allowed by the model's constraint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

State = TypeVar("State")


def geometric_mean(values: np.ndarray) -> np.ndarray:
    """Geometric mean over the last axis (0 if any value is 0)."""
    return np.exp(np.mean(np.log(values), axis=-1))


def determinant_root(matrices: np.ndarray) -> np.ndarray:
    """``det(M) ** (1/d)`` for each (d, d) matrix, via the log-determinant."""
    sign, log_det = np.linalg.slogdet(matrices)
    return np.where(sign > 0, np.exp(log_det / matrices.shape[-1]), np.nan)


def unit_determinant(values: np.ndarray) -> np.ndarray:
    """Rescale diagonals (last axis) so that each product is one."""
    return values / geometric_mean(values)[..., np.newaxis]


def diagonal_objective(variances: np.ndarray, scatter: np.ndarray, counts: np.ndarray) -> float:
    """``f`` for diagonal covariances (K, d) and diagonal scatter (K, d)."""
    return float(np.sum(counts[:, np.newaxis] * np.log(variances) + scatter / variances))


def from_eigen(vectors: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``V diag(values) V^T``; ``vectors`` (..., d, d), ``values`` (..., d)."""
    return (vectors * values[..., np.newaxis, :]) @ np.swapaxes(vectors, -1, -2)


def has_converged(previous: float, value: float, total_count: float, tol: float) -> bool:
    """Whether an inner iteration has stopped decreasing ``f``, in a unit-free sense.

    The test is ``|f_old - f_new| <= tol * total_count``: the change per unit of weight.
    Scaling the data by ``c`` adds the constant ``total_count * d * log(c^2)`` to ``f``,
    and scaling the weights multiplies ``f`` and ``total_count`` alike, so the iteration
    stops at the same step whatever the data's units (a tolerance relative to ``|f|``
    would not: ``|f|`` grows with ``|log c|``).
    """
    return abs(previous - value) <= tol * total_count


def minimise_by_steps(
    state: State,
    step: Callable[[State], State],
    objective: Callable[[State], float],
    total_count: float,
    tol: float,
    max_iter: int,
) -> State:
    """Apply a monotone step until ``objective`` stops decreasing (see `has_converged`).

    ``step`` must never increase ``objective`` (each step is an exact block update or a
    majorise-minimise step), so stopping early still leaves a point no worse than the
    start. ``total_count`` is the sum of the soft counts, ``sum_k n_k``.
    """
    value = objective(state)
    for _ in range(max_iter):
        candidate = step(state)
        new_value = objective(candidate)
        if not np.isfinite(new_value):
            return candidate
        state, previous, value = candidate, value, new_value
        if has_converged(previous, value, total_count, tol):
            break
    return state


def majorised_orientation(
    orientation: np.ndarray,
    shifted_scatter: np.ndarray,
    inverse_variances: np.ndarray,
) -> np.ndarray:
    """One MM update of a shared orientation ``D`` (Browne & McNicholas, 2014).

    Decreases ``g(D) = sum_k tr(D diag(psi_k) D^T W_k)`` over orthogonal ``D``. With
    ``alpha_k`` the largest eigenvalue of ``W_k``, ``W_k - alpha_k I`` is negative
    semi-definite, so ``g`` is concave in ``D`` up to a constant and lies below its tangent
    at the current ``D0``; the tangent is minimised over orthogonal matrices by ``U V^T``
    from the SVD ``U S V^T = sum_k (alpha_k I - W_k) D0 diag(psi_k)``.

    Parameters
    ----------
    orientation : ndarray of shape (d, d)
        Current ``D0``, orthogonal, eigenvectors as columns.
    shifted_scatter : ndarray of shape (K, d, d)
        ``alpha_k I - W_k``.
    inverse_variances : ndarray of shape (K, d)
        ``psi_k``: the inverse eigenvalues of each ``Sigma_k`` along ``D``'s columns.
    """
    gradient = np.sum((shifted_scatter @ orientation) * inverse_variances[:, np.newaxis, :], axis=0)
    left, _, right_t = np.linalg.svd(gradient)
    return left @ right_t
