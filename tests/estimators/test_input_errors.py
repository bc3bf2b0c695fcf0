"""Every way to misuse GaussianMixture gets a clear error; degenerate data never yields NaN."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from gaussmix import GaussianMixture

X_GOOD = np.random.default_rng(0).normal(size=(50, 2))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": 0}, "n_components"),
        ({"n_components": 2.5}, "n_components"),
        ({"covariance_type": "banana"}, "covariance_type"),
        ({"init_params": "bogus"}, "init_params"),
        ({"reg_covar": -1e-3}, "reg_covar"),
        ({"tol": -1.0}, "tol"),
        ({"max_iter": -1}, "max_iter"),
        ({"n_init": 0}, "n_init"),
        ({"verbose_interval": 0}, "verbose_interval"),
        ({"warm_start": "yes"}, "warm_start"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_invalid_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(**params).fit(X_GOOD)


def test_unknown_covariance_type_lists_the_valid_names():
    with pytest.raises(ValueError, match="'full'.*'VVV'"):
        GaussianMixture(covariance_type="ful").fit(X_GOOD)


@pytest.mark.parametrize(
    "X, error, message",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0], [1.0, 1.0]]), ValueError, "NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0], [1.0, 1.0]]), ValueError, "infinity"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), ValueError, "float"),
        (np.arange(10.0), ValueError, "2D array"),
        (np.zeros((0, 3)), ValueError, "0 sample"),
        (np.ones((2, 2, 2)), ValueError, "dim"),
    ],
)
def test_bad_data_is_refused(X, error, message):
    with pytest.raises(error, match=message):
        GaussianMixture(1).fit(X)


def test_fewer_rows_than_components():
    with pytest.raises(ValueError, match="n_components=5.*fewer components"):
        GaussianMixture(5).fit(X_GOOD[:3])


@pytest.mark.parametrize(
    "weights, message",
    [
        (-np.ones(50), "negative"),
        (np.ones(49), "one weight per row"),
        (np.zeros(50), "zero for every row"),
        (np.r_[np.nan, np.ones(49)], "NaN"),
        (["a"] * 50, "numeric"),
    ],
)
def test_bad_sample_weight(weights, message):
    with pytest.raises((ValueError, TypeError), match=message):
        GaussianMixture(2).fit(X_GOOD, sample_weight=weights)


def test_too_few_weighted_rows():
    weights = np.zeros(50)
    weights[:2] = 1
    with pytest.raises(ValueError, match="positive weight"):
        GaussianMixture(3).fit(X_GOOD, sample_weight=weights)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"means_init": np.zeros((3, 2))}, "means_init has shape"),
        ({"means_init": np.zeros((2, 3))}, "means_init has shape"),
        ({"weights_init": [0.5, 0.6]}, "sum to 1"),
        ({"weights_init": [1.5, -0.5]}, "non-negative"),
        ({"weights_init": [1.0]}, "weights_init has shape"),
        ({"precisions_init": np.ones((2, 2, 2))}, "positive definite"),
        ({"precisions_init": np.ones((2, 3, 3))}, "precisions_init has shape"),
        ({"means_init": [[np.nan, 0], [0, 0]]}, "NaN"),
    ],
)
def test_bad_initial_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2, **params).fit(X_GOOD)


@pytest.mark.parametrize(
    "covariance_type, precisions",
    [("diag", -np.ones((2, 2))), ("spherical", np.array([1.0, 0.0])), ("tied", -np.eye(2))],
)
def test_non_positive_precisions_are_refused(covariance_type, precisions):
    with pytest.raises(ValueError, match="precisions_init"):
        GaussianMixture(2, covariance_type=covariance_type, precisions_init=precisions).fit(X_GOOD)


def test_methods_before_fit_raise_not_fitted():
    gm = GaussianMixture(2)
    for method in (gm.predict, gm.predict_proba, gm.score_samples, gm.score, gm.bic):
        with pytest.raises(NotFittedError):
            method(X_GOOD)
    with pytest.raises(NotFittedError):
        gm.sample(3)
    with pytest.raises(AttributeError, match="not fitted"):
        gm.means_


def test_wrong_number_of_features_at_predict():
    gm = GaussianMixture(2, random_state=0).fit(X_GOOD)
    with pytest.raises(ValueError, match="features"):
        gm.predict(np.ones((3, 4)))


def test_sample_needs_a_positive_count():
    gm = GaussianMixture(2, random_state=0).fit(X_GOOD)
    with pytest.raises(ValueError, match="n_samples"):
        gm.sample(0)


# ---------------------------------------------------------------- degenerate data


def assert_finite_model(gm, X):
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(gm, name))), name
    assert np.all(np.isfinite(gm.score_samples(X)))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "VVV", "EII"])
def test_duplicate_points_and_constant_columns_stay_finite(covariance_type):
    rng = np.random.default_rng(1)
    X = np.c_[rng.normal(size=(60, 2)), np.full(60, 3.0)]
    X = np.vstack([X, np.repeat(X[:1], 30, axis=0)])
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    assert_finite_model(gm, X)


def test_data_far_from_the_origin_stays_finite_and_precise():
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 6]) + 1e6
    gm = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    assert_finite_model(gm, X)
    np.testing.assert_allclose(np.sort(gm.covariances_.ravel()), np.ones(4), atol=0.25)


def test_collapsed_component_without_regularisation_names_the_fix():
    # Two clusters, one of which is a single repeated point: its covariance is exactly 0.
    X = np.vstack([np.random.default_rng(3).normal(size=(40, 2)), np.full((10, 2), 5.0)])
    means = np.array([[0.0, 0.0], [5.0, 5.0]])
    with pytest.raises(ValueError, match="reg_covar"):
        GaussianMixture(2, reg_covar=0.0, means_init=means).fit(X)
    gm = GaussianMixture(2, reg_covar=1e-6, means_init=means).fit(X)
    assert_finite_model(gm, X)


def test_emptied_component_keeps_finite_parameters():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(100, 2))
    means = np.array([[0.0, 0.0], [1e3, 1e3]])  # the second component will receive no rows
    gm = GaussianMixture(2, means_init=means, random_state=0).fit(X)
    assert_finite_model(gm, X)
