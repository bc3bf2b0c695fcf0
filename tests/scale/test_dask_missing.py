"""Dask arrays with missing values: missing="marginalize" fits block by block."""

import numpy as np
import pytest

from gaussmix import GaussianMixture

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def holes(blobs):
    rng = np.random.default_rng(7)
    X = blobs[:1500].copy()
    missing = rng.random(X.shape) < 0.15
    missing[missing.all(axis=1), 0] = False
    X[missing] = np.nan
    return X, int(missing.sum())


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_dask_marginalized_fit_equals_in_memory_fit(holes, start, covariance_type):
    X, n_missing = holes
    kwargs = {
        **start,
        "covariance_type": covariance_type,
        "precisions_init": None,
        "missing": "marginalize",
        "random_state": 0,
    }
    expected = GaussianMixture(**kwargs).fit(X)
    with dask.config.set(scheduler="threads"):
        lazy = da.from_array(X, chunks=(400, 3))
        gm = GaussianMixture(**kwargs).fit(lazy)
        labels = gm.predict(lazy)
        assert isinstance(labels, da.Array)
        labels = labels.compute()
    assert gm.n_missing_values_ == expected.n_missing_values_ == n_missing
    assert gm.n_iter_ == expected.n_iter_
    np.testing.assert_allclose(gm.weights_, expected.weights_, rtol=1e-10)
    np.testing.assert_allclose(gm.means_, expected.means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gm.covariances_, expected.covariances_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gm.lower_bound_, expected.lower_bound_, rtol=1e-12)
    np.testing.assert_array_equal(labels, expected.predict(X))


def test_dask_nan_without_marginalize_names_the_option(holes):
    X, _ = holes
    with dask.config.set(scheduler="threads"), pytest.raises(ValueError, match="marginalize"):
        GaussianMixture(3, random_state=0).fit(da.from_array(X, chunks=(400, 3)))


def test_dask_marginalize_still_refuses_infinity(holes):
    X = holes[0].copy()
    X[10, 1] = np.inf
    with dask.config.set(scheduler="threads"), pytest.raises(ValueError, match="infinity"):
        GaussianMixture(3, missing="marginalize").fit(da.from_array(X, chunks=(400, 3)))
