"""M-step: from sufficient statistics to parameters."""

from __future__ import annotations

import numpy as np

from ..covariance.forms import CovarianceForm
from ..covariance.models import CovarianceModel
from ..covariance.scatter import Scatter
from .params import MixtureParams
from .stats import Stats

__all__ = ["m_step"]

# A tiny count keeps an emptied component's mean at its shift instead of 0/0 (the count
# scikit-learn adds to every component).
_EMPTY_COUNT = 10 * np.finfo(np.float64).eps


def component_moments(stats: Stats, scatter: Scatter) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What every M-step starts from: counts, means and scatter about the means.

    Parameters
    ----------
    stats : Stats
        Statistics from an E-step; their second moments match ``scatter``.
    scatter : Scatter
        Which second moments the statistics hold.

    Returns
    -------
    counts : ndarray of shape (n_components,)
        The weighted counts plus a tiny count (an emptied component gives no 0/0).
    means : ndarray of shape (n_components, n_features)
        The weighted means.
    scatter_about_mean : ndarray
        ``sum_n w_n r_nk (x_n - mean_k)(x_n - mean_k)^T`` in ``scatter``'s shape.
    """
    counts = stats.counts + _EMPTY_COUNT
    means = stats.shift + stats.first / counts[:, np.newaxis]
    return counts, means, scatter.about_mean(stats.second, stats.first, counts)


def m_step(
    stats: Stats,
    model: CovarianceModel,
    reg_covar: float,
    previous: CovarianceForm | None = None,
) -> MixtureParams:
    """Maximum-likelihood parameters under ``model`` for the given statistics.

    Parameters
    ----------
    stats : Stats
        Statistics from an E-step; their second moments match ``model.scatter``.
    model : CovarianceModel
        The covariance parametrisation.
    reg_covar : float
        Non-negative ridge added to every variance.
    previous : CovarianceForm, optional
        Current covariances, the start of iterative M-steps.

    Raises
    ------
    SingularCovarianceError
        If a covariance is not positive definite (the message names the fix).
    """
    counts, means, scatter = component_moments(stats, model.scatter)
    covariance = model.estimate(scatter, counts, reg_covar, previous)
    return MixtureParams(weights=counts / counts.sum(), means=means, covariance=covariance)
