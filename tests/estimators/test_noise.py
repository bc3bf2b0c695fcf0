"""GaussianMixture(noise=...): a uniform noise component fitted jointly with the Gaussians.

Every expected value is computed independently: densities by scipy, the EM update by
hand from scipy's densities, the region volume by hand.
"""

import json
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import gaussmix
from gaussmix import GaussianMixture, select_model

CLEAN_MEANS = np.array([[0.0, 0.0], [6.0, 1.0]])
CLEAN_COVARIANCES = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.6], [0.6, 1.0]]])


def _two_clusters_and_outliers(seed=1, n=150, n_outliers=40):
    rng = np.random.default_rng(seed)
    clean = np.vstack(
        [rng.multivariate_normal(m, c, n) for m, c in zip(CLEAN_MEANS, CLEAN_COVARIANCES)]
    )
    outliers = rng.uniform([-12, -12], [18, 14], (n_outliers, 2))
    return clean, outliers


def _sorted_fit(gm):
    order = np.argsort(gm.means_[:, 0])
    return gm.means_[order], gm.covariances_[order]


def _brute_force_log_terms(X, weights, means, covariances, noise_weight, volume):
    """log pi_k N(x | mu_k, Sigma_k) by scipy, with the noise column last."""
    gaussian = [
        np.log(w) + multivariate_normal(m, c).logpdf(X)
        for w, m, c in zip(weights, means, covariances)
    ]
    noise = np.full(X.shape[0], np.log(noise_weight) - np.log(volume))
    return np.column_stack([*gaussian, noise])


def test_outliers_go_to_the_noise_and_the_gaussians_stay_clean():
    clean, outliers = _two_clusters_and_outliers()
    X = np.vstack([clean, outliers])
    reference = GaussianMixture(2, random_state=0).fit(clean)
    with_noise = GaussianMixture(2, noise=True, random_state=0).fit(X)
    without_noise = GaussianMixture(2, random_state=0).fit(X)

    labels = with_noise.predict(X)
    assert np.mean(labels[len(clean) :] == -1) > 0.8
    assert np.mean(labels[: len(clean)] == -1) < 0.02

    ref_means, ref_covariances = _sorted_fit(reference)
    means, covariances = _sorted_fit(with_noise)
    pulled_means, pulled_covariances = _sorted_fit(without_noise)
    assert np.abs(means - ref_means).max() < 0.15
    assert np.abs(covariances - ref_covariances).max() < 0.25
    # Without the noise component the outliers inflate the covariances several-fold.
    assert np.abs(pulled_covariances - ref_covariances).max() > 5.0
    assert with_noise.noise_weight_ == pytest.approx(len(outliers) / len(X), abs=0.05)
    assert with_noise.weights_.sum() + with_noise.noise_weight_ == pytest.approx(1.0)


def test_inference_matches_the_brute_force_mixture_density():
    clean, outliers = _two_clusters_and_outliers(seed=2)
    X = np.vstack([clean, outliers])
    gm = GaussianMixture(2, noise=True, random_state=0).fit(X)
    terms = _brute_force_log_terms(
        X, gm.weights_, gm.means_, gm.covariances_, gm.noise_weight_, gm.noise_volume_
    )
    log_density = logsumexp(terms, axis=1)
    np.testing.assert_allclose(gm.score_samples(X), log_density, rtol=1e-10)
    proba = gm.predict_proba(X)
    assert proba.shape == (X.shape[0], 3)
    np.testing.assert_allclose(proba, np.exp(terms - log_density[:, None]), atol=1e-10)
    expected_labels = terms.argmax(axis=1)
    expected_labels[expected_labels == 2] = -1
    np.testing.assert_array_equal(gm.predict(X), expected_labels)
    assert gm.score(X) == pytest.approx(log_density.mean())
    # One more free parameter than the same model without noise; BIC uses it.
    plain = GaussianMixture(2, random_state=0).fit(X)
    assert gm.n_parameters_ == plain.n_parameters_ + 1
    assert gm.bic(X) == pytest.approx(-2 * log_density.sum() + gm.n_parameters_ * np.log(len(X)))


def test_one_em_step_is_the_hand_computed_update():
    clean, outliers = _two_clusters_and_outliers(seed=3, n=60, n_outliers=15)
    X = np.vstack([clean, outliers])
    mask = np.zeros(len(X), dtype=bool)
    mask[len(clean) :] = True
    weights0 = np.array([0.5, 0.5])
    means0 = np.array([[0.5, 0.5], [5.0, 0.0]])
    covariances0 = np.array([np.eye(2) * 2.0, np.eye(2) * 1.5])
    gm = GaussianMixture(
        2,
        noise=mask,
        noise_volume=900.0,
        weights_init=weights0,
        means_init=means0,
        precisions_init=np.linalg.inv(covariances0),
        reg_covar=0.0,
        max_iter=1,
        tol=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)

    # The start: Gaussian weights share 1 - (fraction of masked rows) with the noise.
    noise0 = mask.mean()
    terms = _brute_force_log_terms(X, weights0 * (1 - noise0), means0, covariances0, noise0, 900.0)
    log_density = logsumexp(terms, axis=1)
    assert gm.lower_bounds_[0] == pytest.approx(log_density.mean(), rel=1e-12)
    resp = np.exp(terms - log_density[:, None])
    n = resp.sum(axis=0)
    expected_means = resp[:, :2].T @ X / n[:2, None]
    expected_covariances = np.array(
        [
            (resp[:, k, None] * (X - expected_means[k])).T @ (X - expected_means[k]) / n[k]
            for k in range(2)
        ]
    )
    np.testing.assert_allclose(gm.noise_weight_, n[2] / len(X), rtol=1e-10)
    np.testing.assert_allclose(gm.weights_, n[:2] / len(X), rtol=1e-10)
    np.testing.assert_allclose(gm.means_, expected_means, rtol=1e-10)
    np.testing.assert_allclose(gm.covariances_, expected_covariances, rtol=1e-9)
    assert gm.noise_volume_ == pytest.approx(900.0)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied", "VEV"])
