"""Errors and warnings that scikit-learn also gives start with scikit-learn's own sentence.

The reference is scikit-learn itself, run on the same input: each gaussmix message must
start with the message scikit-learn's estimator gives, then add gaussmix's advice.
"""

import re
import warnings

import numpy as np
import pytest
import sklearn.mixture
from sklearn.exceptions import ConvergenceWarning

import gaussmix

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 2))
DEGENERATE = np.vstack([np.ones((5, 3)), np.zeros((5, 3))])  # two points, 5 copies each


def _error(estimator_class, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as error:
            estimator_class(**params).fit(X)
    return str(error.value)


def _assert_starts_with_sklearns(name, X, params, advice):
    sklearn_message = _error(getattr(sklearn.mixture, name), X, **params)
    message = _error(getattr(gaussmix, name), X, **params)
    assert message.startswith(sklearn_message.rstrip(".")), (sklearn_message, message)
    assert re.search(advice, message[len(sklearn_message) :]), message


@pytest.mark.parametrize(
    "params, advice",
    [
        ({"n_components": 2, "weights_init": np.ones((2, 1)) / 2}, r"weights_init has shape"),
        ({"n_components": 2, "weights_init": [1.5, -0.5]}, r"range from -0\.5 to 1\.5"),
        ({"n_components": 2, "weights_init": [0.2, 0.3]}, r"Divide the weights by their sum"),
        ({"n_components": 2, "means_init": np.zeros((3, 2))}, r"means_init has shape \(3, 2\)"),
        (
            {"n_components": 2, "covariance_type": "full", "precisions_init": np.ones((3, 2, 2))},
            r"precisions_init has shape",
        ),
        (
            {"n_components": 2, "covariance_type": "full", "precisions_init": -np.ones((2, 2, 2))},
            r"pass inverse covariances",
        ),
        (
            {"n_components": 2, "covariance_type": "tied", "precisions_init": -np.eye(2)},
            r"pass inverse covariances",
        ),
        (
            {"n_components": 2, "covariance_type": "diag", "precisions_init": -np.ones((2, 2))},
            r"pass inverse covariances",
        ),
        (
            {"n_components": 2, "covariance_type": "spherical", "precisions_init": [1.0, 0.0]},
            r"pass inverse covariances",
        ),
        ({"n_components": 41}, r"n_components=41 rows with positive weight, got 40"),
    ],
)
def test_gaussian_mixture_errors_start_with_scikit_learns(params, advice):
    _assert_starts_with_sklearns("GaussianMixture", X, params, advice)


def test_an_asymmetric_precision_is_refused_as_scikit_learn_does():
    precisions = np.array([[[2.0, 0.5], [0.0, 2.0]], [[1.0, 0.0], [0.0, 1.0]]])
    _assert_starts_with_sklearns(
        "GaussianMixture", X, {"n_components": 2, "precisions_init": precisions}, "symmetric"
    )


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_a_collapsed_start_gives_scikit_learns_sentence_then_the_cause(covariance_type):
    params = {
        "n_components": 10,
        "reg_covar": 0.0,
        "covariance_type": covariance_type,
        "random_state": 0,
    }
    _assert_starts_with_sklearns("GaussianMixture", DEGENERATE, params, r"reg_covar")


@pytest.mark.parametrize(
    "params, advice",
    [
        ({"degrees_of_freedom_prior": 1.0}, r"use None for n_features"),
        ({"n_components": 41}, r"Use fewer components or more data"),
        ({"mean_prior": np.zeros(3)}, r"mean_prior has shape \(3,\)"),
        ({"covariance_prior": np.eye(3)}, r"covariance_prior has shape \(3, 3\)"),
    ],
)
def test_bayesian_mixture_errors_start_with_scikit_learns(params, advice):
    _assert_starts_with_sklearns("BayesianGaussianMixture", X, params, advice)


def test_sample_count_error_starts_with_scikit_learns_words():
    fitted = gaussmix.GaussianMixture(2, random_state=0).fit(X)
    reference = sklearn.mixture.GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError) as sklearn_error:
        reference.sample(0)
    # scikit-learn prints n_components where n_samples belongs; its words up to the number
    # are the part code can match.
    sklearn_words = str(sklearn_error.value).split(":")[0]
    with pytest.raises(ValueError, match=r"expected an integer >= 1") as error:
        fitted.sample(0)
    assert str(error.value).startswith(sklearn_words + ": 0.")


@pytest.mark.parametrize("name", ["GaussianMixture", "BayesianGaussianMixture"])
def test_convergence_warning_starts_with_scikit_learns(name):
    def warning_of(estimator_class):
        with pytest.warns(ConvergenceWarning) as record:
            estimator_class(n_components=2, max_iter=1, random_state=0).fit(X)
        return str(record[0].message)

    sklearn_message = warning_of(getattr(sklearn.mixture, name))
    message = warning_of(getattr(gaussmix, name))
    assert message.startswith(sklearn_message)
    assert "did not converge in max_iter=1 iterations" in message[len(sklearn_message) :]


