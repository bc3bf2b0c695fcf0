"""GaussianMixture(prior=...): MAP-EM finishes fits that maximum likelihood cannot."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from gaussmix import ConjugatePrior, GaussianMixture


@pytest.fixture(scope="module")
def collapsing_data():
    """A cloud plus six copies of one point: with reg_covar=0 a component collapses on them."""
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(0, 1, (50, 2)), np.tile([[5.0, 5.0]], (6, 1))])


def test_plain_em_cannot_finish_but_the_prior_can(collapsing_data):
    with pytest.raises(ValueError, match="reg_covar"):
        GaussianMixture(2, reg_covar=0.0, random_state=0).fit(collapsing_data)
    gm = GaussianMixture(2, reg_covar=0.0, prior="default", random_state=0).fit(collapsing_data)
    assert np.all(np.linalg.eigvalsh(gm.covariances_) > 0)
    assert np.isfinite(gm.score(collapsing_data))
    point = int(np.argmin(np.abs(gm.means_ - 5.0).sum(1)))
    np.testing.assert_allclose(gm.means_[point], [5.0, 5.0], atol=0.05)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "EII", "EEI"])
def test_every_supported_model_fits_with_the_default_prior(collapsing_data, covariance_type):
    gm = GaussianMixture(
        2, covariance_type=covariance_type, reg_covar=0.0, prior="default", random_state=0
    ).fit(collapsing_data)
    assert np.all(np.isfinite(gm.covariances_))


def test_unsupported_model_says_which_are_supported(collapsing_data):
    with pytest.raises(ValueError, match="EII, VII, EEI, VVI, EEE, VVV"):
        GaussianMixture(2, covariance_type="VEV", prior="default").fit(collapsing_data)


def test_prior_parameter_is_validated(collapsing_data):
    with pytest.raises(ValueError, match="ConjugatePrior"):
        GaussianMixture(2, prior="strong").fit(collapsing_data)


def test_bic_uses_the_log_likelihood_at_the_map_estimate(collapsing_data):
    gm = GaussianMixture(2, prior=ConjugatePrior(shrinkage=0.1), random_state=0).fit(
        collapsing_data
    )
    density = sum(
        w * scipy_stats.multivariate_normal(m, c).pdf(collapsing_data)
        for w, m, c in zip(gm.weights_, gm.means_, gm.covariances_)
    )
    n_parameters = 2 * 3 + 2 * 2 + 1
    expected = -2 * np.log(density).sum() + n_parameters * np.log(len(collapsing_data))
    assert gm.bic(collapsing_data) == pytest.approx(expected, rel=1e-9)


def test_a_weak_prior_approaches_maximum_likelihood():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (300, 2)), rng.normal(6, 1, (300, 2))])
    ml = GaussianMixture(2, random_state=0, tol=1e-8).fit(X)
    weak = ConjugatePrior(shrinkage=1e-9, dof=1e-9, scale=1e-9 * np.eye(2))
    gm = GaussianMixture(2, prior=weak, random_state=0, tol=1e-8).fit(X)
    # The mode divides by n_k + d + 2 instead of n_k: a relative change of about 4/300.
    np.testing.assert_allclose(gm.means_, ml.means_, atol=1e-3)
    np.testing.assert_allclose(gm.covariances_, ml.covariances_, rtol=0.03)
