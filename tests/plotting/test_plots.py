"""gaussmix.plot: the right artists, and ellipses that match the covariances."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.legend import Legend
from matplotlib.offsetbox import AnnotationBbox
from matplotlib.patches import Ellipse
from sklearn.cluster import KMeans
from sklearn.datasets import make_moons

import gaussmix
from gaussmix import AnomalyDetector, BayesianGaussianMixture, GaussianMixture, plot
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
    heaviest_first = np.argsort(-fitted.weights_, kind="stable")  # the display order
    for index, ellipse in enumerate(ellipses):
        position, level = divmod(index, 3)
        k = heaviest_first[position]
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
    # The legend says which sigma the dashed ellipses show.
    key = [t.get_text() for legend in ax.findobj(Legend) for t in legend.get_texts()]
    assert "true components: 2σ" in key


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


#: The demo's trace: EM from random points starts 1.8 million below where it ends.
_RANDOM_START_TRACE = [
    -1.81893671e06,
    -3.69458,
    -3.65716,
    -3.64465,
    -3.63737,
    -3.62530,
    -3.61514,
    -3.60901,
    -3.60656,
    -3.60586,
    -3.60569,
    -3.60565,
]


def test_convergence_leaves_an_absurd_first_value_off_the_axis():
    _, (ax, steps_ax) = plt.subplots(1, 2)
    plot.convergence(_RANDOM_START_TRACE, ax=ax, steps_ax=steps_ax)
    trace = ax.get_lines()[0]
    np.testing.assert_array_equal(trace.get_ydata(), _RANDOM_START_TRACE[1:])
    low, high = ax.get_ylim()
    climb = _RANDOM_START_TRACE[-1] - _RANDOM_START_TRACE[1]
    assert low > _RANDOM_START_TRACE[1] - climb  # the climb fills the axis
    assert high - low < 3 * climb
    notes = [t.get_text() for t in ax.texts]
    assert any("iteration 1 off scale" in n and "-1,818,937" in n for n in notes)
    # The increase per iteration, on a log scale, every step included.
    assert steps_ax.get_yscale() == "log"
    np.testing.assert_allclose(steps_ax.get_lines()[0].get_ydata(), np.diff(_RANDOM_START_TRACE))


def test_convergence_draws_the_tolerance_of_a_model(model):
    _, (ax, steps_ax) = plt.subplots(1, 2)
    plot.convergence(model, ax=ax, steps_ax=steps_ax)
    tolerance = [line for line in steps_ax.get_lines() if "tol" in line.get_label()]
    assert tolerance[0].get_ydata()[0] == model.tol


@pytest.mark.parametrize(
    ("trace", "start"),
    [
        (_RANDOM_START_TRACE, 1),
        ([-3.615, -3.6086, -3.6067, -3.6060], 0),  # an ordinary trace keeps every value
        ([-np.inf, -5.0, -4.0, -3.9], 1),
        ([-1e9, -1e6, -5.0, -4.0, -3.9], 2),
        ([1.0, 2.0], 0),  # at least two values stay
    ],
)
def test_informative_start(trace, start):
    from gaussmix.estimators.display import informative_start

    assert informative_start(trace) == start


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
    # A fixed scale: 0 to the largest uncertainty three components allow (all 1/3).
    assert points.get_clim() == pytest.approx((0.0, 1 - 1 / 3))
    assert ax.figure.axes[1].get_ylim() == pytest.approx((0.0, 2 / 3))


def test_uncertainty_scale_does_not_follow_the_data():
    """Well-separated clusters: every uncertainty is tiny, and so is its colour."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.3, (50, 2)), rng.normal(20, 0.3, (50, 2))])
    fitted = GaussianMixture(2, random_state=0).fit(X)
    points = plot.uncertainty(fitted, X).collections[0]
    assert points.get_array().max() < 1e-6
    assert points.get_clim() == (0.0, 0.5)
    assert points.norm(points.get_array()).max() < 1e-5  # the bottom of the colour map


