"""Variational updates checked against independent references (Monte Carlo, scipy, Bishop)."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from gaussmix.engine.bayesian.variational import (
    DirichletWeights,
    NormalWishartPrior,
    StickBreakingWeights,
    evidence_lower_bound,
    merge_statistics,
    merged_partition,
    pooled_responsibilities,
    variational_chunk_statistics,
    variational_update,
)
from gaussmix.engine.core.estep import statistics_from_responsibilities
from gaussmix.engine.covariance.models import get_covariance_model


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 1, (60, 3)), rng.normal(4, 0.5, (40, 3))])
    resp = rng.dirichlet(np.ones(4), size=X.shape[0])
    return X, resp


def _prior(X, covariance):
    return NormalWishartPrior(
        weight_concentration=0.3,
        mean_precision=2.0,
        mean=X.mean(axis=0) + 0.5,
        degrees_of_freedom=X.shape[1] + 1.5,
        covariance=covariance,
    )


def _stats(X, w, resp, model, shift=None):
    shift = np.zeros((resp.shape[1], X.shape[1])) if shift is None else shift
    return statistics_from_responsibilities(X, w, resp, shift, model.scatter)


def test_dirichlet_expected_log_weights_match_monte_carlo():
    concentration = np.array([2.0, 0.5, 7.0])
    draws = np.random.default_rng(0).dirichlet(concentration, size=400_000)
    expected = np.log(draws).mean(axis=0)
    np.testing.assert_allclose(
        DirichletWeights.expected_log_weights(concentration), expected, atol=0.02
    )


def test_stick_breaking_expected_log_weights_match_monte_carlo():
    a, b = np.array([3.0, 2.0, 1.5]), np.array([4.0, 1.0, 0.5])
    sticks = np.random.default_rng(1).beta(a, b, size=(400_000, 3))
    weights = sticks * np.hstack([np.ones((sticks.shape[0], 1)), np.cumprod(1 - sticks, 1)[:, :-1]])
    np.testing.assert_allclose(
        StickBreakingWeights.expected_log_weights((a, b)), np.log(weights).mean(0), atol=0.02
    )


def test_log_normalisers_match_scipy_densities():
    alpha = np.array([2.0, 0.5, 7.0])
    point = np.array([0.2, 0.1, 0.7])
    dirichlet_log_norm = (
        scipy_stats.dirichlet.logpdf(point, alpha) - ((alpha - 1) * np.log(point)).sum()
    )
    assert DirichletWeights.log_normaliser(alpha) == pytest.approx(dirichlet_log_norm, rel=1e-12)
    a, b = np.array([3.0, 1.5]), np.array([4.0, 0.5])
    beta_log_norm = sum(
        scipy_stats.beta.logpdf(0.3, ai, bi) - (ai - 1) * np.log(0.3) - (bi - 1) * np.log(0.7)
        for ai, bi in zip(a, b)
    )
    assert StickBreakingWeights.log_normaliser((a, b)) == pytest.approx(beta_log_norm, rel=1e-12)


def test_stick_breaking_posterior_counts_the_rest():
    counts = np.array([5.0, 3.0, 2.0])
    a, b = StickBreakingWeights.posterior(counts, 0.1)
    np.testing.assert_allclose(a, [6.0, 4.0, 3.0])
    np.testing.assert_allclose(b, [5.1, 2.1, 0.1])


def test_full_update_matches_bishop_formulas(problem):
    """Bishop (2006) eqs. 10.58-10.63 written out directly from X and the responsibilities."""
    X, resp = problem
    d = X.shape[1]
    prior = _prior(X, np.cov(X.T) * 0.5)
    model = get_covariance_model("full")
    posterior = variational_update(
        _stats(X, np.ones(len(X)), resp, model), prior, model, DirichletWeights, reg_covar=0.0
    )
    for k in range(resp.shape[1]):
        r = resp[:, k]
        n_k = r.sum()
        xbar = r @ X / n_k
        S = (r[:, None] * (X - xbar)).T @ (X - xbar) / n_k
        beta = prior.mean_precision + n_k
        m = (prior.mean_precision * prior.mean + n_k * xbar) / beta
        offset = xbar - prior.mean
        W_inverse = (
            prior.covariance
            + n_k * S
            + prior.mean_precision * n_k / beta * np.outer(offset, offset)
        )
        nu = prior.degrees_of_freedom + n_k
        assert posterior.mean_precision[k] == pytest.approx(beta, rel=1e-12)
        np.testing.assert_allclose(posterior.means[k], m, rtol=1e-10)
        assert posterior.degrees_of_freedom[k] == pytest.approx(nu, rel=1e-12)
        np.testing.assert_allclose(posterior.covariance.covariances[k], W_inverse / nu, rtol=1e-10)
    np.testing.assert_allclose(posterior.weight_concentration, 0.3 + resp.sum(0), rtol=1e-12)
    assert d == 3


def test_expected_log_gaussian_matches_monte_carlo(problem):
    """E_q[log N(x | mu, Lambda^-1)] under the Normal-Wishart posterior, by sampling it."""
    X, resp = problem
    prior = _prior(X, np.cov(X.T))
    model = get_covariance_model("full")
    posterior = variational_update(
        _stats(X, np.ones(len(X)), resp[:, :2], model), prior, model, DirichletWeights, 0.0
    )
    rng = np.random.default_rng(5)
    point = X[:3]
    k = 1
    nu = posterior.degrees_of_freedom[k]
    scale = np.linalg.inv(posterior.covariance.covariances[k] * nu)  # W_k
    precisions = scipy_stats.wishart(df=nu, scale=scale).rvs(size=20_000, random_state=rng)
    covariances = np.linalg.inv(precisions)
    noise = rng.standard_normal((len(precisions), 3))
    means = posterior.means[k] + np.einsum(
        "sij,sj->si", np.linalg.cholesky(covariances / posterior.mean_precision[k]), noise
    )
    differences = point[None, :, :] - means[:, None, :]
    mahalanobis = np.einsum("snd,sde,sne->sn", differences, precisions, differences)
    _, log_det = np.linalg.slogdet(precisions)
    log_density = -0.5 * (3 * np.log(2 * np.pi) - log_det[:, None] + mahalanobis)
    expected = log_density.mean(axis=0)
    np.testing.assert_allclose(posterior.expected_log_gaussian(point)[:, k], expected, atol=0.05)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_chunked_and_weighted_statistics_give_the_same_update(problem, covariance_type):
    X, resp = problem
    model = get_covariance_model(covariance_type)
    covariance_prior = {
        "full": np.eye(3),
        "tied": np.eye(3),
        "diag": np.ones(3),
        "spherical": 1.0,
    }[covariance_type]
    prior = _prior(X, covariance_prior)
    counts = np.arange(len(X)) % 3
    repeated = np.repeat(np.arange(len(X)), counts)
    whole = _stats(X[repeated], np.ones(len(repeated)), resp[repeated], model)
    halves = [slice(0, 37), slice(37, None)]
    weighted = sum(
        (_stats(X[h], counts[h].astype(float), resp[h], model) for h in halves[1:]),
        _stats(X[halves[0]], counts[halves[0]].astype(float), resp[halves[0]], model),
    )
    a = variational_update(whole, prior, model, StickBreakingWeights, 1e-6)
    b = variational_update(weighted, prior, model, StickBreakingWeights, 1e-6)
    np.testing.assert_allclose(a.means, b.means, rtol=1e-10)
    np.testing.assert_allclose(a.covariance.covariances, b.covariance.covariances, rtol=1e-10)
    np.testing.assert_allclose(a.weight_concentration, b.weight_concentration, rtol=1e-10)


def test_entropy_carried_by_the_e_step(problem):
    X, resp = problem
    model = get_covariance_model("diag")
    prior = _prior(X, np.ones(3))
    posterior = variational_update(
        _stats(X, np.ones(len(X)), resp, model), prior, model, DirichletWeights, 1e-6
    )
    w = np.linspace(0.5, 2.0, len(X))
    stats = variational_chunk_statistics(X, w, posterior, model.scatter)
    weighted = posterior.weighted_log_prob(X)
    r = np.exp(weighted - np.logaddexp.reduce(weighted, axis=1, keepdims=True))
    assert stats.log_likelihood == pytest.approx(-(w @ (r * np.log(r)).sum(1)), rel=1e-10)
    np.testing.assert_allclose(stats.counts, w @ r, rtol=1e-10)
    assert np.isfinite(evidence_lower_bound(stats.log_likelihood, posterior))


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_merged_statistics_equal_statistics_of_pooled_responsibilities(problem, covariance_type):
    X, resp = problem
    model = get_covariance_model(covariance_type)
    shift = np.random.default_rng(0).normal(size=(4, 3))
    stats = _stats(X, np.ones(len(X)), resp, model, shift=shift)
    groups = [[2, 0], [3], [1]]
    merged = merge_statistics(stats, groups, model.scatter)
    direct = _stats(
        X,
        np.ones(len(X)),
        pooled_responsibilities(resp, groups)[:, :3],
        model,
        shift=shift[[2, 3, 1]],
    )
    np.testing.assert_allclose(merged.counts, direct.counts, rtol=1e-12)
    np.testing.assert_allclose(merged.first, direct.first, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(merged.second, direct.second, rtol=1e-10, atol=1e-10)


def test_merged_partition_pools_pieces_of_the_same_blob():
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(0, 1, (300, 2)), rng.normal(8, 1, (200, 2))])
    # Six pieces: each blob cut in three by the sign pattern of its coordinates.
    labels = np.where(X[:, 0] < 4, 0, 3) + np.digitize(
        X[:, 1] - np.where(X[:, 0] < 4, 0, 8), [-0.5, 0.5]
    )
    resp = np.eye(6)[labels]
    model = get_covariance_model("full")
    stats = _stats(X, np.ones(len(X)), resp, model)
    groups = merged_partition(stats, model, 1e-6)
    assert sorted(map(sorted, groups)) == [[0, 1, 2], [3, 4, 5]]
    assert set(groups[0]) == {0, 1, 2}  # the bigger blob first
