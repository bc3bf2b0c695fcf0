"""Missing-value kernels against independent references (scipy densities, explicit inverses)."""

import numpy as np
import pytest
from missing_reference import reference_log_prob

import gaussmix.engine.missing.kernels as missing_module
from gaussmix.engine.core.estep import chunk_statistics
from gaussmix.engine.core.params import MixtureParams
from gaussmix.engine.covariance.forms import DiagonalForm, FullForm, SphericalForm, TiedForm
from gaussmix.engine.covariance.scatter import DIAGONAL_SCATTER, FULL_SCATTER
from gaussmix.engine.missing import (
    conditional_expectation,
    draw_imputations,
    incomplete_statistics,
    missingness_patterns,
    observed_weighted_log_prob,
)

N_FEATURES = 4
N_COMPONENTS = 3


def _random_spd(rng, d):
    A = rng.normal(size=(d, d))
    return A @ A.T + d * np.eye(d)


def _compact_covariances(form, rng):
    K, d = N_COMPONENTS, N_FEATURES
    return {
        FullForm: lambda: np.stack([_random_spd(rng, d) for _ in range(K)]),
        TiedForm: lambda: _random_spd(rng, d),
        DiagonalForm: lambda: rng.uniform(0.5, 2.0, size=(K, d)),
        SphericalForm: lambda: rng.uniform(0.5, 2.0, size=K),
    }[form]()


FORMS = [FullForm, TiedForm, DiagonalForm, SphericalForm]


@pytest.fixture(params=["automatic", "masked"])
def route(request, monkeypatch):
    """The kernel chosen for the covariances, or always the masked (general) one."""
    if request.param == "masked":
        monkeypatch.setattr(missing_module, "_diagonal_variances", lambda params: None)
    return request.param


def _params(form, seed=0):
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(N_COMPONENTS) * 3)
    means = rng.normal(scale=3.0, size=(N_COMPONENTS, N_FEATURES))
    return MixtureParams(weights, means, form.from_covariances(_compact_covariances(form, rng)))


def _data_with_holes(n=200, fraction=0.3, seed=1, all_missing_rows=()):
    rng = np.random.default_rng(seed)
    X = rng.normal(scale=3.0, size=(n, N_FEATURES))
    X[rng.random(X.shape) < fraction] = np.nan
    X[list(all_missing_rows)] = np.nan
    return X


def _reference_conditionals(row, mean, covariance):
    """Conditional mean and covariance of the missing part, by explicit inverse."""
    o = ~np.isnan(row)
    m = ~o
    S_oo_inv = np.linalg.inv(covariance[np.ix_(o, o)])
    S_mo = covariance[np.ix_(m, o)]
    filled = row.copy()
    filled[m] = mean[m] + S_mo @ S_oo_inv @ (row[o] - mean[o])
    C = np.zeros_like(covariance)
    C[np.ix_(m, m)] = covariance[np.ix_(m, m)] - S_mo @ S_oo_inv @ S_mo.T
    return filled, C


def _reference_statistics(X, w, params, labels=None):
    """Expected first and second moments about the means, row by row."""
    log_prob = reference_log_prob(X, params)
    resp = np.exp(log_prob - np.logaddexp.reduce(log_prob, axis=1, keepdims=True))
    if labels is not None:
        for n, y in enumerate(labels):
            if y >= 0:
                resp[n] = np.eye(N_COMPONENTS)[y]
    dense = params.covariance.dense_covariances(N_COMPONENTS, N_FEATURES)
    counts = np.zeros(N_COMPONENTS)
    first = np.zeros((N_COMPONENTS, N_FEATURES))
    second = np.zeros((N_COMPONENTS, N_FEATURES, N_FEATURES))
    for n, row in enumerate(X):
        if np.isnan(row).all():
            continue
        for k in range(N_COMPONENTS):
            filled, C = _reference_conditionals(row, params.means[k], dense[k])
            diff = filled - params.means[k]
            weight = w[n] * resp[n, k]
            counts[k] += weight
            first[k] += weight * diff
            second[k] += weight * (np.outer(diff, diff) + C)
    return counts, first, second


def test_patterns_group_rows_by_observed_coordinates():
    X = np.array([[1.0, np.nan, 3.0], [np.nan, 2.0, 3.0], [4.0, np.nan, 6.0], [1.0, 2.0, 3.0]])
    patterns, pattern_of_row = missingness_patterns(X)
    assert patterns.shape == (3, 3)
    for row, pattern in zip(X, pattern_of_row, strict=True):
        np.testing.assert_array_equal(patterns[pattern], ~np.isnan(row))
    assert pattern_of_row[0] == pattern_of_row[2]


def test_patterns_of_many_features():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 70))
    X[rng.random(X.shape) < 0.02] = np.nan
    X[7] = X[3]
    patterns, pattern_of_row = missingness_patterns(X)
    for row, pattern in zip(X, pattern_of_row, strict=True):
        np.testing.assert_array_equal(patterns[pattern], ~np.isnan(row))
    assert pattern_of_row[7] == pattern_of_row[3]


@pytest.mark.parametrize("form", FORMS)
def test_observed_log_prob_is_the_exact_marginal_density(form, route):
    params = _params(form)
    X = _data_with_holes(60, all_missing_rows=[5])
    np.testing.assert_allclose(
        observed_weighted_log_prob(X, params), reference_log_prob(X, params), rtol=1e-10
    )


