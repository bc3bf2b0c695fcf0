"""DensityEstimator: HDR levels against the chi-square ellipsoid of a Gaussian, the
chapter's anomaly threshold as the 95% region, plots and errors."""

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone

import gaussmix
from gaussmix.datasets import make_gmm_data


def _gaussian_hdr_log_level(mean, covariance, probability):
    """log-density on the boundary of a Gaussian's p-HDR: the ellipsoid whose squared
    Mahalanobis radius is the chi-square(d) quantile p."""
    d = len(mean)
    radius = np.sqrt(stats.chi2.ppf(probability, d))
    boundary = mean + radius * np.linalg.cholesky(covariance)[:, 0]
    return stats.multivariate_normal(mean, covariance).logpdf(boundary)


@pytest.fixture(scope="module")
def gaussian_3d():
    rng = np.random.default_rng(5)
    covariance = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])
    return rng.multivariate_normal([1.0, -2.0, 0.5], covariance, size=20_000)


@pytest.mark.filterwarnings("ignore::gaussmix.engine.core.hierarchical.HierarchicalSubsetWarning")
@pytest.mark.parametrize(("source", "tolerance"), [("model", 0.02), ("data", 0.04)])
def test_hdr_levels_of_a_gaussian_are_its_chi_square_ellipsoids(gaussian_3d, source, tolerance):
    """Tolerance: the level is a quantile of log-densities, -r^2/2 + const; the sample
    quantile of r^2 from N = 20,000 (data) or 100,000 (model) draws has sd
    sqrt(p (1-p) / N) / f(r^2) <= 0.03 in r^2 for p in [0.5, 0.95] in 3-d, i.e. 0.015
    in the log-level; 0.02 / 0.04 is over two such sds (plus the fitted parameters'
    error, common to both sides here)."""
    density = gaussmix.DensityEstimator(
        n_components=1, covariance_types="full", hdr_source=source, random_state=0
    ).fit(gaussian_3d)
    mean, covariance = density.model_.means_[0], density.model_.covariances_[0]
    probabilities = [0.5, 0.9, 0.95]
    expected = [_gaussian_hdr_log_level(mean, covariance, p) for p in probabilities]
    np.testing.assert_allclose(density.hdr_log_levels(probabilities), expected, atol=tolerance)
    np.testing.assert_allclose(density.hdr_levels(probabilities), np.exp(expected), rtol=0.05)


def test_regions_hold_their_probability_of_new_draws():
    """Fresh rows from the true mixture fall in the p-region about p of the time
    (sd sqrt(p (1 - p) / 20000) <= 0.0036; the fit's own error adds about as much)."""
    X, _ = make_gmm_data(2000, random_state=1)
    density = gaussmix.DensityEstimator(range(1, 5), ["full"], random_state=0).fit(X)
    fresh, _ = make_gmm_data(20_000, random_state=2)
    for p in (0.5, 0.8, 0.95):
        assert density.in_region(fresh, p).mean() == pytest.approx(p, abs=0.02)


def test_the_chapter_anomaly_threshold_is_the_95_percent_region_boundary():
    """The chapter's anomaly detector (contamination 0.05) flags exactly the rows outside
    the 95% highest-density region estimated from the data, as mclust's hdrlevels does."""
    X, _ = make_gmm_data(300, random_state=42)  # the demo's data
    density = gaussmix.density_estimate(
        X, range(1, 8), ["full", "tied", "diag", "spherical"], random_state=42
    )
    detector = gaussmix.AnomalyDetector.from_fitted_mixture(density.model_, X, contamination=0.05)
    assert density.hdr_log_levels(0.95)[0] == pytest.approx(detector.threshold_, rel=1e-12)
    np.testing.assert_array_equal(density.in_region(X, 0.95), detector.predict(X) == 1)
    assert density.in_region(X, 0.95).mean() == pytest.approx(0.95, abs=1 / 300)


def test_selection_is_select_model_s_and_scores_are_the_model_s():
    X, _ = make_gmm_data(300, random_state=0)
    density = gaussmix.DensityEstimator(range(1, 5), ["full", "diag"], random_state=0).fit(X)
    selection = gaussmix.select_model(X, range(1, 5), ["full", "diag"], random_state=0)
    assert density.selection_.best_params_ == selection.best_params_
    np.testing.assert_allclose(density.score_samples(X), density.model_.score_samples(X))
    assert density.score(X) == pytest.approx(density.model_.score(X))
    draws, labels = density.sample(10)
    assert draws.shape == (10, 2) and labels.shape == (10,)
    assert clone(density).get_params()["n_components"] == range(1, 5)


def test_levels_decrease_as_the_probability_grows():
    X, _ = make_gmm_data(300, random_state=0)
    density = gaussmix.DensityEstimator(range(1, 4), ["full"], random_state=0).fit(X)
    levels = density.hdr_levels([0.25, 0.5, 0.75, 0.95])
    assert np.all(np.diff(levels) < 0)


def test_two_feature_plot_draws_the_region_boundaries_at_the_levels():
    X, _ = make_gmm_data(300, random_state=0)
    density = gaussmix.DensityEstimator(range(1, 4), ["full"], random_state=0).fit(X)
    ax = density.plot(X, probabilities=(0.5, 0.95))
    lines = [c for c in ax.collections if hasattr(c, "levels") and not c.filled]
    np.testing.assert_allclose(lines[0].levels, np.sort(density.hdr_log_levels([0.5, 0.95])))
    labels = sorted(text.get_text() for text in ax.texts)
    assert labels and set(labels) <= {"50%", "95%"}


def test_one_feature_plot_has_a_rug_and_a_shaded_region_per_level():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 300), rng.normal(5, 0.5, 100)])[:, None]
    density = gaussmix.DensityEstimator(range(1, 4), random_state=0).fit(x)
    ax = density.plot(x, probabilities=(0.5, 0.75, 0.95))
    rug = [line for line in ax.lines if line.get_marker() == "|"]
    assert len(rug) == 1 and len(rug[0].get_xdata()) == 400
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum("region" in t for t in legend) == 3


def test_marginal_regions_for_more_than_two_features(gaussian_3d):
    density = gaussmix.DensityEstimator(1, ["full"], random_state=0).fit(gaussian_3d[:500])
    ax = gaussmix.plot.density_regions(density, gaussian_3d[:500], dims=(0, 2))
    assert "marginal" in ax.get_title()


@pytest.mark.parametrize("probabilities", [0, 1, 1.5, -0.1, [], [0.5, 2]])
def test_probabilities_outside_zero_one_are_refused(probabilities):
    X, _ = make_gmm_data(100, random_state=0)
    density = gaussmix.DensityEstimator(1, ["full"]).fit(X)
    with pytest.raises(ValueError, match=r"probabilities must be numbers in \(0, 1\)"):
        density.hdr_levels(probabilities)


def test_bad_parameters_and_unfitted_use_are_refused():
    X, _ = make_gmm_data(100, random_state=0)
    with pytest.raises(ValueError, match="hdr_source must be 'data' or 'model'"):
        gaussmix.DensityEstimator(1, hdr_source="sample").fit(X)
    with pytest.raises(ValueError, match="n_hdr_samples must be an integer >= 100"):
        gaussmix.DensityEstimator(1, hdr_source="model", n_hdr_samples=10).fit(X)
    with pytest.raises(ValueError, match="one number"):
        gaussmix.DensityEstimator(1, ["full"]).fit(X).in_region(X, [0.5, 0.9])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        gaussmix.DensityEstimator().score_samples(X)
