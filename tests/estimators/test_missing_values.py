"""GaussianMixture(missing="marginalize"): EM over observed coordinates, exact marginals, imputation."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

import gaussmix.engine.data.arrays as array_sources
from gaussmix import GaussianMixture
from gaussmix.engine.covariance.models import MODELS


def _remove_at_random(X, fraction, seed):
    rng = np.random.default_rng(seed)
    holes = X.copy()
    holes[rng.random(X.shape) < fraction] = np.nan
    return holes


@pytest.fixture(scope="module")
def holed_data(five_d_data):
    X, labels = five_d_data
    return X, _remove_at_random(X, 0.2, seed=3), labels


@pytest.fixture(scope="module")
def fitted(holed_data):
    _, X, _ = holed_data
    return GaussianMixture(3, random_state=0, missing="marginalize").fit(X)


def _reference_log_prob(gm, X):
    """log pi_k + log N(x_o | mu_o, Sigma_oo) by scipy on each row's observed sub-vector."""
    dense = gm._params.covariance.dense_covariances(*gm.means_.shape)
    out = np.empty((X.shape[0], gm.n_components))
    for n, row in enumerate(X):
        o = ~np.isnan(row)
        for k in range(gm.n_components):
            out[n, k] = np.log(gm.weights_[k]) + multivariate_normal(
                gm.means_[k][o], dense[k][np.ix_(o, o)]
            ).logpdf(row[o])
    return out


def test_nan_is_refused_by_default_with_the_option_named():
    X = np.random.default_rng(0).normal(size=(20, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*missing='marginalize'"):
        GaussianMixture().fit(X)


def test_infinity_is_refused_even_when_marginalizing():
    X = np.random.default_rng(0).normal(size=(20, 2))
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        GaussianMixture(missing="marginalize").fit(X)
    gm = GaussianMixture(missing="marginalize").fit(X[:3])
    with pytest.raises(ValueError, match="infinity"):
        gm.predict(X)


def test_invalid_missing_option_is_explained():
    with pytest.raises(ValueError, match="missing='drop'.*'error', 'marginalize'"):
        GaussianMixture(missing="drop").fit(np.ones((5, 2)))


@pytest.mark.parametrize("covariance_type", list(MODELS))
def test_observed_data_log_likelihood_never_decreases(holed_data, covariance_type):
    _, X, _ = holed_data
    gm = GaussianMixture(
        3,
        covariance_type=covariance_type,
        missing="marginalize",
        init_params="random",
        random_state=0,
        tol=0,
        max_iter=15,
    )
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    bounds = np.asarray(gm.lower_bounds_)
    assert len(bounds) == 15
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


def test_fit_with_twenty_percent_missing_recovers_the_complete_data_means(holed_data):
    complete, holed, _ = holed_data
    assert 0.15 < np.isnan(holed).mean() < 0.25
    # EM converges more slowly with missing values (less information per row): tight tol
    reference = GaussianMixture(3, random_state=0, tol=1e-5).fit(complete)
    gm = GaussianMixture(3, random_state=0, missing="marginalize", tol=1e-5).fit(holed)
    order = [np.argmin(np.linalg.norm(reference.means_ - m, axis=1)) for m in gm.means_]
    assert sorted(order) == [0, 1, 2]
    spread = np.sqrt(np.diagonal(reference.covariances_, axis1=1, axis2=2))[order]
    assert np.all(np.abs(gm.means_ - reference.means_[order]) < 0.2 * spread)
    np.testing.assert_allclose(gm.weights_, reference.weights_[order], atol=0.04)
    assert gm.n_missing_values_ == np.isnan(holed).sum()


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "VEV"])
def test_inference_uses_the_exact_marginal_density(holed_data, covariance_type):
    _, X, _ = holed_data
    gm = GaussianMixture(
        3, covariance_type=covariance_type, random_state=0, missing="marginalize"
    ).fit(X)
    rows = X[:40]
    reference = _reference_log_prob(gm, rows)
    expected_density = logsumexp(reference, axis=1)
    np.testing.assert_allclose(gm.score_samples(rows), expected_density, rtol=1e-10)
    np.testing.assert_allclose(
        gm.predict_proba(rows), np.exp(reference - expected_density[:, None]), atol=1e-12
    )
    np.testing.assert_array_equal(gm.predict(rows), reference.argmax(axis=1))
    assert gm.score(rows) == pytest.approx(expected_density.mean(), rel=1e-10)


def test_rows_without_any_value_are_ignored_with_a_warning(holed_data, fitted):
    _, X, _ = holed_data
    start = fitted
    settings = dict(
        n_components=3,
        missing="marginalize",
        tol=0,
        max_iter=8,
        weights_init=start.weights_,
        means_init=start.means_,
        precisions_init=start.precisions_,
    )
    with_empty = np.vstack([X, np.full((4, X.shape[1]), np.nan)])
    with pytest.warns(UserWarning, match="4 row"), pytest.warns(ConvergenceWarning):
        padded = GaussianMixture(**settings).fit(with_empty)
    with pytest.warns(ConvergenceWarning):
        plain = GaussianMixture(**settings).fit(X)
    np.testing.assert_allclose(padded.means_, plain.means_, rtol=1e-10)
    np.testing.assert_allclose(padded.lower_bounds_, plain.lower_bounds_, rtol=1e-10)
    # inference on an empty row: density 1, prior responsibilities
    assert padded.score_samples(with_empty[-1:])[0] == pytest.approx(0.0)
    np.testing.assert_allclose(padded.predict_proba(with_empty[-1:])[0], padded.weights_)


