"""A scatter lost to cancellation is exactly zero: one-row clusters are singular, always.

mclust's M-step sees an exact zero scatter for a cluster of one row and reports the cell
as NA; computing the scatter as ``second - first^2 / n`` about a shift leaves rounding
residue (~1e-12) instead, which let e.g. an EVI shape be set by rounding noise.
"""

import numpy as np
import pytest

from gaussmix.engine.core.estep import statistics_about_data_mean
from gaussmix.engine.core.mstep import component_moments, m_step
from gaussmix.engine.covariance.forms import SingularCovarianceError
from gaussmix.engine.covariance.models import get_covariance_model
from gaussmix.engine.covariance.scatter import DIAGONAL_SCATTER, FULL_SCATTER


def _partition_with_a_single_row(offset):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)) * [1.0, 10.0, 0.1] + offset
    labels = np.repeat([0, 1], 20)
    labels[7] = 2  # a cluster of one row
    resp = np.eye(3)[labels]
    return X, resp


@pytest.mark.parametrize("offset", [0.0, 1e3, -7.3e5])
@pytest.mark.parametrize("scatter", [FULL_SCATTER, DIAGONAL_SCATTER])
def test_a_one_row_cluster_has_exactly_zero_scatter(offset, scatter):
    X, resp = _partition_with_a_single_row(offset)
    stats = statistics_about_data_mean(X, np.ones(len(X)), resp, scatter)
    _, means, about_mean = component_moments(stats, scatter)
    assert np.all(about_mean[2] == 0.0)
    np.testing.assert_allclose(means[2], X[7], rtol=1e-12)
    # The other clusters keep their scatter (about the mean, as numpy computes it).
    reference = np.cov(X[20:], rowvar=False) * 19
    if scatter is FULL_SCATTER:
        np.testing.assert_allclose(about_mean[1], reference, rtol=1e-8)
    else:
        np.testing.assert_allclose(about_mean[1], np.diag(reference), rtol=1e-8)


@pytest.mark.parametrize("name", ["EVI", "VEI", "VVI", "VII", "VVV", "EVV"])
def test_models_that_need_the_cluster_s_own_spread_fail_on_it_whatever_the_shift(name):
    model = get_covariance_model(name)
    for offset in (0.0, 1e3, -7.3e5):
        X, resp = _partition_with_a_single_row(offset)
        stats = statistics_about_data_mean(X, np.ones(len(X)), resp, model.scatter)
        with pytest.raises(SingularCovarianceError):
            m_step(stats, model, reg_covar=0.0)


@pytest.mark.parametrize("name", ["EII", "EEI", "EEE"])
def test_shared_covariance_models_still_fit_a_one_row_cluster(name):
    model = get_covariance_model(name)
    X, resp = _partition_with_a_single_row(1e3)
    stats = statistics_about_data_mean(X, np.ones(len(X)), resp, model.scatter)
    params = m_step(stats, model, reg_covar=0.0)
    assert np.all(np.isfinite(params.covariance.dense_covariances(3, 3)))
