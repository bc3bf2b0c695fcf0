"""Variational Bayes for Gaussian mixtures: conjugate updates computed from `Stats`.

The model (Bishop 2006, ch. 10.2; Blei & Jordan 2006 for the Dirichlet process) puts
a Dirichlet (or truncated stick-breaking) prior on the weights and a Normal-Wishart
prior on each component's mean and precision. The mean-field posterior has the same
families; its update reads nothing but the sufficient statistics of an E-step, so a
variational fit inherits chunking, sample weights and every data source of EM.

The conventions are scikit-learn's (``sklearn.mixture.BayesianGaussianMixture``) so
that a fit started from the same responsibilities gives the same numbers:

* ``reg_covar`` is added to the empirical covariance of each component before the
  conjugate update;
* the stored covariances are the Wishart scale inverses divided by the degrees of
  freedom, ``(nu_k W_k)^-1``, i.e. the inverse of the posterior mean precision;
* the tied model treats its one Wishart as ``K`` copies seeing ``N / K`` points each;
* the diagonal and spherical models use the Wishart expectation
  ``E[log|Lambda|] = sum_i digamma((nu - i) / 2) + d log 2 + log|W|`` as scikit-learn does;
* the lower bound drops the same constants as scikit-learn's, so the values agree.

Functions here are pure; the E-step kernel returns `Stats` whose ``log_likelihood``
slot holds the E-step's one scalar contribution to the bound, the entropy of q(z).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy.special import betaln, digamma, gammaln

from ..core.estep import kernel_chunk_rows, normalise_columns, prepared_params
from ..core.mstep import component_moments
from ..core.params import MixtureParams
from ..core.stats import Stats
from ..covariance.forms import CovarianceForm, SingularCovarianceError
from ..covariance.models import CovarianceModel
from ..covariance.scatter import Scatter
from ..data.chunks import summed_over_chunks

__all__ = [
    "NormalWishartPrior",
    "WeightModel",
    "DirichletWeights",
    "StickBreakingWeights",
    "WEIGHT_PRIORS",
    "VariationalPosterior",
    "variational_update",
    "variational_chunk_statistics",
    "evidence_lower_bound",
]


# ---------------------------------------------------------------------------- priors
@dataclass(frozen=True, eq=False)
class NormalWishartPrior:
    """Conjugate prior of the component means and precisions, and of the weights.

    Parameters
    ----------
    weight_concentration : float
        Dirichlet concentration of each weight, or the Beta(1, gamma) concentration of
        each stick for the Dirichlet process.
    mean_precision : float
        ``beta_0``: how many pseudo-points the prior mean is worth.
    mean : ndarray of shape (n_features,)
        ``m_0``, the prior mean of every component.
    degrees_of_freedom : float
        ``nu_0 > n_features - 1``.
    covariance : ndarray
        ``W_0^-1``, the Wishart scale inverse, in the covariance model's compact shape
        without the component axis: (d, d) for full and tied, (d,) for diagonal, a
        scalar for spherical.
    """

    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: np.ndarray | float


class WeightModel(Protocol):
    """The prior and posterior of the mixing weights, as `DirichletWeights` (the class
    itself, whose methods are static) or `StickBreakingWeights` give them.

    A concentration is whatever the model's ``posterior`` returns (an array for the
    Dirichlet, a pair of arrays for the sticks); only that model reads it.
    """

    def posterior(self, counts: np.ndarray, prior_concentration: float) -> Any:
        """Posterior concentration from the expected counts ``N_k``."""

    def expected_log_weights(self, concentration: Any) -> np.ndarray:
        """``E[log pi_k]`` under the posterior."""

    def mean_weights(self, concentration: Any) -> np.ndarray:
        """Posterior mean of the weights."""

    def log_normaliser(self, concentration: Any) -> float:
        """The posterior's log-normaliser term of the lower bound."""


class DirichletWeights:
    """Finite mixture: weights ~ Dirichlet(gamma_0, ..., gamma_0)."""

    name = "dirichlet_distribution"

    @staticmethod
    def posterior(counts: np.ndarray, prior_concentration: float) -> np.ndarray:
        """Dirichlet concentrations ``gamma_0 + N_k``."""
        return prior_concentration + counts

    @staticmethod
    def expected_log_weights(concentration: np.ndarray) -> np.ndarray:
        """``E[log pi_k]`` under the posterior."""
        return digamma(concentration) - digamma(concentration.sum())

    @staticmethod
    def mean_weights(concentration: np.ndarray) -> np.ndarray:
        """Posterior mean of the weights."""
        return concentration / concentration.sum()

    @staticmethod
    def log_normaliser(concentration: np.ndarray) -> float:
        """Log of the Dirichlet's normalising constant, ``log Gamma(sum) - sum log Gamma``."""
        return float(gammaln(concentration.sum()) - gammaln(concentration).sum())


