"""Sufficient statistics: chunks add up to the whole, shifts do not change the M-step."""

import numpy as np
import pytest

from gaussmix.engine.core.estep import chunk_statistics, statistics_from_responsibilities
from gaussmix.engine.core.mstep import m_step
from gaussmix.engine.core.params import MixtureParams
from gaussmix.engine.core.stats import Stats
from gaussmix.engine.covariance.forms import FullForm
from gaussmix.engine.covariance.models import MODELS, get_covariance_model
from gaussmix.engine.data.arrays import ArrayData


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(257, 3)) + np.array([1.0, -2.0, 0.5])
    weights = rng.uniform(0.0, 2.0, size=257)
    means = rng.normal(size=(4, 3))
    params = MixtureParams(
        np.full(4, 0.25), means, FullForm.from_covariances(np.stack([np.eye(3)] * 4))
    )
    return X, weights, params


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("chunk_rows", [1, 16, 100, 257, 1000])
def test_chunked_statistics_equal_whole_data_statistics(problem, name, chunk_rows):
    X, weights, params = problem
    scatter = get_covariance_model(name).scatter
    whole = chunk_statistics(X, weights, params, scatter)
    chunked = ArrayData(X, weights, chunk_rows).map_reduce(
        lambda Xc, wc: chunk_statistics(Xc, wc, params, scatter)
    )
    for field in ("counts", "first", "second"):
        np.testing.assert_allclose(
            getattr(chunked, field), getattr(whole, field), rtol=1e-12, atol=1e-12
        )
    assert chunked.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-12)
    assert chunked.total_weight == pytest.approx(weights.sum(), rel=1e-12)


def test_statistics_match_direct_weighted_moments(problem):
    X, weights, _ = problem
    rng = np.random.default_rng(1)
    resp = rng.dirichlet(np.ones(2), size=X.shape[0])
    shift = rng.normal(size=(2, 3))
    stats = statistics_from_responsibilities(
        X, weights, resp, shift, get_covariance_model("full").scatter
    )
    for k in range(2):
        wr = weights * resp[:, k]
        diff = X - shift[k]
        assert stats.counts[k] == pytest.approx(wr.sum())
        np.testing.assert_allclose(stats.first[k], (wr[:, None] * diff).sum(0))
        np.testing.assert_allclose(stats.second[k], np.einsum("n,ni,nj->ij", wr, diff, diff))


@pytest.mark.parametrize("name", list(MODELS))
def test_m_step_does_not_depend_on_the_shift(problem, name):
    X, weights, _ = problem
    model = get_covariance_model(name)
    resp = np.random.default_rng(2).dirichlet(np.ones(3), size=X.shape[0])
    results = []
    for shift in (np.zeros((3, 3)), np.full((3, 3), 50.0)):
        stats = statistics_from_responsibilities(X, weights, resp, shift, model.scatter)
        results.append(m_step(stats, model, reg_covar=0.0))
    np.testing.assert_allclose(results[0].means, results[1].means, rtol=1e-10)
    np.testing.assert_allclose(
        results[0].covariance.covariances, results[1].covariance.covariances, rtol=1e-8
    )


def test_stats_with_different_shifts_do_not_add(problem):
    X, weights, params = problem
    scatter = get_covariance_model("full").scatter
    a = chunk_statistics(X, weights, params, scatter)
    moved = MixtureParams(params.weights, params.means + 1.0, params.covariance)
    b = chunk_statistics(X, weights, moved, scatter)
    with pytest.raises(ValueError, match="different shifts"):
        a + b


def test_scaled_statistics_scale_every_field(problem):
    X, weights, params = problem
    stats = chunk_statistics(X, weights, params, get_covariance_model("full").scatter)
    doubled = stats.scaled(2.0)
    summed = stats + stats
    assert isinstance(doubled, Stats)
    np.testing.assert_allclose(doubled.second, summed.second)
    assert doubled.mean_log_likelihood == pytest.approx(stats.mean_log_likelihood)
