"""`GaussianMixture._warm_refits`: the same fits as calling ``fit`` again and again with
``warm_start=True``, with the data validated and the fit planned once."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris

from gaussmix import GaussianMixture

X = load_iris().data


def _fitted_params(estimator):
    return (
        estimator.weights_,
        estimator.means_,
        estimator.covariances_,
        np.asarray(estimator.lower_bounds_),
    )


@pytest.mark.parametrize("covariance_type", ["VVV", "EEI", "VEV", "EVE", "VVE", "spherical"])
@pytest.mark.parametrize("sample_weight", [None, np.linspace(0.5, 2.0, X.shape[0])])
def test_each_step_is_another_warm_fit(covariance_type, sample_weight):
    settings = dict(
        n_components=3,
        covariance_type=covariance_type,
        max_iter=1,
        warm_start=True,
        random_state=0,
        init_params="kmeans",
    )
    refitted = GaussianMixture(**settings)
    stepped = GaussianMixture(**settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        steps = stepped._warm_refits(X, sample_weight=sample_weight)
        for _ in range(6):
            refitted.fit(X, sample_weight=sample_weight)
            next(steps)
            for ours, theirs in zip(_fitted_params(stepped), _fitted_params(refitted)):
                np.testing.assert_array_equal(ours, theirs)
            assert stepped.n_iter_ == refitted.n_iter_
            assert stepped.converged_ == refitted.converged_


def test_mini_batch_steps_are_warm_fits_too():
    settings = dict(n_components=2, batch_size=40, max_iter=1, warm_start=True, random_state=0)
    refitted, stepped = GaussianMixture(**settings), GaussianMixture(**settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        steps = stepped._warm_refits(X)
        for _ in range(3):
            refitted.fit(X)
            next(steps)
            for ours, theirs in zip(_fitted_params(stepped), _fitted_params(refitted)):
                np.testing.assert_array_equal(ours, theirs)


def test_steps_leave_the_degeneracy_check_to_the_caller():
    estimator = GaussianMixture(n_components=2, warm_start=True, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X)  # a plain fit records its degeneracy
        assert estimator._degeneracy_reason is None
        steps = estimator._warm_refits(X)
        source = next(steps)
        next(steps)
    assert not hasattr(estimator, "_degeneracy_reason")  # none stale from the earlier fit
    assert estimator._record_degeneracy(source) is None
    assert estimator._degeneracy_reason is None


def test_warm_refits_need_warm_start():
    with pytest.raises(ValueError, match="warm_start=True"):
        next(GaussianMixture()._warm_refits(X))
