"""BayesianGaussianMixture: parity with scikit-learn, monotone bound, weights, pruning."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SklearnBGMM

import gaussmix.engine.data.arrays as array_sources
from gaussmix import BayesianGaussianMixture, GaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(11)
    return np.vstack(
        [
            rng.multivariate_normal([0, 0, 0], [[1, 0.4, 0], [0.4, 1, 0], [0, 0, 0.5]], 120),
            rng.normal([5, 1, -2], 0.8, (90, 3)),
            rng.normal([1, 6, 2], [0.5, 1.5, 1.0], (60, 3)),
        ]
    )


def _soft_start(n_samples, n_components, seed=0):
    return np.random.default_rng(seed).dirichlet(np.full(n_components, 0.5), size=n_samples)


class _SklearnFromResp(SklearnBGMM):
    """scikit-learn's estimator started from given responsibilities."""

    start = None

    def _initialize_parameters(self, X, random_state, xp=None):
        self._initialize(X, self.start)


class _OursFromResp(BayesianGaussianMixture):
    """gaussmix's estimator started from given responsibilities (the private init hook)."""

    start = None

    def _initial_responsibilities(self, X, weights, random_state):
        return self.start


def _pair(start, **params):
    sk, ours = _SklearnFromResp(**params), _OursFromResp(**params)
    sk.start = ours.start = start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return sk, ours


def _fit_quietly(estimator, X, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, **fit_params)


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_with_scikit_learn_from_the_same_start(blobs, covariance_type, prior_type):
    params = dict(
        n_components=5,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        max_iter=40,
        tol=1e-6,
    )
    sk, ours = _pair(_soft_start(len(blobs), 5), **params)
    _fit_quietly(sk, blobs)
    _fit_quietly(ours, blobs)
    close = dict(rtol=1e-6, atol=1e-9)
    assert ours.n_iter_ == sk.n_iter_
    assert ours.converged_ == sk.converged_
    np.testing.assert_allclose(ours.lower_bound_, np.ravel(sk.lower_bound_)[0], **close)
    np.testing.assert_allclose(ours.lower_bounds_, np.ravel(sk.lower_bounds_), **close)
    for name in (
        "weights_",
        "means_",
        "covariances_",
        "precisions_",
        "precisions_cholesky_",
        "mean_precision_",
        "degrees_of_freedom_",
        "mean_prior_",
        "covariance_prior_",
    ):
        np.testing.assert_allclose(getattr(ours, name), getattr(sk, name), err_msg=name, **close)
    np.testing.assert_allclose(
        np.asarray(ours.weight_concentration_), np.asarray(sk.weight_concentration_), **close
    )
    assert ours.weight_concentration_prior_ == sk.weight_concentration_prior_
    assert ours.degrees_of_freedom_prior_ == sk.degrees_of_freedom_prior_
    np.testing.assert_allclose(ours.predict_proba(blobs), sk.predict_proba(blobs), **close)
    np.testing.assert_allclose(ours.score_samples(blobs), sk.score_samples(blobs), **close)
    np.testing.assert_array_equal(ours.predict(blobs), sk.predict(blobs))


def test_kmeans_start_pools_the_clusters_of_scikit_learns_kmeans(blobs):
    """The kmeans start draws scikit-learn's k-means labels, then pools whole clusters."""
    from sklearn.cluster import KMeans

    labels = (
        KMeans(n_clusters=6, n_init=1, random_state=np.random.RandomState(3)).fit(blobs).labels_
    )
    bgm = BayesianGaussianMixture(n_components=6, random_state=3)
    resp = bgm._initial_responsibilities(blobs, np.ones(len(blobs)), np.random.RandomState(3))
    assert set(np.unique(resp)) <= {0.0, 1.0}
    pooled_labels = resp.argmax(axis=1)
    for label in range(6):  # every k-means cluster lands whole in one pooled component
        assert len(np.unique(pooled_labels[labels == label])) == 1
    sizes = resp.sum(axis=0)
    assert np.all(np.diff(sizes) <= 0)  # heaviest first, empty components last
    assert np.count_nonzero(sizes) == 3


