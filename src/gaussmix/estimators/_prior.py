"""The ``prior=`` option of `GaussianMixture`: which M-step a fit uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks.parameters import Rule
from ..engine.bayesian.map_prior import ConjugatePrior, ResolvedPrior, map_m_step, resolve_prior
from ..engine.core.estep import statistics_from_responsibilities
from ..engine.core.mstep import m_step
from ..engine.covariance.models import CovarianceModel
from ..engine.covariance.scatter import FULL_SCATTER

__all__ = ["PRIOR_RULE", "data_statistics", "m_step_under_prior"]

#: Accepted values of ``GaussianMixture(prior=...)``.
PRIOR_RULE = Rule(
    lambda v: v is None or (isinstance(v, str) and v == "default") or isinstance(v, ConjugatePrior),
    "None, 'default' or a gaussmix.ConjugatePrior",
)


@dataclass(frozen=True, eq=False)
class _MapStep:
    """``m_step``'s signature, returning posterior modes under a resolved prior."""

    prior: ResolvedPrior

    def __call__(self, stats, model, reg_covar, previous=None):
        return map_m_step(stats, model, self.prior, reg_covar, previous)


def data_statistics(data):
    """One-component statistics of all rows, centred on their weighted mean (two passes)."""
    totals = data.map_reduce(
        lambda X, w: np.concatenate([[w.sum(dtype=np.float64)], w.astype(np.float64) @ X])
    )
    centre = (totals[1:] / totals[0])[np.newaxis, :]
    return data.map_reduce(
        lambda X, w: statistics_from_responsibilities(
            X, w, np.ones((X.shape[0], 1), dtype=X.dtype), centre, FULL_SCATTER
        )
    )


def m_step_under_prior(prior, data, n_components: int, model: CovarianceModel):
    """The M-step of a fit: maximum likelihood for ``prior=None``, else the posterior mode.

    Parameters
    ----------
    prior : None, "default" or ConjugatePrior
    data : data source with ``map_reduce``
        The training rows (the prior's defaults come from them).
    n_components : int
    model : CovarianceModel

    Returns
    -------
    callable
        ``step(stats, model, reg_covar, previous=None) -> MixtureParams``.
    """
    if prior is None:
        return m_step
    chosen = ConjugatePrior() if isinstance(prior, str) else prior
    return _MapStep(resolve_prior(chosen, data_statistics(data), n_components, model))
