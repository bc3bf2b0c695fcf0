"""MAP M-step: closed-form posterior modes against a numerical maximiser of the log posterior."""

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as scipy_stats

from gaussmix.engine.bayesian.map_prior import (
    ConjugatePrior,
    ResolvedPrior,
    check_map_supported,
    map_m_step,
    resolve_prior,
)
from gaussmix.engine.core.estep import statistics_from_responsibilities
from gaussmix.engine.covariance.models import get_covariance_model, names_with
from gaussmix.engine.covariance.scatter import FULL_SCATTER

D, K = 2, 2


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal([0, 0], [1.0, 0.5], (12, 2)), rng.normal([3, 1], 0.7, (8, 2))])
    resp = np.clip(np.eye(2)[np.r_[np.zeros(12, int), np.ones(8, int)]] + 0.1, 0, 1)
    resp /= resp.sum(1, keepdims=True)
    w = rng.uniform(0.5, 1.5, len(X))
    return X, w, resp


def _covariances(model, theta):
    """Dense (K, d, d) covariances from unconstrained parameters, per model."""
    if model in ("VVV", "EEE"):
        n_blocks = K if model == "VVV" else 1
        blocks = []
        for b in range(n_blocks):
            a, c, e = theta[3 * b : 3 * b + 3]
            L = np.array([[np.exp(a), 0.0], [c, np.exp(e)]])
            blocks.append(L @ L.T)
        return np.array(blocks * (K // n_blocks)), 3 * n_blocks
    if model in ("VVI", "EEI"):
        n_blocks = K if model == "VVI" else 1
        variances = np.exp(theta[: D * n_blocks]).reshape(n_blocks, D)
        return np.array([np.diag(v) for v in variances] * (K // n_blocks)), D * n_blocks
    n_blocks = K if model == "VII" else 1
    variances = np.exp(theta[:n_blocks])
    return np.array([v * np.eye(D) for v in variances] * (K // n_blocks)), n_blocks


def _log_prior_of_covariances(model, covariances, prior):
    distinct = covariances if model[0] == "V" else covariances[:1]
    if model in ("VVV", "EEE"):
        return sum(scipy_stats.invwishart(prior.dof, prior.scale).logpdf(c) for c in distinct)
    inverse_gamma = scipy_stats.invgamma(a=prior.dof / 2, scale=prior.scale / 2)
    if model in ("VVI", "EEI"):
        return sum(inverse_gamma.logpdf(np.diag(c)).sum() for c in distinct)
    return sum(inverse_gamma.logpdf(c[0, 0]) for c in distinct)


def _negative_log_posterior(theta, model, X, w, resp, prior):
    covariances, used = _covariances(model, theta)
    means = theta[used:].reshape(K, D)
    total = _log_prior_of_covariances(model, covariances, prior)
    for k in range(K):
        total += (w * resp[:, k]) @ scipy_stats.multivariate_normal(
            means[k], covariances[k]
        ).logpdf(X)
        total += scipy_stats.multivariate_normal(
            prior.mean, covariances[k] / prior.shrinkage
        ).logpdf(means[k])
    return -total


@pytest.mark.parametrize("model_name", names_with("supports_map"))
def test_closed_form_mode_maximises_the_log_posterior(problem, model_name):
    X, w, resp = problem
    model = get_covariance_model(model_name)
    matrix = model_name in ("VVV", "EEE")
    prior = ResolvedPrior(
        shrinkage=0.5,
        mean=np.array([1.0, 0.5]),
        dof=D + 2.0,
        scale=np.array([[0.6, 0.1], [0.1, 0.4]]) if matrix else 0.5,
    )
    stats = statistics_from_responsibilities(X, w, resp, np.zeros((K, D)), model.scatter)
    params = map_m_step(stats, model, prior, reg_covar=0.0)
    _, n_covariance = _covariances(model_name, np.zeros(20))
    start = np.concatenate([np.zeros(n_covariance), np.tile(X.mean(0), K)])
    found = optimize.minimize(
        _negative_log_posterior,
        start,
        args=(model_name, X, w, resp, prior),
        method="BFGS",
        options={"gtol": 1e-9, "maxiter": 5000},
    )
    covariances, used = _covariances(model_name, found.x)
    np.testing.assert_allclose(params.means, found.x[used:].reshape(K, D), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        params.covariance.dense_covariances(K, D), covariances, rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(params.weights, (w @ resp) / w.sum(), rtol=1e-10)


def test_default_prior_follows_mclust(problem):
    X, w, _ = problem
    stats = statistics_from_responsibilities(
        X, np.ones(len(X)), np.ones((len(X), 1)), X.mean(0, keepdims=True), FULL_SCATTER
    )
    for name, expected_scale in (
        ("VVV", np.cov(X.T) / 3 ** (2 / D)),
        ("VII", np.trace(np.cov(X.T)) / D / 3 ** (2 / D)),
    ):
        resolved = resolve_prior(ConjugatePrior(), stats, 3, get_covariance_model(name))
        assert resolved.shrinkage == 0.01
        assert resolved.dof == D + 2
        np.testing.assert_allclose(resolved.mean, X.mean(0))
        np.testing.assert_allclose(resolved.scale, expected_scale)


def test_unsupported_models_name_the_supported_ones():
    with pytest.raises(ValueError, match="EII, VII, EEI, VVI, EEE, VVV"):
        check_map_supported(get_covariance_model("VEV"))


def test_bad_prior_values_are_explained(problem):
    X, _, _ = problem
    stats = statistics_from_responsibilities(
        X, np.ones(len(X)), np.ones((len(X), 1)), X.mean(0, keepdims=True), FULL_SCATTER
    )
    with pytest.raises(ValueError, match="matrix"):
        resolve_prior(ConjugatePrior(scale=1.0), stats, 2, get_covariance_model("VVV"))
    with pytest.raises(ValueError, match="shrinkage"):
        resolve_prior(ConjugatePrior(shrinkage=-1.0), stats, 2, get_covariance_model("VII"))
    with pytest.raises(ValueError, match="mean"):
        resolve_prior(ConjugatePrior(mean=[0.0]), stats, 2, get_covariance_model("VII"))