def test_responsibility_pies(model, X):
    ax = plot.responsibilities(model, X, n_uncertain=2)
    boxes = [a for a in ax.artists if isinstance(a, AnnotationBbox)]
    assert len(boxes) == 3 + 2
    resp = model.predict_proba(X)[:, np.argsort(-model.weights_, kind="stable")]
    row = int(np.argmax(model.entropy(X)))  # a row with three visible slices
    ax = plot.responsibilities(model, X, indices=[row])
    (box,) = [a for a in ax.artists if isinstance(a, AnnotationBbox)]
    wedges = box.offsetbox.get_children()
    spans = [(w.theta2 - w.theta1) / 360 for w in wedges]
    # Slices in display order (heaviest component first), as the legend lists them.
    np.testing.assert_allclose(spans, resp[row][resp[row] >= 1e-3], atol=1e-12)


def test_responsibility_pies_fit_inside_the_axes(chapter_data):
    """The most confident points sit at the data's edge; their pies must not be cut."""
    X = chapter_data[0][:300]
    fitted = GaussianMixture(3, random_state=0).fit(X)
    figure, ax = plt.subplots(figsize=(8, 6), layout="constrained")
    plot.responsibilities(fitted, X, ax=ax)
    figure.canvas.draw()
    inside = ax.get_window_extent()
    boxes = [a for a in ax.artists if isinstance(a, AnnotationBbox)]
    assert len(boxes) == 3 + 2
    for box in boxes:
        extent = box.get_window_extent()
        assert inside.x0 <= extent.x0 and extent.x1 <= inside.x1
        assert inside.y0 <= extent.y0 and extent.y1 <= inside.y1


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


def _face_colours(ax):
    return [to_hex(c) for c in ax.collections[0].get_facecolors()]


def test_gmm_vs_kmeans_colours_one_cluster_alike_in_both_panels(X):
    gmm = GaussianMixture(3, random_state=0).fit(X)
    kmeans = KMeans(3, random_state=1, n_init=10).fit(X)
    figure = plot.gmm_vs_kmeans(X, gmm, kmeans, y_true=np.zeros(len(X)))
    _, kmeans_ax, gmm_ax = figure.axes
    kmeans_colours, gmm_colours = _face_colours(kmeans_ax), _face_colours(gmm_ax)
    # Independent check: every k-means cluster's colour is the colour most of its rows
    # have in the mixture's panel, and the three clusters have three colours.
    labels = kmeans.predict(X)
    for cluster in range(3):
        rows = np.flatnonzero(labels == cluster)
        majority = pd.Series([gmm_colours[i] for i in rows]).mode()[0]
        assert {kmeans_colours[i] for i in rows} == {majority}
    assert len(set(kmeans_colours)) == 3
    assert np.mean(np.array(kmeans_colours) == np.array(gmm_colours)) > 0.8
    # The mixture's colours follow the weights: the heaviest component is blue.
    heaviest = np.argmax(gmm.weights_)
    rows = gmm.predict(X) == heaviest
    assert {c for c, r in zip(gmm_colours, rows) if r} == {plot.PALETTE[0].lower()}


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
    counts = np.bincount(detector.mixture_.predict(X), minlength=3)
    heaviest_first = np.argsort(-detector.mixture_.weights_, kind="stable")
    np.testing.assert_array_equal(sizes, counts[heaviest_first])
    plot.uncertainty(detector, X)
    plot.responsibilities(detector, X)


def test_clusters_numbers_components_by_weight(model, X):
    ax = plot.clusters(model, X, n_std=(2,))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    counts = np.bincount(model.predict(X), minlength=3)[np.argsort(-model.weights_)]
    assert labels == [f"component {j + 1} ({counts[j]})" for j in range(3)]


def test_dirichlet_process_clusters_show_only_the_used_components(X):
    dp = BayesianGaussianMixture(
        n_components=10,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=0.01,
        random_state=0,
    ).fit(X)
    used = int((dp.weights_ >= 0.01).sum())
    assert used < 10  # the prior empties most components
    ax = plot.clusters(dp, X, n_std=(2,))
    assert len(_ellipses(ax)) == used
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == used and all("(0)" not in text for text in legend)
    colours = {to_hex(e.get_edgecolor()) for e in _ellipses(ax)}
    assert len(colours) == used  # distinct
    everything = plot.clusters(dp, X, n_std=(2,), min_weight=0.0)
    assert len(_ellipses(everything)) == 10


