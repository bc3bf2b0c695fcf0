"""BayesianGaussianMixture: all-or-nothing fits and up-front memory refusal, as GaussianMixture."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import gaussmix.estimators.bayesian_mixture as bayesian_module
from gaussmix import BayesianGaussianMixture

X_TWO = np.random.default_rng(0).normal(size=(200, 2))
X_THREE = np.random.default_rng(1).normal(size=(200, 3))


def interrupt_on_call(monkeypatch, n_calls):
    """Make the variational E-step raise KeyboardInterrupt on its n-th call."""
    real = bayesian_module.variational_chunk_statistics
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n_calls:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(bayesian_module, "variational_chunk_statistics", flaky)


@pytest.mark.parametrize("n_calls", [1, 3])
def test_interrupted_first_fit_leaves_it_unfitted(monkeypatch, n_calls):
    interrupt_on_call(monkeypatch, n_calls)
    bgm = BayesianGaussianMixture(n_components=3, random_state=0, tol=0.0, max_iter=10)
    with pytest.raises(KeyboardInterrupt):
        bgm.fit(X_TWO)
    assert not hasattr(bgm, "n_features_in_") and not hasattr(bgm, "converged_")
    with pytest.raises(NotFittedError):
        bgm.predict(X_TWO)


def test_interrupted_refit_on_other_columns_keeps_the_previous_model(monkeypatch):
    bgm = BayesianGaussianMixture(n_components=3, random_state=0).fit(X_TWO)
    expected = bgm.predict_proba(X_TWO)
    interrupt_on_call(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        bgm.fit(X_THREE)
    assert bgm.n_features_in_ == 2
    np.testing.assert_array_equal(bgm.predict_proba(X_TWO), expected)


def test_parameters_beyond_memory_are_refused_up_front():
    X = np.random.default_rng(2).normal(size=(150, 20_000))
    with pytest.raises(ValueError, match="n_components=150 with 20000 features"):
        BayesianGaussianMixture(n_components=150, random_state=0).fit(X)
