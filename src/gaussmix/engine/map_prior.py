"""MAP-EM: the M-step under a conjugate prior (Fraley & Raftery 2007, mclust's ``priorControl``).

The prior on each component is Normal-inverse-Wishart: ``mu_k | Sigma_k ~ N(mu_P,
Sigma_k / kappa_P)`` and ``Sigma_k ~ IW(nu_P, Lambda_P)`` (inverse-gamma priors on the
variances of spherical and diagonal models). The M-step returns the posterior mode,
which has a closed form for the models in `MAP_MODELS`; the mixing weights stay at
their maximum-likelihood values, as in mclust. Because ``Lambda_P`` is added to every
scatter, no covariance can collapse onto a point: the prior removes the singularities
of maximum likelihood without ``reg_covar``.

With ``W_k`` the weighted scatter of component k about its mean ``xbar_k``,
``delta_k = xbar_k - mu_P`` and ``B_k = W_k + kappa n_k / (kappa + n_k) delta_k delta_k^T``:

=====  ==========================================================================
model  posterior mode of the covariances
=====  ==========================================================================
VVV    ``(Lambda_P + B_k) / (nu_P + n_k + d + 2)``
EEE    ``(Lambda_P + sum_k B_k) / (nu_P + n + G + d + 1)``
VVI    ``(s_P + diag B_k) / (nu_P + n_k + 3)`` per variable
EEI    ``(s_P + sum_k diag B_k) / (nu_P + n + G + 2)`` per variable
VII    ``(s_P + tr B_k) / (nu_P + (n_k + 1) d + 2)``
EII    ``(s_P + sum_k tr B_k) / (nu_P + (n + G) d + 2)``
=====  ==========================================================================

and means ``(n_k xbar_k + kappa mu_P) / (n_k + kappa)``. The denominators count the
powers of ``|Sigma|`` contributed by the prior on the covariance, the prior on the
mean(s) and the likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .covariance_models import CovarianceModel
from .forms import CovarianceForm
from .mstep import component_moments
from .params import MixtureParams
from .stats import Stats

__all__ = [
    "ConjugatePrior",
    "ResolvedPrior",
    "MAP_MODELS",
    "mean_and_covariance",
    "resolve_prior",
    "map_m_step",
]


@dataclass(frozen=True)
class ConjugatePrior:
    """A conjugate prior for MAP-EM; every field left None takes mclust's default.

    Parameters
    ----------
    shrinkage : float, default=0.01
        ``kappa_P >= 0``: how many observations the prior mean is worth. 0 leaves the
        means at their maximum-likelihood values.
    mean : array-like of shape (n_features,), default=None
        ``mu_P``. None means the (weighted) mean of the data.
    dof : float, default=None
        ``nu_P``. None means ``n_features + 2``.
    scale : float or array-like of shape (n_features, n_features), default=None
        ``Lambda_P`` (a matrix, for ellipsoidal models) or ``s_P`` (a number, for
        spherical and diagonal models). None means the data's covariance divided by
        ``n_components ** (2 / n_features)``, or the mean of its diagonal so divided.

    Examples
    --------
    >>> from gaussmix import GaussianMixture
    >>> from gaussmix.engine.map_prior import ConjugatePrior
    >>> gm = GaussianMixture(2, prior=ConjugatePrior(shrinkage=0.1))
    """

    shrinkage: float = 0.01
    mean: object = None
    dof: float | None = None
    scale: object = None


@dataclass(frozen=True, eq=False)
class ResolvedPrior:
    """A `ConjugatePrior` with every value filled in for one data set and model.

    Parameters
    ----------
    shrinkage : float
    mean : ndarray of shape (n_features,)
    dof : float
    scale : ndarray of shape (n_features, n_features) or float
    """

    shrinkage: float
    mean: np.ndarray
    dof: float
    scale: np.ndarray | float


def _vvv(data_term, counts, prior, n_features):
    return (prior.scale + data_term) / (prior.dof + counts + n_features + 2)[:, None, None]


def _eee(data_term, counts, prior, n_features):
    denominator = prior.dof + counts.sum() + counts.shape[0] + n_features + 1
    return (prior.scale + data_term.sum(axis=0)) / denominator


def _vvi(data_term, counts, prior, n_features):
    return (prior.scale + data_term) / (prior.dof + counts + 3)[:, None]


def _eei(data_term, counts, prior, n_features):
    denominator = prior.dof + counts.sum() + counts.shape[0] + 2
    shared = (prior.scale + data_term.sum(axis=0)) / denominator
    return np.broadcast_to(shared, data_term.shape).copy()


def _vii(data_term, counts, prior, n_features):
    return (prior.scale + data_term.sum(axis=1)) / (prior.dof + (counts + 1) * n_features + 2)


def _eii(data_term, counts, prior, n_features):
    denominator = prior.dof + (counts.sum() + counts.shape[0]) * n_features + 2
    shared = (prior.scale + data_term.sum()) / denominator
    return np.full(counts.shape, shared)


#: Models whose posterior mode has a closed form, with the covariance update of each:
#: ``mode(B, counts, prior, n_features)`` -> covariances in the model's compact shape.
MAP_MODELS: dict[str, Callable] = {
    "EII": _eii,
    "VII": _vii,
    "EEI": _eei,
    "VVI": _vvi,
    "EEE": _eee,
    "VVV": _vvv,
}

#: mclust's univariate models are EII and VII on one feature.
_UNIVARIATE = {"E": "EII", "V": "VII"}

#: Models whose prior scale is a matrix (the others take a number).
_MATRIX_SCALE = frozenset({"EEE", "VVV"})


def check_map_supported(model: CovarianceModel) -> None:
    """Raise a ValueError naming the supported models if ``model`` has no closed-form MAP."""
    if _UNIVARIATE.get(model.name, model.name) not in MAP_MODELS:
        raise ValueError(
            f"prior= is not supported for covariance model {model.name}: its posterior mode "
            f"has no closed form here. Use one of {', '.join(MAP_MODELS)} (scikit-learn "
            "names 'full', 'tied', 'diag', 'spherical' are VVV, EEE, VVI, VII), or "
            "prior=None with reg_covar > 0."
        )


def mean_and_covariance(data_stats: Stats) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and unbiased covariance of one-component, full-scatter statistics.

    The covariance divides by ``total_weight - 1`` (``np.cov`` of rows repeated by their
    integer weights), or by the total weight when it is at most 1.
    """
    total = data_stats.counts[0]
    mean = data_stats.shift[0] + data_stats.first[0] / total
    centred = data_stats.second[0] - np.outer(data_stats.first[0], data_stats.first[0]) / total
    return mean, centred / (total - 1.0 if total > 1.0 else total)