def test_chapter_data_keeps_exactly_three_components(chapter_data):
    X, _ = chapter_data
    bgm = BayesianGaussianMixture(
        n_components=10,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=0.01,
        n_init=5,
        random_state=0,
    ).fit(X)
    assert bgm.converged_
    assert np.count_nonzero(bgm.weights_ > 0.02) == 3
    assert bgm.n_effective_components_ == 3
    pruned = bgm.prune(threshold=0.02)
    truth = np.array([[0.0, 0.0], [3.0, 3.0], [-2.0, 3.0]])
    order = [int(np.argmin(((pruned.means_ - mean) ** 2).sum(1))) for mean in truth]
    np.testing.assert_allclose(pruned.means_[order], truth, atol=0.25)
    np.testing.assert_allclose(pruned.weights_[order], [0.3, 0.4, 0.3], atol=0.05)


def test_user_priors_match_scikit_learn(blobs):
    params = dict(
        n_components=3,
        covariance_type="diag",
        weight_concentration_prior=0.05,
        mean_precision_prior=0.3,
        mean_prior=[1.0, 1.0, 0.0],
        degrees_of_freedom_prior=4.5,
        covariance_prior=[0.5, 1.0, 2.0],
        max_iter=25,
    )
    sk, ours = _pair(_soft_start(len(blobs), 3, seed=4), **params)
    _fit_quietly(sk, blobs)
    _fit_quietly(ours, blobs)
    np.testing.assert_allclose(ours.covariances_, sk.covariances_, rtol=1e-6)
    np.testing.assert_allclose(ours.lower_bounds_, sk.lower_bounds_, rtol=1e-6)


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases(blobs, covariance_type, prior_type):
    estimator = BayesianGaussianMixture(
        n_components=6,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        init_params="random",
        max_iter=60,
        tol=0.0,
        random_state=0,
    )
    bounds = np.asarray(_fit_quietly(estimator, blobs).lower_bounds_)
    assert len(bounds) == 60
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


def test_integer_sample_weights_equal_repeated_rows(blobs):
    counts = np.arange(len(blobs)) % 3
    repeated = np.repeat(np.arange(len(blobs)), counts)
    start = _soft_start(len(blobs), 4, seed=2)
    weighted = _OursFromResp(n_components=4, max_iter=20, tol=0.0)
    weighted.start = start
    copies = _OursFromResp(n_components=4, max_iter=20, tol=0.0)
    copies.start = start[repeated]
    _fit_quietly(weighted, blobs, sample_weight=counts)
    _fit_quietly(copies, blobs[repeated])
    np.testing.assert_allclose(weighted.means_, copies.means_, rtol=1e-9)
    np.testing.assert_allclose(weighted.covariances_, copies.covariances_, rtol=1e-9)
    np.testing.assert_allclose(weighted.lower_bounds_, copies.lower_bounds_, rtol=1e-9)


def test_chunked_e_step_equals_whole_data(blobs, monkeypatch):
    start = _soft_start(len(blobs), 4, seed=5)
    whole = _OursFromResp(n_components=4, max_iter=15, tol=0.0)
    whole.start = start
    _fit_quietly(whole, blobs)
    monkeypatch.setattr(array_sources, "default_chunk_rows", lambda *args, **kwargs: 17)
    chunked = _OursFromResp(n_components=4, max_iter=15, tol=0.0)
    chunked.start = start
    _fit_quietly(chunked, blobs)
    np.testing.assert_allclose(chunked.means_, whole.means_, rtol=1e-10)
    np.testing.assert_allclose(chunked.lower_bounds_, whole.lower_bounds_, rtol=1e-10)