@pytest.mark.parametrize("form", FORMS)
def test_expected_statistics_match_row_by_row_formulas(form, route):
    params = _params(form)
    X = _data_with_holes(80, all_missing_rows=[3, 9])
    w = np.random.default_rng(2).uniform(0.5, 2.0, size=X.shape[0])
    stats = incomplete_statistics(X, w, params, FULL_SCATTER)
    counts, first, second = _reference_statistics(X, w, params)
    np.testing.assert_allclose(stats.counts, counts, rtol=1e-10)
    np.testing.assert_allclose(stats.first, first, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(stats.second, second, rtol=1e-9, atol=1e-9)
    observed_rows = ~np.isnan(X).all(axis=1)
    log_density = np.logaddexp.reduce(reference_log_prob(X, params), axis=1)
    np.testing.assert_allclose(
        stats.log_likelihood, w[observed_rows] @ log_density[observed_rows], rtol=1e-10
    )
    assert stats.total_weight == pytest.approx(w[observed_rows].sum())


def test_diagonal_scatter_keeps_the_diagonal_of_the_full_one(route):
    params = _params(FullForm)
    X = _data_with_holes(70)
    w = np.ones(X.shape[0])
    full = incomplete_statistics(X, w, params, FULL_SCATTER)
    diagonal = incomplete_statistics(X, w, params, DIAGONAL_SCATTER)
    np.testing.assert_allclose(
        diagonal.second, np.diagonal(full.second, axis1=1, axis2=2), rtol=1e-12
    )


def test_labelled_rows_keep_one_hot_responsibilities(route):
    params = _params(FullForm)
    X = _data_with_holes(60)
    X[:10] = np.nan_to_num(X[:10], nan=0.5)  # some complete labelled rows too
    labels = np.full(X.shape[0], -1)
    labels[::3] = np.arange(X.shape[0])[::3] % N_COMPONENTS
    w = np.ones(X.shape[0])
    stats = incomplete_statistics(X, w, params, FULL_SCATTER, labels=labels)
    counts, first, second = _reference_statistics(X, w, params, labels)
    np.testing.assert_allclose(stats.counts, counts, rtol=1e-10)
    np.testing.assert_allclose(stats.first, first, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(stats.second, second, rtol=1e-9, atol=1e-9)
    log_prob = reference_log_prob(X, params)
    expected = np.where(
        labels >= 0,
        log_prob[np.arange(len(X)), np.maximum(labels, 0)],
        np.logaddexp.reduce(log_prob, axis=1),
    )
    assert stats.log_likelihood == pytest.approx(expected.sum(), rel=1e-10)


def test_complete_data_gives_the_ordinary_statistics():
    params = _params(FullForm)
    X = np.random.default_rng(3).normal(size=(50, N_FEATURES))
    w = np.ones(50)
    ours = incomplete_statistics(X, w, params, FULL_SCATTER)
    ordinary = chunk_statistics(X, w, params, FULL_SCATTER)
    np.testing.assert_allclose(ours.second, ordinary.second, rtol=1e-12)
    np.testing.assert_allclose(ours.first, ordinary.first, rtol=1e-12, atol=1e-12)
    assert ours.log_likelihood == pytest.approx(ordinary.log_likelihood, rel=1e-12)


def test_chunk_statistics_add_up():
    params = _params(TiedForm)
    X = _data_with_holes(90)
    w = np.random.default_rng(4).uniform(size=90)
    whole = incomplete_statistics(X, w, params, FULL_SCATTER)
    halves = incomplete_statistics(X[:40], w[:40], params, FULL_SCATTER) + incomplete_statistics(
        X[40:], w[40:], params, FULL_SCATTER
    )
    np.testing.assert_allclose(halves.second, whole.second, rtol=1e-12)
    np.testing.assert_allclose(halves.counts, whole.counts, rtol=1e-12)


def test_conditional_expectation_of_a_mixture():
    params = _params(FullForm)
    X = _data_with_holes(30, all_missing_rows=[2])
    imputed = conditional_expectation(X, params)
    log_prob = reference_log_prob(X, params)
    resp = np.exp(log_prob - np.logaddexp.reduce(log_prob, axis=1, keepdims=True))
    dense = params.covariance.dense_covariances(N_COMPONENTS, N_FEATURES)
    for n, row in enumerate(X):
        expected = sum(
            resp[n, k] * _reference_conditionals(row, params.means[k], dense[k])[0]
            if not np.isnan(row).all()
            else resp[n, k] * params.means[k]
            for k in range(N_COMPONENTS)
        )
        np.testing.assert_allclose(imputed[n], expected, rtol=1e-10)


def test_drawn_imputations_keep_observed_values_and_average_to_the_expectation():
    params = _params(FullForm)
    X = _data_with_holes(5)
    X[0, :2] = np.nan
    draws = draw_imputations(X, params, 4000, np.random.RandomState(0))
    observed = ~np.isnan(X)
    assert not np.isnan(draws).any()
    np.testing.assert_array_equal(
        draws[:, observed], np.broadcast_to(X[observed], draws[:, observed].shape)
    )
    np.testing.assert_allclose(draws.mean(axis=0), conditional_expectation(X, params), atol=0.25)