def test_all_rows_missing_is_an_error():
    with pytest.raises(ValueError, match="Every row of X is entirely missing"):
        GaussianMixture(missing="marginalize").fit(np.full((6, 2), np.nan))


def test_chunked_fit_equals_one_chunk(holed_data, monkeypatch):
    _, X, _ = holed_data
    settings = dict(n_components=3, random_state=0, missing="marginalize", max_iter=8, tol=0)
    with pytest.warns(ConvergenceWarning):
        whole = GaussianMixture(**settings).fit(X)
    monkeypatch.setattr(array_sources, "default_chunk_rows", lambda *args, **kwargs: 150)
    with pytest.warns(ConvergenceWarning):
        chunked = GaussianMixture(**settings).fit(X)
    np.testing.assert_allclose(chunked.means_, whole.means_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(chunked.lower_bounds_, whole.lower_bounds_, rtol=1e-10)


def test_integer_sample_weights_equal_repeated_rows(holed_data, fitted):
    _, X, _ = holed_data
    counts = np.random.default_rng(0).integers(0, 4, size=X.shape[0])
    start = fitted
    settings = dict(
        n_components=3,
        missing="marginalize",
        covariance_type="full",
        tol=0,
        max_iter=8,
        weights_init=start.weights_,
        means_init=start.means_,
        precisions_init=start.precisions_,
    )
    with pytest.warns(ConvergenceWarning):
        weighted = GaussianMixture(**settings).fit(X, sample_weight=counts)
    with pytest.warns(ConvergenceWarning):
        repeated = GaussianMixture(**settings).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_complete_data_gives_the_same_fit_either_way(five_d_data):
    X, _ = five_d_data
    plain = GaussianMixture(3, random_state=0, max_iter=10).fit(X)
    marginal = GaussianMixture(3, random_state=0, max_iter=10, missing="marginalize").fit(X)
    np.testing.assert_allclose(marginal.means_, plain.means_, rtol=1e-9, atol=1e-12)
    assert marginal.n_missing_values_ == 0


def test_dataframe_and_float32_with_missing_values(holed_data):
    _, X, _ = holed_data
    frame = pd.DataFrame(X.astype(np.float32), columns=[f"x{j}" for j in range(X.shape[1])])
    gm = GaussianMixture(3, random_state=0, missing="marginalize").fit(frame)
    assert gm.means_.dtype == np.float32
    assert list(gm.feature_names_in_) == list(frame.columns)
    assert gm.score_samples(frame).dtype == np.float32
    assert np.all(np.isfinite(gm.score_samples(frame)))


def test_impute_fills_only_the_missing_values(holed_data, fitted):
    complete, X, _ = holed_data
    gm = fitted
    filled = gm.impute(X)
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(filled[observed], X[observed])
    assert not np.isnan(filled).any()
    # the conditional expectation beats the column means as a predictor of what was removed
    column_means = np.nanmean(X, axis=0)
    error_ours = np.abs(filled - complete)[~observed].mean()
    error_means = np.abs(np.where(observed, X, column_means) - complete)[~observed].mean()
    assert error_ours < 0.8 * error_means


def test_multiple_imputations_are_reproducible_draws(holed_data, fitted):
    _, X, _ = holed_data
    gm = fitted
    draws = gm.impute(X[:50], n_samples=3, random_state=1)
    assert draws.shape == (3, 50, X.shape[1])
    np.testing.assert_array_equal(draws, gm.impute(X[:50], n_samples=3, random_state=1))
    missing = np.isnan(X[:50])
    assert not np.array_equal(draws[0][missing], draws[1][missing])
    np.testing.assert_array_equal(draws[2][~missing], X[:50][~missing])


def test_impute_works_for_a_model_fitted_on_complete_data():
    rng = np.random.default_rng(0)
    X = rng.multivariate_normal([1.0, -1.0], [[1.0, 0.6], [0.6, 2.0]], size=400)
    gm = GaussianMixture(random_state=0).fit(X)
    filled = gm.impute([[2.0, np.nan], [np.nan, 0.0]])
    mean, cov = gm.means_[0], gm.covariances_[0]
    expected_second = mean[1] + cov[1, 0] / cov[0, 0] * (2.0 - mean[0])
    expected_first = mean[0] + cov[0, 1] / cov[1, 1] * (0.0 - mean[1])
    np.testing.assert_allclose(filled, [[2.0, expected_second], [expected_first, 0.0]])


@parametrize_with_checks([GaussianMixture(n_components=1, missing="marginalize", random_state=0)])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_marginalizing_estimator_passes_sklearn_checks(estimator, check):
    check(estimator)
