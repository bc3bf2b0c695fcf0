"""gaussmix.plot: the right artists, and ellipses that match the covariances."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.offsetbox import AnnotationBbox
from matplotlib.patches import Ellipse
from sklearn.cluster import KMeans
from sklearn.datasets import make_moons

import gaussmix
from gaussmix import AnomalyDetector, GaussianMixture, plot
from gaussmix.engine.covariance.models import ALIASES, MODELS


@pytest.fixture(scope="module")
def X(chapter_data):
    return chapter_data[0][:300]


@pytest.fixture(scope="module")
def model(X):
    return GaussianMixture(n_components=3, random_state=0).fit(X)


def _eigenvalues_2x2(c):
    """Closed-form eigenvalues (largest first) of a symmetric 2x2 matrix."""
    a, b, d = c[0, 0], c[0, 1], c[1, 1]
    mid, radius = (a + d) / 2, np.hypot((a - d) / 2, b)
    return mid + radius, mid - radius


def _public_dense(model):
    """(K, d, d) covariances from the public attribute, by its documented shape."""
    cov, K, d = model.covariances_, model.n_components, model.means_.shape[1]
    kind = model.covariance_type
    if kind == "spherical":
        return np.array([v * np.eye(d) for v in cov])
    if kind == "diag":
        return np.array([np.diag(v) for v in cov])
    if kind == "tied":
        return np.array([cov] * K)
    return cov


def _ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


def _assert_ellipse_matches(ellipse, covariance, n_std):
    major, minor = _eigenvalues_2x2(covariance)
    assert ellipse.width == pytest.approx(2 * n_std * np.sqrt(major), rel=1e-7)
    assert ellipse.height == pytest.approx(2 * n_std * np.sqrt(minor), rel=1e-7)
    direction = np.array([np.cos(np.radians(ellipse.angle)), np.sin(np.radians(ellipse.angle))])
    np.testing.assert_allclose(covariance @ direction, major * direction, atol=1e-7 * major)


@pytest.mark.parametrize("n_std", [(2.0,), (1.0, 1.5)])
def test_ellipse_geometry_matches_closed_form(n_std):
    rng = np.random.default_rng(5)
    for _ in range(20):
        factor = rng.normal(size=(2, 2))
        covariance = factor @ factor.T + 0.1 * np.eye(2)
        for n in n_std:
            width, height, angle = plot.ellipse_geometry(covariance, n)
            _assert_ellipse_matches(Ellipse((0, 0), width, height, angle=angle), covariance, n)


@pytest.mark.parametrize("covariance_type", [*ALIASES, *MODELS])
def test_cluster_ellipses_match_every_covariance_model(X, covariance_type):
    fitted = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    ax = plot.clusters(fitted, X, n_std=(1, 2, 3))
    ellipses = _ellipses(ax)
    assert len(ellipses) == 3 * 3
    dense = _public_dense(fitted)
    for index, ellipse in enumerate(ellipses):
        k, level = divmod(index, 3)
        np.testing.assert_allclose(ellipse.center, fitted.means_[k])
        _assert_ellipse_matches(ellipse, dense[k], (1, 2, 3)[level])
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 3 + 1  # one group per component, then the means
    assert sum(len(c.get_offsets()) for c in scatters[:3]) == len(X)


def test_true_ellipses_are_added_and_ax_is_returned(model, X):
    from gaussmix.datasets import CHAPTER_COVARIANCES, CHAPTER_MEANS

    _, ax = plt.subplots()
    returned = plot.clusters(
        model, X, ax=ax, n_std=(2,), true_means=CHAPTER_MEANS, true_covariances=CHAPTER_COVARIANCES
    )
    assert returned is ax
    ellipses = _ellipses(ax)
    assert len(ellipses) == 3 + 3
    for ellipse, covariance in zip(ellipses[3:], CHAPTER_COVARIANCES):
        _assert_ellipse_matches(ellipse, covariance, 2)
        assert ellipse.get_linestyle() == "--"


def test_pairs_projects_the_covariances(five_d_data):
    X = five_d_data[0][:, :3]
    fitted = GaussianMixture(2, random_state=0).fit(X)
    figure = plot.pairs(fitted, X, n_std=(2,))
    axes = np.array(figure.axes).reshape(3, 3)
    covariances = fitted.covariances_
    for i in range(3):
        for j in range(3):
            ellipses = _ellipses(axes[i, j])
            if i == j:
                assert ellipses == []
                continue
            assert len(ellipses) == 2
            for k, ellipse in enumerate(ellipses):
                sub = covariances[k][np.ix_([j, i], [j, i])]
                _assert_ellipse_matches(ellipse, sub, 2)
                np.testing.assert_allclose(ellipse.center, fitted.means_[k][[j, i]])


def test_convergence_draws_lower_bounds(model):
    ax = plot.convergence(model)
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), model.lower_bounds_)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, len(model.lower_bounds_) + 1))
    with pytest.raises(ValueError, match="lower_bounds_"):
        plot.convergence([])


def test_criterion_one_line_per_model_and_best_marked():
    table = pd.DataFrame(
        {"VVV": [10.0, 4.0, np.nan], "VII": [12.0, 6.0, 2.5], "EEE": [11.0, 5.0, 3.0]},
        index=pd.Index([1, 2, 3], name="K"),
    )
    ax = plot.criterion(table)
    assert len(ax.get_lines()) == 3
    best = ax.collections[-1].get_offsets()[0]
    k, model_name = table.stack().idxmin()
    np.testing.assert_allclose(best, [k, table.loc[k, model_name]])

    class Result:
        table_ = table
        criterion = "bic"

    ax = plot.criterion(Result())
    assert "BIC" in ax.get_ylabel()
    with pytest.raises(TypeError, match="table_"):
        plot.criterion([1, 2, 3])


def test_uncertainty_colours_points_by_uncertainty(model, X):
    ax = plot.uncertainty(model, X)
    points = ax.collections[0]
    expected = 1 - model.predict_proba(X).max(axis=1)
    np.testing.assert_allclose(np.sort(points.get_array()), np.sort(expected))
    assert len(ax.figure.axes) == 2  # the plot and its colour bar
    assert len(_ellipses(ax)) == 3


def test_responsibility_pies(model, X):
    ax = plot.responsibilities(model, X, n_uncertain=2)
    boxes = [a for a in ax.artists if isinstance(a, AnnotationBbox)]
    assert len(boxes) == 3 + 2
    resp = model.predict_proba(X)
    indices = [int(np.argmax(resp[:, 0] == resp[:, 0]))]  # any row works for the angles
    ax = plot.responsibilities(model, X, indices=indices)
    (box,) = [a for a in ax.artists if isinstance(a, AnnotationBbox)]
    wedges = box.offsetbox.get_children()
    spans = [(w.theta2 - w.theta1) / 360 for w in wedges]
    np.testing.assert_allclose(spans, resp[indices[0]][resp[indices[0]] >= 1e-3], atol=1e-12)


def test_density_two_d_integrates_to_one(model, X):
    ax = plot.density(model, X, resolution=200)
    filled = ax.collections[0]
    assert len(ax.figure.axes) == 2
    # The grid covers almost all the mass: numerical integral of the drawn density.
    from gaussmix.plotting._common import grid_over, marginal_log_density

    gx, gy, grid = grid_over(X, 200)
    z = np.exp(marginal_log_density(model, [0, 1], grid))
    area = (gx[0, 1] - gx[0, 0]) * (gy[1, 0] - gy[0, 0])
    assert z.sum() * area == pytest.approx(1.0, abs=0.03)
    assert filled is not None


def test_density_one_d_has_histogram_and_curves():
    data = gaussmix.datasets.load_faithful()[["eruptions"]]
    fitted = GaussianMixture(2, random_state=0).fit(data.to_numpy())
    ax = plot.density(fitted, data)
    lines = ax.get_lines()
    assert len(lines) == 1 + 2  # mixture, then each weighted component
    x, total = lines[0].get_data()
    assert np.trapezoid(total, x) == pytest.approx(1.0, abs=0.02)
    np.testing.assert_allclose(lines[1].get_ydata() + lines[2].get_ydata(), total, rtol=1e-9)
    assert len(ax.patches) > 3  # histogram bars
    assert ax.get_xlabel() == "eruptions"


def test_anomalies_marks_exactly_the_flagged_rows(X):
    detector = AnomalyDetector(contamination=0.05, n_components=3, random_state=0).fit(X)
    ax = plot.anomalies(detector, X)
    normal, flagged = [c for c in ax.collections if isinstance(c, PathCollection)][-2:]
    assert len(flagged.get_offsets()) == (detector.predict(X) == -1).sum()
    assert len(normal.get_offsets()) == (detector.predict(X) == 1).sum()


def test_gmm_vs_kmeans_on_moons():
    Xm, ym = make_moons(200, noise=0.1, random_state=42)
    gmm = GaussianMixture(2, random_state=42).fit(Xm)
    kmeans = KMeans(2, random_state=42, n_init=10).fit(Xm)
    figure = plot.gmm_vs_kmeans(Xm, gmm, kmeans, y_true=ym)
    assert len(figure.axes) == 3
    assert [len(_ellipses(ax)) for ax in figure.axes] == [0, 0, 2]
    figure = plot.gmm_vs_kmeans(Xm, gmm, kmeans)
    assert len(figure.axes) == 2


def test_pairs_draws_chosen_features_with_their_covariances(five_d_data):
    X = five_d_data[0]
    fitted = GaussianMixture(2, random_state=0).fit(X)
    chosen = [4, 1]
    figure = plot.pairs(fitted, X, features=chosen)
    axes = np.array(figure.axes).reshape(2, 2)
    ellipse = _ellipses(axes[0, 1])[0]  # row feature 4 against column feature 1
    sub = fitted.covariances_[0][np.ix_([1, 4], [1, 4])]
    _assert_ellipse_matches(ellipse, sub, 2)
    with pytest.raises(ValueError, match="column indices"):
        plot.pairs(fitted, X, features=[0, 5])


def test_errors_say_what_to_do(model, X):
    with pytest.raises(ValueError, match="fit it first"):
        plot.clusters(GaussianMixture(), X)
    with pytest.raises(ValueError, match="dims must name two different features"):
        plot.clusters(model, X, dims=(0, 0))
    with pytest.raises(ValueError, match="max_features"):
        plot.pairs(model, np.zeros((5, 9)), max_features=8)


def test_dataframe_columns_label_the_axes():
    data = gaussmix.datasets.load_faithful()
    fitted = GaussianMixture(2, random_state=0).fit(data)
    ax = plot.clusters(fitted, data, n_std=(2,))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("eruptions", "waiting")


def test_an_anomaly_detector_is_drawn_through_its_mixture(X):
    detector = AnomalyDetector(n_components=3, random_state=0).fit(X)
    ax = plot.clusters(detector, X, n_std=(2,))
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    sizes = [len(c.get_offsets()) for c in scatters[:3]]
    np.testing.assert_array_equal(sizes, np.bincount(detector.mixture_.predict(X), minlength=3))
    plot.uncertainty(detector, X)
    plot.responsibilities(detector, X)
