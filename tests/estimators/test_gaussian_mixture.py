"""Behaviour of GaussianMixture: EM properties, recovery, weights, determinism, API."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from chapter_mixture import CHAPTER_COVARIANCES, CHAPTER_MEANS, CHAPTER_WEIGHTS
from gaussmix import GaussianMixture
from gaussmix.engine.covariance.models import COVARIANCE_TYPES

SKLEARN_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_log_likelihood_never_decreases(five_d_data, covariance_type, seed):
    X, _ = five_d_data
    gm = GaussianMixture(
        4,
        covariance_type=covariance_type,
        init_params="random",
        random_state=seed,
        tol=0,
        max_iter=40,
    )
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    bounds = np.asarray(gm.lower_bounds_)
    assert len(bounds) == 40 == gm.n_iter_
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


def test_recovers_the_chapter_mixture(chapter_data):
    X, labels = chapter_data
    gm = GaussianMixture(3, random_state=0, n_init=3).fit(X)
    order = [np.argmin(np.linalg.norm(gm.means_ - mean, axis=1)) for mean in CHAPTER_MEANS]
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(gm.means_[order], CHAPTER_MEANS, atol=0.2)
    # Sampling error of a covariance entry from n rows: sqrt((s_ii s_jj + s_ij^2) / n).
    n_rows = CHAPTER_WEIGHTS * len(X)
    variances = np.diagonal(CHAPTER_COVARIANCES, axis1=1, axis2=2)
    standard_errors = np.sqrt(
        (variances[:, :, None] * variances[:, None, :] + CHAPTER_COVARIANCES**2)
        / n_rows[:, None, None]
    )
    assert np.all(np.abs(gm.covariances_[order] - CHAPTER_COVARIANCES) < 4 * standard_errors)
    np.testing.assert_allclose(gm.weights_[order], CHAPTER_WEIGHTS, atol=0.04)
    assert gm.converged_
    # Hard labels agree with the generating components for the large majority of rows.
    mapping = {k: i for i, k in enumerate(order)}
    predicted = np.vectorize(mapping.get)(gm.predict(X))
    assert np.mean(predicted == labels) > 0.85


def test_score_samples_is_the_mixture_density(five_d_data):
    X, _ = five_d_data
    gm = GaussianMixture(3, random_state=0).fit(X)
    density = sum(
        w * stats.multivariate_normal(m, c).pdf(X)
        for w, m, c in zip(gm.weights_, gm.means_, gm.covariances_)
    )
    np.testing.assert_allclose(gm.score_samples(X), np.log(density), rtol=1e-10)
    assert gm.score(X) == pytest.approx(np.log(density).mean(), rel=1e-10)


@pytest.mark.parametrize("covariance_type", SKLEARN_TYPES)
def test_integer_sample_weights_equal_repeated_rows(five_d_data, covariance_type):
    X, _ = five_d_data
    counts = np.random.default_rng(0).integers(0, 4, size=X.shape[0])
    init = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    settings = dict(
        n_components=3,
        covariance_type=covariance_type,
        tol=1e-8,
        max_iter=200,
        weights_init=init.weights_,
        means_init=init.means_,
        precisions_init=init.precisions_,
    )
    weighted = GaussianMixture(**settings).fit(X, sample_weight=counts)
    repeated = GaussianMixture(**settings).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, rtol=1e-9)
    np.testing.assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-10)
    repeated_rows = np.repeat(X, counts, axis=0)
    assert weighted.bic(X, sample_weight=counts) == pytest.approx(repeated.bic(repeated_rows))


def test_zero_weight_rows_are_ignored(five_d_data):
    X, _ = five_d_data
    outliers = np.full((5, X.shape[1]), 1e3)
    settings = dict(n_components=3, random_state=0, init_params="random_from_data")
    weights = np.r_[np.ones(len(X)), np.zeros(5)]
    with_zeros = GaussianMixture(**settings).fit(np.vstack([X, outliers]), sample_weight=weights)
    starts = GaussianMixture(**settings).fit(X)  # same init only if the same rows are drawn
    assert np.all(np.isfinite(with_zeros.means_))
    assert np.abs(with_zeros.means_).max() < 100
    assert starts.converged_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_random_state_gives_the_same_model(five_d_data, covariance_type):
    X, _ = five_d_data
    a = GaussianMixture(3, covariance_type=covariance_type, random_state=5, n_init=2).fit(X)
    b = GaussianMixture(3, covariance_type=covariance_type, random_state=5, n_init=2).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.covariances_, b.covariances_)
    assert a.lower_bounds_ == b.lower_bounds_


def test_n_init_keeps_the_best_run(chapter_data):
    X, _ = chapter_data
    single_runs = [
        GaussianMixture(6, init_params="random", random_state=np.random.RandomState(11)).fit(X)
    ]
    best = GaussianMixture(6, init_params="random", n_init=4, random_state=11).fit(X)
    assert best.lower_bound_ >= single_runs[0].lower_bound_ - 1e-12


def test_fit_predict_equals_fit_then_predict(chapter_data):
    X, _ = chapter_data
    gm = GaussianMixture(3, random_state=1)
    labels = gm.fit_predict(X)
    np.testing.assert_array_equal(labels, gm.predict(X))
    np.testing.assert_array_equal(labels, gm.predict_proba(X).argmax(axis=1))


def test_predict_proba_rows_sum_to_one_and_uncertainty_measures(chapter_data):
    X, _ = chapter_data
    gm = GaussianMixture(3, random_state=1).fit(X)
    resp = gm.predict_proba(X)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)
    np.testing.assert_allclose(gm.uncertainty(X), 1 - resp.max(axis=1))
    reference = stats.entropy(resp, axis=1) / np.log(3)
    np.testing.assert_allclose(gm.entropy(X), reference, atol=1e-12)
    assert gm.entropy(X).min() >= 0 and gm.entropy(X).max() <= 1 + 1e-12


def test_warm_start_continues_from_the_previous_fit(chapter_data):
    X, _ = chapter_data
    gm = GaussianMixture(3, warm_start=True, max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    first = gm.lower_bound_
    gm.set_params(max_iter=200)
    gm.fit(X)
    assert gm.lower_bounds_[0] >= first - 1e-12
    assert gm.converged_


def test_convergence_warning_leaves_a_usable_model(chapter_data):
    X, _ = chapter_data
    gm = GaussianMixture(3, max_iter=1, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        gm.fit(X)
    assert not gm.converged_ and gm.n_iter_ == 1
    assert np.isfinite(gm.score(X))


def test_verbose_reports_progress(chapter_data, capsys):
    X, _ = chapter_data
    GaussianMixture(3, verbose=2, verbose_interval=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Iteration 1" in out and "converged" in out


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_in_float32_out(five_d_data, covariance_type):
    X, _ = five_d_data
    X32 = X.astype(np.float32)
    gm32 = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X32)
    gm64 = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(gm32, name).dtype == np.float32, name
    assert gm32.score_samples(X32).dtype == np.float32
    assert gm32.predict_proba(X32).dtype == np.float32
    assert gm32.score(X32) == pytest.approx(gm64.score(X), rel=1e-4)


def test_dataframe_feature_names_are_kept(chapter_data):
    X, _ = chapter_data
    frame = pd.DataFrame(X, columns=["eruptions", "waiting"])
    gm = GaussianMixture(2, random_state=0).fit(frame)
    np.testing.assert_array_equal(gm.feature_names_in_, ["eruptions", "waiting"])
    assert gm.n_features_in_ == 2
    assert isinstance(gm.predict(frame), np.ndarray)
    with pytest.warns(UserWarning, match="feature names"):
        gm.predict(X)


def test_sample_has_the_fitted_moments(chapter_data):
    X, _ = chapter_data
    gm = GaussianMixture(3, random_state=0).fit(X)
    draws, labels = gm.sample(20000)
    assert draws.shape == (20000, 2) and labels.shape == (20000,)
    assert np.all(np.diff(labels) >= 0)
    mixture_mean = gm.weights_ @ gm.means_
    np.testing.assert_allclose(draws.mean(axis=0), mixture_mean, atol=0.06)
    for k in range(3):
        np.testing.assert_allclose(np.cov(draws[labels == k].T), gm.covariances_[k], atol=0.15)
    np.testing.assert_allclose(np.bincount(labels) / 20000, gm.weights_, atol=0.015)


def test_mclust_names_give_dense_covariances(five_d_data):
    X, _ = five_d_data
    tied = GaussianMixture(3, covariance_type="tied", random_state=0).fit(X)
    eee = GaussianMixture(3, covariance_type="EEE", random_state=0).fit(X)
    assert tied.covariances_.shape == (5, 5)
    assert eee.covariances_.shape == (3, 5, 5)
    np.testing.assert_allclose(eee.covariances_, np.broadcast_to(tied.covariances_, (3, 5, 5)))
    np.testing.assert_allclose(
        eee.precisions_ @ eee.covariances_, np.broadcast_to(np.eye(5), (3, 5, 5)), atol=1e-10
    )
    assert eee.score(X) == pytest.approx(tied.score(X))
    assert eee.n_parameters_ == tied.n_parameters_


def test_bic_and_aic_follow_their_definitions(five_d_data):
    X, _ = five_d_data
    gm = GaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
    log_likelihood = gm.score_samples(X).sum()
    p = 3 * 5 + 3 * 5 + 2
    assert gm.n_parameters_ == p
    assert gm.bic(X) == pytest.approx(-2 * log_likelihood + p * np.log(len(X)))
    assert gm.aic(X) == pytest.approx(-2 * log_likelihood + 2 * p)


def test_clone_and_params_round_trip():
    gm = GaussianMixture(4, covariance_type="diag", tol=1e-4, random_state=3)
    copy = clone(gm)
    assert copy.get_params() == gm.get_params()
    copy.set_params(n_components=2)
    assert copy.n_components == 2 and gm.n_components == 4
