"""``GaussianMixture.collapse_reason_``: why EM stopped at a collapse, public and read-only."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import gaussmix


def _collapsing_model(max_iter=100):
    """Spherical, reg_covar=0, two components started on single rows with huge precision:
    the first M-step would give each a zero variance."""
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(30, 3))
    model = gaussmix.GaussianMixture(
        4,
        covariance_type="spherical",
        reg_covar=0.0,
        max_iter=max_iter,
        weights_init=np.full(4, 0.25),
        means_init=np.vstack([X[:2], rng.uniform(size=(2, 3))]),
        precisions_init=np.array([1e6, 1e6, 10.0, 10.0]),
    )
    return X, model


def test_a_fit_that_stops_at_a_collapse_says_why():
    X, model = _collapsing_model()
    with pytest.warns(ConvergenceWarning) as record:
        model.fit(X)
    reason = model.collapse_reason_
    assert isinstance(reason, str) and "single point" in reason
    assert reason in str(record[0].message)  # the same text the warning gave
    assert not model.converged_ and model.n_iter_ < model.max_iter


def test_a_fit_without_a_collapse_has_none():
    X = np.random.default_rng(0).normal(size=(200, 2))
    model = gaussmix.GaussianMixture(2, random_state=0).fit(X)
    assert model.collapse_reason_ is None
    with warnings.catch_warnings():  # stopping at max_iter is not a collapse
        warnings.simplefilter("ignore", ConvergenceWarning)
        short = gaussmix.GaussianMixture(2, max_iter=1, random_state=0).fit(X)
    assert not short.converged_ and short.collapse_reason_ is None


def test_a_refit_without_a_collapse_clears_it():
    X, model = _collapsing_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    assert model.collapse_reason_ is not None
    model.set_params(weights_init=None, means_init=None, precisions_init=None, reg_covar=1e-6)
    assert model.fit(X).collapse_reason_ is None


def test_unfitted_has_no_collapse_reason_and_it_cannot_be_set():
    model = gaussmix.GaussianMixture(2)
    with pytest.raises((NotFittedError, AttributeError)):
        _ = model.collapse_reason_
    assert not hasattr(model, "collapse_reason_")
    X = np.random.default_rng(0).normal(size=(50, 2))
    model.fit(X)
    with pytest.raises(AttributeError):
        model.collapse_reason_ = "made up"