def test_float32_in_float32_out(blobs):
    params = dict(n_components=3, random_state=0, max_iter=50)
    single = _fit_quietly(BayesianGaussianMixture(**params), blobs.astype(np.float32))
    double = _fit_quietly(BayesianGaussianMixture(**params), blobs)
    assert single.means_.dtype == np.float32
    assert single.predict_proba(blobs.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(
        np.sort(single.means_, axis=0), np.sort(double.means_, axis=0), rtol=1e-3, atol=1e-3
    )


def test_prune_keeps_heavy_components_with_renormalised_weights(blobs):
    bgm = _fit_quietly(
        BayesianGaussianMixture(n_components=8, weight_concentration_prior=1e-3, random_state=1),
        blobs,
    )
    threshold = 0.05
    keep = bgm.weights_ >= threshold
    pruned = bgm.prune(threshold=threshold)
    assert isinstance(pruned, GaussianMixture)
    assert pruned.n_components == keep.sum()
    np.testing.assert_allclose(pruned.weights_, bgm.weights_[keep] / bgm.weights_[keep].sum())
    np.testing.assert_allclose(pruned.means_, bgm.means_[keep])
    np.testing.assert_allclose(pruned.covariances_, bgm.covariances_[keep])
    assert pruned.covariance_type == bgm.covariance_type
    assert pruned.predict(blobs).max() < keep.sum()
    assert bgm.n_effective_components_ == np.count_nonzero(bgm.weights_ >= 0.01)


def test_prune_tied_shares_its_covariance(blobs):
    bgm = _fit_quietly(
        BayesianGaussianMixture(n_components=5, covariance_type="tied", random_state=0), blobs
    )
    pruned = bgm.prune(threshold=0.1)
    np.testing.assert_allclose(pruned.covariances_, bgm.covariances_)


def test_prune_rejects_a_threshold_that_keeps_nothing(blobs):
    bgm = _fit_quietly(BayesianGaussianMixture(n_components=3, random_state=0), blobs)
    with pytest.raises(ValueError, match="smaller threshold"):
        bgm.prune(threshold=0.99)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        bgm.prune(threshold=1.5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"covariance_type": "EEI"}, "covariance_type"),
        ({"weight_concentration_prior_type": "pitman_yor"}, "dirichlet_process"),
        ({"weight_concentration_prior": 0.0}, "weight_concentration_prior"),
        ({"degrees_of_freedom_prior": 1.5}, "n_features - 1"),
        ({"mean_prior": [0.0, 1.0]}, "mean_prior"),
        ({"covariance_prior": np.eye(2)}, "covariance_prior"),
        ({"covariance_prior": -np.eye(3)}, "positive definite"),
        ({"covariance_type": "diag", "covariance_prior": [1.0, -1.0, 1.0]}, "positive"),
    ],
)
def test_bad_parameters_say_what_to_do(blobs, params, message):
    with pytest.raises(ValueError, match=message):
        BayesianGaussianMixture(n_components=2, **params).fit(blobs)


def test_warm_start_continues_from_the_last_fit(blobs):
    bgm = BayesianGaussianMixture(
        n_components=3, max_iter=5, tol=0.0, random_state=0, warm_start=True
    )
    _fit_quietly(bgm, blobs)
    first = bgm.lower_bound_
    _fit_quietly(bgm, blobs)
    assert bgm.lower_bounds_[0] >= first - 1e-9 * abs(first)


def test_passes_scikit_learns_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(BayesianGaussianMixture(max_iter=20), on_fail=None)
    failed = [(r["check_name"], r["exception"]) for r in results if r["status"] == "failed"]
    assert failed == []


def test_memory_map_and_dask_give_the_in_memory_fit(blobs, tmp_path):
    path = tmp_path / "blobs.npy"
    np.save(path, blobs)
    start = _soft_start(len(blobs), 3, seed=6)
    fits = []
    for X in (blobs, np.load(path, mmap_mode="r")):
        estimator = _OursFromResp(n_components=3, max_iter=10, tol=0.0)
        estimator.start = start
        fits.append(_fit_quietly(estimator, X))
    np.testing.assert_allclose(fits[1].means_, fits[0].means_, rtol=1e-10)
    da = pytest.importorskip("dask.array")
    estimator = _OursFromResp(n_components=3, max_iter=10, tol=0.0)
    estimator.start = start
    lazy = _fit_quietly(estimator, da.from_array(blobs, chunks=(100, 3)))
    np.testing.assert_allclose(lazy.means_, fits[0].means_, rtol=1e-10)
    np.testing.assert_allclose(lazy.lower_bounds_, fits[0].lower_bounds_, rtol=1e-10)


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data", "random"])
def test_same_random_state_same_fit_as_scikit_learn(blobs, init_params):
    """Starts other than kmeans are scikit-learn's own: the same seed gives the same fit."""
    params = dict(n_components=4, init_params=init_params, random_state=5, n_init=2, max_iter=30)
    sk = _fit_quietly(SklearnBGMM(**params), blobs)
    ours = _fit_quietly(BayesianGaussianMixture(**params), blobs)
    np.testing.assert_allclose(ours.means_, sk.means_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.lower_bounds_, np.ravel(sk.lower_bounds_), rtol=1e-6)