# ---------------------------------------------------------------- a start that diverges


def _diverging_start(max_iter):
    """Spherical, reg_covar=0, two components started on single rows with huge precision:
    the first M-step gives each a zero variance (the likelihood's unbounded direction)."""
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(30, 3))
    start = {
        "weights_init": np.full(4, 0.25),
        "means_init": np.vstack([X[:2], rng.uniform(size=(2, 3))]),
        "precisions_init": np.array([1e6, 1e6, 10.0, 10.0]),
    }
    model = gaussmix.GaussianMixture(
        4, covariance_type="spherical", reg_covar=0.0, max_iter=max_iter, **start
    )
    return X, start, model


def _mean_log_density(X, weights, means, variances):
    from scipy import stats

    densities = [
        w * stats.multivariate_normal(m, v * np.eye(X.shape[1])).pdf(X)
        for w, m, v in zip(weights, means, variances)
    ]
    return float(np.mean(np.log(np.sum(densities, axis=0))))


@pytest.mark.parametrize("max_iter", [1, 100])
def test_a_fit_that_collapses_keeps_the_last_valid_parameters_and_says_why(max_iter):
    X, start, model = _diverging_start(max_iter)
    with pytest.warns(ConvergenceWarning) as record:
        model.fit(X)
    message = str(record[0].message)
    assert message.startswith("Best performing initialization did not converge.")
    assert "EM stopped at iteration 1" in message
    assert "2 of the 4 components hold their weight on (almost) a single point" in message
    # Every attribute set, finite, and exactly the parameters entering the failed step.
    assert not model.converged_ and model.n_iter_ == 1
    np.testing.assert_array_equal(model.weights_, start["weights_init"])
    np.testing.assert_array_equal(model.means_, start["means_init"])
    np.testing.assert_allclose(model.precisions_, start["precisions_init"], rtol=1e-12)
    # lower_bound_ is their mean log-likelihood, computed here with scipy.
    expected = _mean_log_density(
        X, start["weights_init"], start["means_init"], 1 / start["precisions_init"]
    )
    np.testing.assert_allclose(model.lower_bounds_, [expected], rtol=1e-10)
    assert model.lower_bound_ == model.lower_bounds_[-1]
    np.testing.assert_allclose(model.score(X), expected, rtol=1e-10)


def test_a_start_that_cannot_be_estimated_is_still_an_error():
    # No valid parameters exist to keep: the start itself is singular.
    with pytest.raises(ValueError, match="ill-defined empirical covariance.*reg_covar"):
        gaussmix.GaussianMixture(10, reg_covar=0.0, random_state=0).fit(DEGENERATE)


def test_a_collapsing_restart_loses_to_one_that_does_not_collapse():
    X, start, _ = _diverging_start(100)
    collapsing = gaussmix.GaussianMixture(4, covariance_type="spherical", reg_covar=0.0, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        collapsing.fit(X)
    assert collapsing.collapse_reason_ is not None
    # With k-means restarts (no collapse on 30 spread rows) the best run is a real one.
    restarts = gaussmix.GaussianMixture(
        4, covariance_type="spherical", reg_covar=0.0, n_init=3, random_state=0
    ).fit(X)
    assert restarts.collapse_reason_ is None and restarts.converged_


# ---------------------------------------------------------------- variational, reg_covar=0


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data"])
def test_variational_fit_never_needs_reg_covar(covariance_type, init_params):
    # 12 rows in 5-d, 6 components: k-means clusters of 1-3 rows have no maximum-likelihood
    # covariance, but the Wishart prior keeps every posterior covariance positive definite.
    X = np.random.default_rng(5).normal(size=(12, 5))
    model = gaussmix.BayesianGaussianMixture(
        n_components=6,
        covariance_type=covariance_type,
        reg_covar=0.0,
        init_params=init_params,
        random_state=0,
        max_iter=200,
    ).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.isfinite(model.lower_bound_)
    assert np.all(np.isfinite(model.score_samples(X)))


def test_variational_fit_on_linearly_dependent_columns_names_the_cause():
    # The default Wishart scale is X's covariance, singular here: an empty component's
    # posterior is that prior, singular whatever reg_covar is.
    X = np.column_stack([RNG.normal(size=(30, 2))] * 2)
    with pytest.raises(
        ValueError, match=r"^Fitting the mixture model failed because.*linear combinations"
    ):
        gaussmix.BayesianGaussianMixture(n_components=8, random_state=0).fit(X)


def test_a_collapse_whose_start_cannot_be_shown_in_float32_stays_an_error():
    # Two float32 values ~1e-30 apart: the start's precision (~1e61) has no float32 value,
    # so there are no parameters to keep when the first M-step collapses.
    X = np.array([[4.9654626e-31], [1.2690738e-30]], dtype=np.float32)
    model = gaussmix.GaussianMixture(1, covariance_type="EEE", reg_covar=0.0, max_iter=1)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        model.fit(X)