def test_log_likelihood_never_decreases(covariance_type):
    clean, outliers = _two_clusters_and_outliers(seed=4, n=100, n_outliers=30)
    X = np.vstack([clean, outliers])
    gm = GaussianMixture(
        2,
        covariance_type=covariance_type,
        noise=True,
        tol=0.0,
        max_iter=40,
        init_params="random",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    bounds = np.asarray(gm.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


def test_default_volume_is_hypvol_of_the_training_rows():
    clean, outliers = _two_clusters_and_outliers(seed=5)
    X = np.vstack([clean, outliers])
    gm = GaussianMixture(2, noise=True, random_state=0).fit(X)
    # Hand computation: both boxes, from the ranges of the coordinates and of the
    # principal-component scores (eigenvectors of the sample covariance).
    coordinate_box = np.prod(np.ptp(X, axis=0))
    _, vectors = np.linalg.eigh(np.cov(X.T))
    principal_box = np.prod(np.ptp(X @ vectors, axis=0))
    assert gm.noise_volume_ == pytest.approx(min(coordinate_box, principal_box), rel=1e-10)
    given = GaussianMixture(2, noise=True, noise_volume=5000.0, random_state=0).fit(X)
    assert given.noise_volume_ == pytest.approx(5000.0)


def test_sample_draws_noise_uniformly_in_the_region():
    clean, outliers = _two_clusters_and_outliers(seed=6)
    X = np.vstack([clean, outliers])
    gm = GaussianMixture(2, noise=True, random_state=0).fit(X)
    samples, labels = gm.sample(4000)
    assert np.all(np.diff(labels) >= 0)
    noise_rows = samples[labels == -1]
    # The binomial count of noise draws: within 5 standard deviations.
    p = gm.noise_weight_
    assert abs(len(noise_rows) - 4000 * p) < 5 * np.sqrt(4000 * p * (1 - p))
    lower, upper = X.min(axis=0), X.max(axis=0)
    span = upper - lower
    assert np.all(noise_rows >= lower - 0.5 * span) and np.all(noise_rows <= upper + 0.5 * span)
    assert set(np.unique(labels)) == {-1, 0, 1}


def test_without_noise_nothing_changes():
    clean, _ = _two_clusters_and_outliers(seed=7)
    plain = GaussianMixture(2, random_state=0).fit(clean)
    explicit = GaussianMixture(2, noise=False, random_state=0).fit(clean)
    np.testing.assert_array_equal(plain.means_, explicit.means_)
    assert plain.noise_weight_ == 0.0 and plain.noise_volume_ is None
    assert plain.predict_proba(clean).shape == (len(clean), 2)
    assert clone(GaussianMixture(noise=True)).get_params()["noise"] is True


def test_save_and_load_keep_the_noise(tmp_path):
    clean, outliers = _two_clusters_and_outliers(seed=8)
    X = np.vstack([clean, outliers])
    mask = np.zeros(len(X), dtype=bool)
    mask[len(clean) :] = True
    gm = GaussianMixture(2, noise=mask, random_state=0).fit(X)
    path = tmp_path / "noise.json"
    gaussmix.save(gm, path)
    loaded = gaussmix.load(path)
    assert loaded.noise_weight_ == gm.noise_weight_
    assert loaded.noise_volume_ == pytest.approx(gm.noise_volume_, rel=1e-12)
    np.testing.assert_allclose(loaded.score_samples(X), gm.score_samples(X), rtol=1e-12)
    np.testing.assert_array_equal(loaded.predict(X), gm.predict(X))
    assert loaded.n_parameters_ == gm.n_parameters_


def test_files_without_the_noise_field_still_load(tmp_path):
    clean, _ = _two_clusters_and_outliers(seed=9)
    gm = GaussianMixture(2, random_state=0).fit(clean)
    path = tmp_path / "old.json"
    gaussmix.save(gm, path)
    document = json.loads(path.read_text())
    del document["model"]["fitted"]["noise"]
    del document["model"]["init_params"]["noise"]
    del document["model"]["init_params"]["noise_volume"]
    path.write_text(json.dumps(document))
    loaded = gaussmix.load(path)
    assert loaded.noise_weight_ == 0.0
    np.testing.assert_allclose(loaded.score_samples(clean), gm.score_samples(clean))


def test_tampered_noise_field_is_refused(tmp_path):
    clean, outliers = _two_clusters_and_outliers(seed=10)
    gm = GaussianMixture(2, noise=True, random_state=0).fit(np.vstack([clean, outliers]))
    path = tmp_path / "m.json"
    gaussmix.save(gm, path)
    document = json.loads(path.read_text())
    document["model"]["fitted"]["noise"]["weight"] = 0.9
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="sum to 1"):
        gaussmix.load(path)


@pytest.mark.parametrize(
    ("kwargs", "fit_kwargs", "match"),
    [
        ({"noise": np.zeros(5, dtype=bool)}, {}, "one entry per row"),
        ({"noise": np.zeros(230)}, {}, "boolean array"),
        ({"noise": "yes"}, {}, "Invalid noise"),
        ({"noise": True, "noise_volume": -1.0}, {}, "noise_volume"),
        ({"noise": True, "missing": "marginalize"}, {}, "noise=False"),
    ],
)
def test_bad_noise_arguments_name_the_fix(kwargs, fit_kwargs, match):
    clean, outliers = _two_clusters_and_outliers(seed=11, n=100, n_outliers=30)
    X = np.vstack([clean, outliers])
    with pytest.raises(ValueError, match=match):
        GaussianMixture(2, random_state=0, **kwargs).fit(X, **fit_kwargs)


def test_online_em_keeps_the_noise_component():
    clean, outliers = _two_clusters_and_outliers(seed=12, n=1000, n_outliers=250)
    X = np.random.default_rng(0).permutation(np.vstack([clean, outliers]))
    full = GaussianMixture(2, noise=True, random_state=0).fit(X)
    minibatch = GaussianMixture(2, noise=True, batch_size=250, max_iter=20, random_state=0)
    online = GaussianMixture(2, noise=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        minibatch.fit(X)
        for start in range(0, len(X), 250):
            online.partial_fit(X[start : start + 250])
    for model in (minibatch, online):
        assert model.noise_weight_ == pytest.approx(full.noise_weight_, abs=0.02)
        assert model.weights_.sum() + model.noise_weight_ == pytest.approx(1.0)
        np.testing.assert_allclose(_sorted_fit(model)[0], _sorted_fit(full)[0], atol=0.15)


def test_labels_are_refused():
    clean, outliers = _two_clusters_and_outliers(seed=12, n=100, n_outliers=30)
    X = np.vstack([clean, outliers])
    y = np.full(len(X), -1)
    y[:3] = 0
    with pytest.raises(ValueError, match="partial labels"):
        GaussianMixture(2, noise=True).fit(X, y)


def test_selection_with_noise_finds_the_two_clusters():
    clean, outliers = _two_clusters_and_outliers(seed=1)
    X = np.vstack([clean, outliers])
    result = select_model(
        X, n_components=range(1, 5), covariance_types=["VVV", "EII"], noise=True, random_state=0
    )
    assert result.best_params_ == {"n_components": 2, "covariance_type": "VVV"}
    assert result.best_estimator_.noise_weight_ > 0.05
    expected_noise_rows = int(np.sum(result.best_estimator_.predict(X) == -1))
    lines = result.summary().splitlines()
    header = lines.index("Clustering table:") + 1
    assert lines[header].split()[-1] == "noise"
    assert int(lines[header + 1].split()[-1]) == expected_noise_rows
    plain = GaussianMixture(2, random_state=0).fit(X)
    table = result.n_parameters_table_
    assert table.loc[2, "VVV"] == plain.n_parameters_ + 1
    # The same data without a noise component need extra Gaussians for the outliers.
    without = select_model(
        X, n_components=range(1, 5), covariance_types=["VVV", "EII"], random_state=0
    )
    assert without.best_params_["n_components"] > 2


def test_plots_show_the_noise_rows():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gaussmix.plotting import figures

    clean, outliers = _two_clusters_and_outliers(seed=13)
    X = np.vstack([clean, outliers])
    gm = GaussianMixture(2, noise=True, random_state=0).fit(X)
    n_noise = int(np.sum(gm.predict(X) == -1))
    ax = figures.clusters(gm, X)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert f"noise ({n_noise})" in legend
    figures.responsibilities(gm, X)  # K + 1 columns of responsibilities
    plt.close("all")


def test_notebook_view_shows_the_noise_row():
    clean, outliers = _two_clusters_and_outliers(seed=14)
    gm = GaussianMixture(2, noise=True, random_state=0).fit(np.vstack([clean, outliers]))
    html = gm._repr_html_()
    assert '<td class="name">noise</td>' in html and "uniform, volume" in html


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_scikit_learn_estimator_checks_with_noise():
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(
        GaussianMixture(n_components=2, noise=True, max_iter=20, random_state=0),
        expected_failed_checks={
            "check_sample_weight_equivalence_on_dense_data": (
                "k-means seeding and the nearest-neighbour clutter rule see repeated rows "
                "differently from weighted ones (repeats are each other's neighbours)"
            )
        },
    )