class StickBreakingWeights:
    """Dirichlet process truncated at K: ``pi_k = v_k prod_{j<k} (1 - v_j)``, v_k ~ Beta(1, gamma)."""

    name = "dirichlet_process"

    @staticmethod
    def posterior(counts: np.ndarray, prior_concentration: float) -> tuple[np.ndarray, np.ndarray]:
        """Beta parameters ``(1 + N_k, gamma + sum_{j>k} N_j)`` of every stick."""
        counts_after = np.concatenate([np.cumsum(counts[::-1])[-2::-1], [0.0]])
        return 1.0 + counts, prior_concentration + counts_after

    @staticmethod
    def expected_log_weights(concentration: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """``E[log v_k] + sum_{j<k} E[log(1 - v_j)]``."""
        a, b = concentration
        digamma_total = digamma(a + b)
        log_stick = digamma(a) - digamma_total
        log_rest = digamma(b) - digamma_total
        return log_stick + np.concatenate([[0.0], np.cumsum(log_rest)[:-1]])

    @staticmethod
    def mean_weights(concentration: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Stick-breaking weights of the posterior mean sticks, renormalised over K."""
        a, b = concentration
        stick = a / (a + b)
        weights = stick * np.concatenate([[1.0], np.cumprod(b / (a + b))[:-1]])
        return weights / weights.sum()

    @staticmethod
    def log_normaliser(concentration: tuple[np.ndarray, np.ndarray]) -> float:
        """Sum of the log normalising constants of the Beta posteriors."""
        a, b = concentration
        return float(-betaln(a, b).sum())


#: ``weight_concentration_prior_type`` values and their weight models.
WEIGHT_PRIORS: dict[str, WeightModel] = {
    prior.name: prior for prior in (DirichletWeights, StickBreakingWeights)
}


# ---------------------------------------------------------------------------- posterior
def _expected_log_det_precision(degrees_of_freedom, n_features: int) -> np.ndarray:
    """``sum_{i<d} digamma((nu - i) / 2) + d log 2`` (add ``log|W|`` for E[log|Lambda|])."""
    nu = np.asarray(degrees_of_freedom, dtype=np.float64)
    offsets = np.arange(n_features).reshape(-1, *([1] * nu.ndim))
    return n_features * math.log(2.0) + digamma(0.5 * (nu - offsets)).sum(axis=0)


@dataclass(frozen=True, eq=False)
class VariationalPosterior:
    """Mean-field posterior q(weights) q(means, precisions) of a Gaussian mixture.

    It quacks like `MixtureParams` (``weights``, ``means``, ``covariance``,
    ``weighted_log_prob``), so the E-step kernels and the estimators' inference
    methods serve it unchanged; its ``weighted_log_prob`` is the variational
    ``E[log pi_k] + E[log N(x | mu_k, Lambda_k^-1)]``.

    Parameters
    ----------
    weight_prior : DirichletWeights or StickBreakingWeights
        The weight model.
    weight_concentration : ndarray of shape (n_components,) or tuple of two
        Posterior Dirichlet concentrations, or the Beta parameters of the sticks.
    mean_precision : ndarray of shape (n_components,)
        ``beta_k``.
    means : ndarray of shape (n_components, n_features)
        ``m_k``, the posterior means of the component means.
    degrees_of_freedom : ndarray of shape (n_components,) or float
        ``nu_k`` (one value for the tied model).
    covariance : CovarianceForm
        ``(nu_k W_k)^-1``: the inverse posterior mean precisions.
    """

    weight_prior: WeightModel
    weight_concentration: np.ndarray | tuple[np.ndarray, np.ndarray]
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray | float
    covariance: CovarianceForm

    @property
    def n_components(self) -> int:
        """Number of components."""
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        """Number of features."""
        return self.means.shape[1]

    @property
    def weights(self) -> np.ndarray:
        """Posterior mean weights (as scikit-learn's ``weights_``)."""
        return self.weight_prior.mean_weights(self.weight_concentration)

    def expected_log_weights(self) -> np.ndarray:
        """``E[log pi_k]``, shape (n_components,)."""
        return self.weight_prior.expected_log_weights(self.weight_concentration)

    def log_gaussian_correction(self) -> np.ndarray:
        """``E[log N(x | mu_k, Lambda_k^-1)] - log N(x | m_k, (nu_k W_k)^-1)``, shape (n_components,).

        The covariance form holds the mean precision ``nu W``; ``E[log|Lambda|]`` differs
        from its log-determinant by digamma terms, and ``E[Mahalanobis]`` adds ``d / beta_k``.
        The difference does not depend on ``x``.
        """
        n_features = self.n_features
        nu = np.asarray(self.degrees_of_freedom, dtype=np.float64)
        return -0.5 * n_features * np.log(nu) + 0.5 * (
            _expected_log_det_precision(nu, n_features) - n_features / self.mean_precision
        )

    def expected_log_terms(self) -> np.ndarray:
        """``E[log pi_k]`` plus `log_gaussian_correction`: what the E-step adds to
        ``log N(x | m_k, (nu_k W_k)^-1)``, shape (n_components,), float64."""
        return self.log_gaussian_correction() + self.expected_log_weights()

    def expected_log_gaussian(self, X: np.ndarray) -> np.ndarray:
        """``E[log N(x_n | mu_k, Lambda_k^-1)]`` under q, shape (n_samples, n_components)."""
        correction = self.log_gaussian_correction()
        return self.covariance.log_gaussian(X, self.means) + correction.astype(X.dtype)

    def weighted_log_prob(self, X: np.ndarray) -> np.ndarray:
        """``E[log pi_k] + E[log N(x_n | mu_k, Lambda_k^-1)]``, shape (n_samples, n_components)."""
        return self.expected_log_gaussian(X) + self.expected_log_weights().astype(X.dtype)

    def mixture_params(self) -> MixtureParams:
        """The point estimate: posterior mean weights, means and precisions."""
        return MixtureParams(self.weights, self.means, self.covariance)

    def is_finite(self) -> bool:
        """Whether every parameter is finite."""
        return self.mixture_params().is_finite()


def variational_update(
    stats: Stats,
    prior: NormalWishartPrior,
    model: CovarianceModel,
    weight_prior: WeightModel,
    reg_covar: float,
) -> VariationalPosterior:
    """The conjugate (variational M-step) update of q from an E-step's statistics.

    Parameters
    ----------
    stats : Stats
        Statistics under the current responsibilities; second moments match
        ``model.scatter``.
    prior : NormalWishartPrior
        The prior.
    model : CovarianceModel
        A model that ``supports_variational`` (VVV, EEE, VVI, VII).
    weight_prior : DirichletWeights or StickBreakingWeights
        The weight model.
    reg_covar : float
        Ridge added to each component's empirical covariance before the update.

    Raises
    ------
    SingularCovarianceError
        If a posterior covariance is not positive definite.
    """
    counts, data_means, scatter = component_moments(stats, model.scatter)
    empirical = model.form.add_to_diagonal(scatter / _expand(counts, scatter.shape), reg_covar)

    mean_precision = prior.mean_precision + counts
    means = (
        prior.mean_precision * prior.mean + counts[:, np.newaxis] * data_means
    ) / mean_precision[:, np.newaxis]

    # Per component: N_k (S_k + beta_0 / beta_k (xbar_k - m_0)(xbar_k - m_0)^T); then pooled
    # as the model pools scatter for its maximum-likelihood estimate, times the number
    # of points that inform each stored precision.
    pull_of_prior = model.scatter.outer(data_means - prior.mean)
    data_term = _expand(counts, scatter.shape) * (
        empirical + _expand(prior.mean_precision / mean_precision, scatter.shape) * pull_of_prior
    )
    points_per_precision = model.variational_points_per_precision(counts)
    pooled = model.estimate_covariances(data_term, counts, None)
    scale_inverse = prior.covariance + pooled * _expand(points_per_precision, pooled.shape)
    degrees_of_freedom = prior.degrees_of_freedom + points_per_precision
    covariances = scale_inverse / _expand(degrees_of_freedom, scale_inverse.shape)
    return VariationalPosterior(
        weight_prior=weight_prior,
        weight_concentration=weight_prior.posterior(counts, prior.weight_concentration),
        mean_precision=mean_precision,
        means=means,
        degrees_of_freedom=degrees_of_freedom,
        covariance=model.form.from_covariances(covariances),
    )


def _expand(values, shape: tuple[int, ...]) -> np.ndarray:
    """Per-component ``values`` (or a scalar) with trailing axes to broadcast against ``shape``."""
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(values.shape + (1,) * (len(shape) - values.ndim))


# ---------------------------------------------------------------------------- E-step, bound
def variational_chunk_statistics(
    X: np.ndarray,
    sample_weight: np.ndarray,
    posterior: VariationalPosterior,
    scatter: Scatter,
) -> Stats:
    """Variational E-step on one chunk.

    Responsibilities are ``r_nk ∝ exp(E[log pi_k] + E[log N(x_n | mu_k, Lambda_k^-1)])``;
    the returned `Stats` carry, in their ``log_likelihood`` slot, the weighted entropy
    ``-sum_n w_n sum_k r_nk log r_nk`` of q(z), the only scalar the bound needs from
    the data besides the statistics. More rows than `kernel_chunk_rows` allows are
    cut into even parts of at most that many.
    """
    return summed_over_chunks(
        _fused_variational_statistics,
        X,
        sample_weight,
        kernel_chunk_rows(X, posterior),
        posterior,
        scatter,
    )


def _fused_variational_statistics(X, sample_weight, posterior, scatter) -> Stats:
    # The fused layout of the maximum-likelihood E-step (`estep.chunk_statistics`): the
    # per-E-step constants (expected log terms included) are memoised per posterior,
    # the log-probabilities are (K, n) from matrix products, normalised in place.
    dtype = X.dtype
    prepared = prepared_params(posterior, dtype, VariationalPosterior.expected_log_terms)
    columns = prepared.columns(X)
    log_prob = prepared.log_gaussian(columns)
    unnormalised = log_prob.copy()
    weights = sample_weight.astype(dtype, copy=False)
    log_density = normalise_columns(log_prob, weights)  # log_prob now holds w_n r_nk
    # sum_nk w_n r_nk log r_nk = sum_nk w_n r_nk log_prob_nk - sum_n w_n log p(x_n), as the
    # responsibilities of a row sum to one: two dot products, no pass over log r.
    entropy = float(np.dot(log_density.astype(np.float64), weights)) - float(
        np.vdot(log_prob, unnormalised)
    )
    return prepared.statistics(X, columns, log_prob, scatter, entropy, sample_weight)


def evidence_lower_bound(entropy: float, posterior: VariationalPosterior) -> float:
    """The variational lower bound after a conjugate update, up to scikit-learn's constants.

    With q(params) the conjugate update from the responsibilities whose entropy is
    ``entropy``, the bound reduces to that entropy plus log-normalisers of the
    posterior families: ``H[q(z)] + log B(W_k, nu_k) terms + log C(weights)
    - d/2 sum log beta_k``, dropping the terms that do not change during a fit.
    """
    n_features = posterior.n_features
    nu = np.asarray(posterior.degrees_of_freedom, dtype=np.float64)
    log_det_scale_cholesky = posterior.covariance.log_det_precision_cholesky(
        n_features
    ) - 0.5 * n_features * np.log(nu)
    half_nu_offsets = 0.5 * (nu - np.arange(n_features).reshape(-1, *([1] * nu.ndim)))
    log_wishart_norm = -(
        nu * log_det_scale_cholesky
        + nu * n_features * 0.5 * math.log(2.0)
        + gammaln(half_nu_offsets).sum(axis=0)
    )
    # A tied model's one Wishart counts once per component.
    wishart_total = np.broadcast_to(log_wishart_norm, (posterior.n_components,)).sum()
    return float(
        entropy
        - wishart_total
        - posterior.weight_prior.log_normaliser(posterior.weight_concentration)
        - 0.5 * n_features * np.log(posterior.mean_precision).sum()
    )


# ---------------------------------------------------------------------------- initialisation
def _group_term(stats: Stats, group: list[int], model, reg_covar: float) -> float:
    """``n_g (log(n_g / n) + log|P_g|)``: a group's share of the classification log-likelihood.

    ``P_g`` is the Cholesky factor of the group's maximum-likelihood precision under
    ``model`` (plus ``reg_covar``), estimated from the group's pooled statistics alone.
    """
    merged = merge_statistics(stats, [group], model.scatter)
    count = merged.counts
    scatter = model.scatter.about_mean(merged.second, merged.first, count)
    form = model.estimate(scatter, count, reg_covar)
    log_det = float(np.sum(form.log_det_precision_cholesky(stats.n_features)))
    return float(count[0] * (np.log(count[0] / stats.counts.sum()) + log_det))


def merge_statistics(stats: Stats, groups: list[list[int]], scatter: Scatter) -> Stats:
    """Statistics of the components obtained by pooling each group of ``stats``' components.

    Moments are moved to the shift of each group's first member before they are added:
    ``sum r (x - c') = first + n (c - c')`` and the second moment gains the matching
    cross and square terms, so nothing needs the data again.
    """
    counts, firsts, seconds, shifts = [], [], [], []
    for group in groups:
        target = stats.shift[group[0]]
        delta = stats.shift[group] - target
        first = stats.first[group] + stats.counts[group, np.newaxis] * delta
        moved = (
            stats.second[group]
            + scatter.outer(stats.first[group] + delta)
            - scatter.outer(stats.first[group])
            - scatter.outer(delta)
            + _expand(stats.counts[group], stats.second[group].shape) * scatter.outer(delta)
        )
        counts.append(stats.counts[group].sum())
        firsts.append(first.sum(axis=0))
        seconds.append(moved.sum(axis=0))
        shifts.append(target)
    return Stats(
        counts=np.asarray(counts),
        first=np.asarray(firsts),
        second=np.asarray(seconds),
        shift=np.asarray(shifts),
        log_likelihood=stats.log_likelihood,
        total_weight=stats.total_weight,
    )


#: Ridge, relative to the data's average variance, with which `merged_partition` retries
#: when ``reg_covar`` leaves a cluster's maximum-likelihood covariance singular.
_POOLING_RIDGE = 1e-6


def merged_partition(stats: Stats, model: CovarianceModel, reg_covar: float) -> list[list[int]]:
    """`greedy_partition` with ``reg_covar``, or with a small ridge where that is singular.

    The variational fit never needs ``reg_covar`` (the Wishart prior keeps every posterior
    covariance positive definite), but this start compares maximum-likelihood covariances,
    and with ``reg_covar=0`` a k-means cluster of fewer than ``n_features + 1`` rows has
    none: the comparison then adds ``1e-6`` times the data's average variance instead.
    """
    try:
        return greedy_partition(stats, model, reg_covar)
    except SingularCovarianceError:
        nonempty = np.flatnonzero(stats.counts > 0).tolist()
        everything = merge_statistics(stats, [nonempty], model.scatter)
        scatter = model.scatter.about_mean(everything.second, everything.first, everything.counts)
        trace = np.trace(scatter[0]) if scatter.ndim == 3 else scatter.sum()
        variance = float(trace / (everything.counts[0] * stats.n_features))
        ridge = _POOLING_RIDGE * variance if variance > 0 else _POOLING_RIDGE
        return greedy_partition(stats, model, reg_covar + ridge)


def greedy_partition(stats: Stats, model: CovarianceModel, reg_covar: float) -> list[list[int]]:
    """Greedily pool components while the classification BIC improves.

    Starting from one group per non-empty component of ``stats`` (normally the clusters
    of k-means with all ``n_components``), merge the pair of groups whose union raises
    ``sum_g n_g (log(n_g / n) + log|P_g|) - p(G) log(n) / 2`` most, until no merge
    raises it (each group's covariance estimated from its own statistics). Groups are
    returned largest first, the order a stick-breaking prior prefers. Cost: O(K^2)
    small covariance estimates.
    """
    groups = {k: [k] for k in np.flatnonzero(stats.counts > 0).tolist()}
    terms = {key: _group_term(stats, group, model, reg_covar) for key, group in groups.items()}
    log_n = np.log(stats.counts.sum())

    def penalty_saved(n_groups: int) -> float:
        return (
            0.5
            * log_n
            * (
                model.n_parameters(n_groups, stats.n_features)
                - model.n_parameters(n_groups - 1, stats.n_features)
            )
        )

    def merged_term(i: int, j: int) -> float:
        return _group_term(stats, groups[i] + groups[j], model, reg_covar)

    pair_terms = {(i, j): merged_term(i, j) for i in groups for j in groups if i < j}
    while len(groups) > 1:
        saved = penalty_saved(len(groups))
        (i, j), gain = max(
            (((i, j), term - terms[i] - terms[j] + saved) for (i, j), term in pair_terms.items()),
            key=lambda item: item[1],
        )
        if gain <= 0:
            break
        groups[i] = groups[i] + groups.pop(j)
        terms[i] = pair_terms[(i, j)]
        del terms[j]
        pair_terms = {pair: term for pair, term in pair_terms.items() if not {i, j} & set(pair)}
        pair_terms.update({tuple(sorted((i, m))): merged_term(i, m) for m in groups if m != i})
    return sorted(groups.values(), key=lambda group: -stats.counts[group].sum())


def pooled_responsibilities(resp: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """Responsibilities with each group's columns summed into one column, in group order.

    Columns beyond ``len(groups)`` are zero: empty components the prior may leave empty.
    """
    pooled = np.zeros_like(resp)
    for column, group in enumerate(groups):
        pooled[:, column] = resp[:, group].sum(axis=1)
    return pooled