def resolve_prior(
    prior: ConjugatePrior, data_stats: Stats, n_components: int, model: CovarianceModel
) -> ResolvedPrior:
    """Fill in mclust's defaults from the statistics of the whole data as one component.

    Parameters
    ----------
    prior : ConjugatePrior
    data_stats : Stats
        One-component statistics of all rows with full second moments.
    n_components : int
    model : CovarianceModel
        One of `MAP_MODELS`.
    """
    check_map_supported(model)
    n_features = data_stats.n_features
    data_mean, covariance = mean_and_covariance(data_stats)
    matrix = model.name in _MATRIX_SCALE
    if prior.scale is None:
        base = covariance if matrix else np.trace(covariance) / n_features
        scale = base / n_components ** (2.0 / n_features)
    else:
        scale = np.asarray(prior.scale, dtype=np.float64)
        expected = (n_features, n_features) if matrix else ()
        if scale.shape != expected:
            raise ValueError(
                f"prior scale has shape {scale.shape}; covariance model {model.name} needs "
                f"{'a (n_features, n_features) matrix' if matrix else 'a single number'}."
            )
        if (matrix and np.any(np.linalg.eigvalsh((scale + scale.T) / 2) <= 0)) or (
            not matrix and scale <= 0
        ):
            raise ValueError("prior scale must be positive (definite); pass a valid scale.")
    mean = data_mean if prior.mean is None else np.asarray(prior.mean, dtype=np.float64)
    if mean.shape != (n_features,):
        raise ValueError(f"prior mean has shape {mean.shape}; expected ({n_features},).")
    dof = n_features + 2.0 if prior.dof is None else float(prior.dof)
    if not (np.isfinite(prior.shrinkage) and prior.shrinkage >= 0):
        raise ValueError(f"prior shrinkage must be a number >= 0, got {prior.shrinkage!r}.")
    if not (np.isfinite(dof) and dof > 0):
        raise ValueError(f"prior dof must be a number > 0, got {prior.dof!r}.")
    return ResolvedPrior(float(prior.shrinkage), mean, dof, scale if matrix else float(scale))


def map_m_step(
    stats: Stats,
    model: CovarianceModel,
    prior: ResolvedPrior,
    reg_covar: float,
    previous: CovarianceForm | None = None,
) -> MixtureParams:
    """Posterior-mode parameters under ``prior`` for the given statistics.

    Weights are the maximum-likelihood ones. ``reg_covar`` is still added (0 is fine:
    the prior scale already keeps every covariance positive definite).
    """
    counts, data_means, scatter = component_moments(stats, model.scatter)
    kappa = prior.shrinkage
    means = (counts[:, np.newaxis] * data_means + kappa * prior.mean) / (counts + kappa)[
        :, np.newaxis
    ]
    pull = kappa * counts / (kappa + counts)
    data_term = scatter + pull.reshape(-1, *([1] * (scatter.ndim - 1))) * model.scatter.outer(
        data_means - prior.mean
    )
    mode = MAP_MODELS[_UNIVARIATE.get(model.name, model.name)]
    covariances = mode(data_term, counts, prior, stats.n_features)
    covariance = model.form.from_covariances(model.form.add_to_diagonal(covariances, reg_covar))
    return MixtureParams(weights=counts / counts.sum(), means=means, covariance=covariance)
