"""M-step: from sufficient statistics to parameters."""

from __future__ import annotations

import numpy as np

from .covariance_models import CovarianceModel
from .forms import CovarianceForm
from .params import MixtureParams
from .stats import Stats

__all__ = ["m_step"]

# A tiny count keeps an emptied component's mean at its shift instead of 0/0.
_EMPTY_COUNT = 10 * np.finfo(np.float64).eps


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
    counts = stats.counts + _EMPTY_COUNT
    means = stats.shift + stats.first / counts[:, np.newaxis]
    scatter = model.scatter.about_mean(stats.second, stats.first, counts)
    covariance = model.estimate(scatter, counts, reg_covar, previous)
    return MixtureParams(weights=counts / counts.sum(), means=means, covariance=covariance)
