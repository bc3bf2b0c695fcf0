"""E-step kernels: pure functions from a chunk of rows and parameters to results.

Nothing here allocates more than (rows in the chunk) x K x d numbers; callers bound
memory by bounding the chunk.
"""

from __future__ import annotations

import numpy as np

from .params import MixtureParams
from .scatter import Scatter
from .stats import Stats

__all__ = [
    "logsumexp_rows",
    "log_responsibilities",
    "statistics_from_responsibilities",
    "chunk_statistics",
]


def logsumexp_rows(values: np.ndarray) -> np.ndarray:
    """``log(sum(exp(values), axis=1))``, stable, ``-inf`` for rows that are all ``-inf``."""
    row_max = values.max(axis=1)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(values - row_max[:, np.newaxis]).sum(axis=1)) + row_max


def log_responsibilities(X: np.ndarray, params: MixtureParams) -> tuple[np.ndarray, np.ndarray]:
    """Log-density of each row and log-responsibilities of each component.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        ``log p(x_n)``.
    log_resp : ndarray of shape (n_samples, n_components)
        ``log p(z_n = k | x_n)``.
    """
    weighted = params.weighted_log_prob(X)
    log_density = logsumexp_rows(weighted)
    return log_density, weighted - log_density[:, np.newaxis]


def statistics_from_responsibilities(
    X: np.ndarray,
    sample_weight: np.ndarray,
    responsibilities: np.ndarray,
    shift: np.ndarray,
    scatter: Scatter,
    log_likelihood: float = 0.0,
) -> Stats:
    """Accumulate `Stats` of a chunk from given responsibilities.

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
    weighted_resp = responsibilities * sample_weight[:, np.newaxis].astype(X.dtype, copy=False)
    n_components, n_features = shift.shape
    first = np.empty((n_components, n_features))
    second = scatter.zeros(n_components, n_features)
    local_shift = shift.astype(X.dtype, copy=False)
    for k in range(n_components):
        differences = X - local_shift[k]
        first[k] = weighted_resp[:, k] @ differences
        second[k] = scatter.accumulate(differences, weighted_resp[:, k])
    return Stats(
        counts=weighted_resp.sum(axis=0, dtype=np.float64),
        first=first,
        second=second,
        shift=shift,
        log_likelihood=float(log_likelihood),
        total_weight=float(sample_weight.sum(dtype=np.float64)),
    )


def chunk_statistics(
    X: np.ndarray,
    sample_weight: np.ndarray,
    params: MixtureParams,
    scatter: Scatter,
) -> Stats:
    """E-step on one chunk: responsibilities under ``params``, reduced to `Stats`."""
    log_density, log_resp = log_responsibilities(X, params)
    return statistics_from_responsibilities(
        X,
        sample_weight,
        np.exp(log_resp),
        params.means,
        scatter,
        log_likelihood=sample_weight @ log_density.astype(np.float64),
    )