def _wine_like_table(rng):
    """14 models x K = 1..9: twelve between 6,800 and 9,300, EII and VII at 19k to 27k
    (as a real sweep on scikit-learn's wine data)."""
    from gaussmix.engine.covariance.models import MODELS

    ks = np.arange(1, 10)
    table = pd.DataFrame(
        {name: 6800 + 300 * (ks - 3) ** 2 / 4 + rng.uniform(0, 200, 9) for name in MODELS},
        index=pd.Index(ks, name="n_components"),
    )
    table["EII"] = np.linspace(27300, 19000, 9)
    table["VII"] = np.linspace(27300, 18700, 9)
    table.loc[9, "VVV"] = np.nan  # a failed cell
    return table


def test_criterion_scale_follows_the_competitive_models():
    table = _wine_like_table(np.random.default_rng(0))
    ax = plot.criterion(table)
    low, high = ax.get_ylim()
    competitive = table.drop(columns=["EII", "VII"])
    assert low < np.nanmin(competitive.to_numpy()) and high >= np.nanmax(competitive.to_numpy())
    assert high < 18700  # EII and VII would flatten every other line
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    off_scale = legend[-1]
    assert "off scale" in off_scale and "EII, K = 1–9" in off_scale and "VII" in off_scale
    assert "VVV" not in off_scale
    # Unique (colour, marker, line style) for the 14 models.
    lines = ax.get_lines()[:14]
    styles = {(to_hex(line.get_color()), line.get_marker(), line.get_linestyle()) for line in lines}
    assert len(styles) == 14
    assert len({(to_hex(line.get_color()), line.get_marker()) for line in lines}) == 14


def test_criterion_without_outliers_shows_every_cell():
    table = _wine_like_table(np.random.default_rng(1)).drop(columns=["EII", "VII"])
    low, high = plot.criterion(table).get_ylim()
    assert low < np.nanmin(table.to_numpy()) and high > np.nanmax(table.to_numpy())


def test_criterion_on_wine_keeps_the_competitive_models_in_view():
    from sklearn.datasets import load_wine

    from gaussmix import select_model

    wine = load_wine(as_frame=True).data
    result = select_model(wine, n_components=[1, 2, 3], random_state=0)
    ax = plot.criterion(result)
    high = ax.get_ylim()[1]
    best_per_model = result.bic_table_.min()
    # Mostly the spherical models are far off on raw wine data; whichever they are,
    # the plot spans at least half of the models and marks the others.
    shown = best_per_model[best_per_model < high]
    assert len(shown) >= 7 and best_per_model.min() in shown.to_numpy()
    hidden = best_per_model.index[best_per_model >= high]
    assert set(hidden) >= {"EII", "VII"}
    note = ax.get_legend().get_texts()[-1].get_text()
    assert all(name in note for name in hidden)


def test_criterion_in_mclust_sign_and_the_result_plot_is_the_same_figure():
    from gaussmix import select_model

    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(6, 1, (60, 2))])
    result = select_model(X, n_components=[1, 2, 3], covariance_types=["VVV", "EII"])
    ax = result.plot(sign="mclust")
    reference = plot.criterion(result, sign="mclust")
    for mine, theirs in zip(ax.get_lines(), reference.get_lines(), strict=True):
        np.testing.assert_array_equal(mine.get_ydata(), theirs.get_ydata())
        assert mine.get_color() == theirs.get_color()
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), -result.table_.iloc[:, 0])
    assert "higher is better" in ax.get_ylabel()
    best = ax.collections[-1].get_offsets()[0]
    assert best[1] == pytest.approx(-result.best_score_)
    with pytest.raises(ValueError, match="sign must be"):
        plot.criterion(result, sign="up")
