"""Semi-supervised EM: fit(X, y) with component labels for some rows and -1 for the others."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from gaussmix import GaussianMixture


@pytest.fixture(scope="module")
def parallel_cigars():
    """Two long, thin, overlapping clusters side by side: unsupervised EM splits them
    across their long axis; a few labels say which way is right."""
    rng = np.random.default_rng(0)
    covariance = np.array([[9.0, 0.0], [0.0, 0.25]])
    X = np.vstack(
        [
            rng.multivariate_normal([0.0, 0.0], covariance, 300),
            rng.multivariate_normal([0.0, 1.5], covariance, 300),
        ]
    )
    truth = np.repeat([0, 1], 300)
    y = np.full(600, -1)
    labelled = rng.choice(600, size=40, replace=False)
    y[labelled] = truth[labelled]
    return X, truth, y


def test_labels_disambiguate_what_unsupervised_em_gets_wrong(parallel_cigars):
    X, truth, y = parallel_cigars
    unsupervised = GaussianMixture(2, random_state=0).fit(X)
    semi = GaussianMixture(2, random_state=0).fit(X, y)
    unlabelled = y == -1
    ari_unsupervised = adjusted_rand_score(truth[unlabelled], unsupervised.predict(X)[unlabelled])
    ari_semi = adjusted_rand_score(truth[unlabelled], semi.predict(X)[unlabelled])
    assert ari_unsupervised < 0.2
    assert ari_semi > 0.6
    # component k is the class labelled k
    np.testing.assert_allclose(semi.means_, [[0.0, 0.0], [0.0, 1.5]], atol=0.35)
    assert np.mean(semi.predict(X)[~unlabelled] == y[~unlabelled]) > 0.85


def test_labelled_rows_keep_their_component_and_likelihood_never_decreases(parallel_cigars):
    X, truth, y = parallel_cigars
    semi = GaussianMixture(2, random_state=0, tol=1e-8, max_iter=200).fit(X, y)
    bounds = np.asarray(semi.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
    # the M-step's mean of component k, from fixed labelled and inferred unlabelled rows
    resp = semi.predict_proba(X)
    labelled = y >= 0
    resp[labelled] = np.eye(2)[y[labelled]]
    expected_means = resp.T @ X / resp.sum(axis=0)[:, None]
    np.testing.assert_allclose(semi.means_, expected_means, atol=1e-4)


def test_more_components_than_labels_seen():
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    X = np.vstack([rng.normal(c, 1.0, size=(100, 2)) for c in centres])
    y = np.full(300, -1)
    y[:10] = 2  # rows of the first cluster called component 2
    y[100:110] = 0  # rows of the second called component 0
    gm = GaussianMixture(3, random_state=0).fit(X, y)
    np.testing.assert_allclose(gm.means_[2], centres[0], atol=0.3)
    np.testing.assert_allclose(gm.means_[0], centres[1], atol=0.3)
    np.testing.assert_allclose(gm.means_[1], centres[2], atol=0.3)


def test_y_without_unlabelled_marker_or_labels_is_ignored(parallel_cigars):
    X, truth, _ = parallel_cigars
    reference = GaussianMixture(2, random_state=0).fit(X)
    for y in [None, np.full(600, -1), truth, truth.astype(float)]:
        gm = GaussianMixture(2, random_state=0).fit(X, y)
        np.testing.assert_array_equal(gm.means_, reference.means_)


def test_bad_labels_are_explained(parallel_cigars):
    X, _, y = parallel_cigars
    bad = y.copy()
    bad[y == 1] = 5
    with pytest.raises(ValueError, match="label 5.*0..1"):
        GaussianMixture(2).fit(X, bad)
    with pytest.raises(ValueError, match="one label per row"):
        GaussianMixture(2).fit(X, y[:-1])
    with pytest.raises(ValueError, match="batch_size=None"):
        GaussianMixture(2, batch_size=100).fit(X, y)


def test_labels_with_missing_values(parallel_cigars):
    X, truth, y = parallel_cigars
    holed = X.copy()
    holed[np.random.default_rng(2).random(X.shape) < 0.1] = np.nan
    with pytest.warns(UserWarning, match="every value missing"):
        gm = GaussianMixture(2, random_state=0, missing="marginalize").fit(holed, y)
    unlabelled = y == -1
    assert adjusted_rand_score(truth[unlabelled], gm.predict(holed)[unlabelled]) > 0.5
    bounds = np.asarray(gm.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
