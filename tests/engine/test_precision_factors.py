"""The batched Cholesky factors of the precisions that every M-step computes."""

import numpy as np
import pytest
from scipy import linalg

from gaussmix.engine.covariance.forms import (
    SingularCovarianceError,
    _cholesky_of_precision,
    _cholesky_of_precisions,
)


def _stack(n_components, n_features, dtype, seed=0):
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n_components, n_features, n_features))
    covariances = factors @ np.swapaxes(factors, 1, 2) + 0.1 * np.eye(n_features)
    return covariances.astype(dtype)


@pytest.mark.parametrize(("n_components", "n_features"), [(1, 1), (9, 2), (5, 4), (3, 7)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_factors_are_upper_triangular_and_invert_the_covariances(n_components, n_features, dtype):
    covariances = _stack(n_components, n_features, dtype)
    factors = _cholesky_of_precisions(covariances)
    assert factors.dtype == dtype
    # Exact zeros below the diagonal, as an upper-triangular factor has.
    lower = np.tril_indices(n_features, k=-1)
    assert np.all(factors[:, lower[0], lower[1]] == 0.0)
    assert not np.any(np.signbit(factors[:, lower[0], lower[1]]))
    rtol = 1e-10 if dtype == np.float64 else 1e-3
    for covariance, factor in zip(covariances, factors):
        reference = _cholesky_of_precision(covariance.astype(np.float64))  # SciPy, one by one
        np.testing.assert_allclose(
            factor, reference, rtol=rtol, atol=rtol * np.abs(reference).max()
        )
        precision = linalg.inv(covariance.astype(np.float64))
        np.testing.assert_allclose(factor @ factor.T, precision, rtol=rtol * 100)


def test_same_values_as_numpy_triu_of_the_inverted_factor():
    covariances = _stack(6, 5, np.float64, seed=3)
    expected = np.triu(np.swapaxes(np.linalg.inv(np.linalg.cholesky(covariances)), -1, -2))
    np.testing.assert_array_equal(_cholesky_of_precisions(covariances), expected)


@pytest.mark.parametrize("bad", ["singular", "nan"])
def test_a_covariance_that_is_not_positive_definite_is_refused(bad):
    covariances = _stack(3, 3, np.float64)
    if bad == "singular":
        covariances[1] = np.ones((3, 3))
    else:
        covariances[2, 0, 0] = np.nan
    with pytest.raises(SingularCovarianceError):
        _cholesky_of_precisions(covariances)
