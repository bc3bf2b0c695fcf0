"""Small dense linear algebra for the compiled kernels (Numba): Cholesky and what follows.

Shared by the EM loop (`em_loop`) and the M-steps in their own modules (`equal_shape`),
which `em_loop` imports; keeping them here avoids an import cycle.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_TINY = np.finfo(np.float64).tiny


@njit(cache=True, nogil=True)
def cholesky_lower(matrix, lower):
    """Lower Cholesky factor of a (d, d) matrix into ``lower``; False if not positive definite.

    A pivot whose square is below the smallest normal float counts as not positive
    definite: the precision it implies overflows (the NumPy path refuses it too).

    Parameters
    ----------
    matrix : ndarray of shape (d, d)
        Symmetric; only the lower triangle is read.
    lower : ndarray of shape (d, d)
        Receives the factor (its upper triangle zero).

    Returns
    -------
    bool
        Whether ``matrix`` is positive definite (``lower`` is then its factor).
    """
    d = matrix.shape[0]
    for j in range(d):
        for i in range(j + 1, d):
            lower[j, i] = 0.0
        total = matrix[j, j]
        for m in range(j):
            total -= lower[j, m] * lower[j, m]
        if not (total >= _TINY) or not np.isfinite(total):
            return False
        pivot = math.sqrt(total)
        lower[j, j] = pivot
        for i in range(j + 1, d):
            value = matrix[i, j]
            for m in range(j):
                value -= lower[i, m] * lower[j, m]
            lower[i, j] = value / pivot
    return True


@njit(cache=True, nogil=True)
def determinant_root(matrix, work):
    """``det(matrix) ** (1 / d)`` of a positive definite matrix; NaN if it is not.

    Parameters
    ----------
    matrix : ndarray of shape (d, d)
    work : ndarray of shape (d, d)
        Receives the Cholesky factor.

    Returns
    -------
    float
    """
    if not cholesky_lower(matrix, work):
        return np.nan
    d = matrix.shape[0]
    log_det = 0.0
    for j in range(d):
        log_det += 2.0 * math.log(work[j, j])
    return math.exp(log_det / d)


@njit(cache=True, nogil=True)
def inverse_from_cholesky(lower, inverse):
    """``(L L^T)^{-1}`` from the lower factor ``L`` into ``inverse`` (both (d, d)).

    Parameters
    ----------
    lower : ndarray of shape (d, d)
        A lower Cholesky factor with a positive diagonal (`cholesky_lower`).
    inverse : ndarray of shape (d, d)
        Receives the inverse of ``L L^T``; used as workspace for ``L^{-1}`` first.
    """
    d = lower.shape[0]
    # L^{-1} into the lower triangle of `inverse`, column by column (forward substitution).
    for m in range(d):
        for j in range(m):
            inverse[j, m] = 0.0
        inverse[m, m] = 1.0 / lower[m, m]
        for j in range(m + 1, d):
            value = 0.0
            for i in range(m, j):
                value -= lower[j, i] * inverse[i, m]
            inverse[j, m] = value / lower[j, j]
    # (L L^T)^{-1} = L^{-T} L^{-1}: entry (j, m), j <= m, sums rows i >= m of L^{-1}'s
    # lower triangle; it is written on or above the diagonal, and a diagonal entry is
    # written after its last read.
    for j in range(d):
        for m in range(j, d):
            total = 0.0
            for i in range(m, d):
                total += inverse[i, j] * inverse[i, m]
            inverse[j, m] = total
    for j in range(d):
        for m in range(j):
            inverse[j, m] = inverse[m, j]
