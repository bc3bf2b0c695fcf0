"""plot.cluster_projection: the directions that separate the components, and the figures
that draw data with more than two features in their plane."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.patches import Ellipse
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.datasets import load_wine
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from gaussmix import AnomalyDetector, GaussianMixture, plot
from gaussmix.plotting.projection import plane_view


def _cosine(a, b):
    return abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))


def _ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


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


def _assert_ellipse_matches(ellipse, covariance, n_std):
    """Width, height and orientation against the eigen-decomposition of a 2x2 matrix."""
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    assert ellipse.width == pytest.approx(2 * n_std * np.sqrt(eigenvalues[1]), rel=1e-7)
    assert ellipse.height == pytest.approx(2 * n_std * np.sqrt(eigenvalues[0]), rel=1e-7)
    angle = np.radians(ellipse.angle)
    assert _cosine(np.array([np.cos(angle), np.sin(angle)]), eigenvectors[:, 1]) == pytest.approx(
        1.0, abs=1e-9
    )


def _random_mixture(seed, n_components=3, n_features=5):
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(n_components, 3.0))
    means = rng.normal(scale=2.0, size=(n_components, n_features))
    factors = rng.normal(size=(n_components, n_features, n_features))
    covariances = factors @ factors.transpose(0, 2, 1) / n_features + 0.2 * np.eye(n_features)
    return weights, means, covariances


@pytest.fixture(scope="module")
def ten_d():
    """Two clusters 5 sd apart along a random direction of 10-d space; noise elsewhere."""
    rng = np.random.default_rng(11)
    truth = rng.normal(size=10)
    truth /= np.linalg.norm(truth)
    labels = rng.integers(0, 2, size=1200)
    X = rng.normal(size=(1200, 10)) + np.outer(5.0 * labels, truth)
    return X, truth


def test_first_direction_recovers_the_separating_direction(ten_d):
    X, truth = ten_d
    model = GaussianMixture(2, random_state=0).fit(X)
    projection = plot.cluster_projection(model)
    assert projection.n_discriminant == 1
    assert _cosine(projection.directions[:, 0], truth) > 0.95
    assert projection.separation[0] == pytest.approx(1.0)
    # Every other direction separates no means: its projected means coincide.
    offsets = projection.project_means(model.means_)
    np.testing.assert_allclose(offsets[0, 1:], offsets[1, 1:], atol=1e-8)


def test_a_plane_of_means_is_recovered():
    """Three clusters whose means span a random plane of 10-d space: the first two
    directions span that plane (the smallest principal cosine exceeds 0.95)."""
    rng = np.random.default_rng(3)
    plane, _ = np.linalg.qr(rng.normal(size=(10, 2)))
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 5.0]]) @ plane.T
    labels = rng.integers(0, 3, size=1500)
    X = rng.normal(size=(1500, 10)) + centres[labels]
    model = GaussianMixture(3, random_state=0).fit(X)
    found, _ = np.linalg.qr(plot.cluster_projection(model).directions[:, :2])
    cosines = np.linalg.svd(found.T @ plane, compute_uv=False)
    assert cosines.min() > 0.95


def test_discriminant_coordinates_match_scikit_learn_lda():
    """With the classes of wine as components (weights n_k / n, class means, per-class
    maximum-likelihood covariances), the between and within scatters are scikit-learn's
    ``St - Sw`` and ``Sw``: the directions and the shares of separation must agree."""
    X, y = load_wine(return_X_y=True)
    classes = np.unique(y)
    weights = np.array([np.mean(y == c) for c in classes])
    means = np.array([X[y == c].mean(axis=0) for c in classes])
    covariances = np.array([np.cov(X[y == c].T, bias=True) for c in classes])
    projection = plot.separating_directions(weights, means, covariances)
    lda = LinearDiscriminantAnalysis(solver="eigen").fit(X, y)
    assert projection.n_discriminant == 2
    np.testing.assert_allclose(projection.separation[:2], lda.explained_variance_ratio_, rtol=1e-8)
    for j in range(2):
        assert _cosine(projection.directions[:, j], lda.scalings_[:, j]) == pytest.approx(
            1.0, abs=1e-9
        )


def test_both_parts_agree_with_mclust_dimension_reduction():
    """R's mclust 6.0.0 on standardised wine (tests/plotting/data/SOURCES.md): with the
    fitted VVE model's parameters, MclustDR's location-only kernel (lambda = 1, relative to
    the mixture's covariance) has our discriminant coordinates as eigenvectors and
    eigenvalues 2 rho^2 with rho = gamma / (1 + gamma); with every mean moved to the centre,
    its covariance-only kernel (lambda = 0) has our directions of spread."""
    import json
    from pathlib import Path

    reference = json.loads((Path(__file__).parent / "data" / "mclustdr_wine.json").read_text())
    weights, means = np.array(reference["weights"]), np.array(reference["means"])
    covariances = np.array(reference["covariances"])
    np.testing.assert_allclose(weights @ means, reference["data_mean"], atol=1e-10)

    projection = plot.separating_directions(weights, means, covariances)
    rho = projection.eigenvalues[:2] / (1 + projection.eigenvalues[:2])
    np.testing.assert_allclose(2 * rho**2, reference["location_evalues"], rtol=1e-8)
    basis = np.array(reference["location_basis"])
    for j in range(2):
        assert _cosine(projection.directions[:, j], basis[:, j]) == pytest.approx(1, abs=1e-9)

    centred = np.repeat(np.array(reference["data_mean"])[None], 3, axis=0)
    spread = plot.separating_directions(weights, centred, covariances)
    assert spread.n_discriminant == 0
    basis = np.array(reference["spread_basis"])
    for j in range(3):
        assert _cosine(spread.directions[:, j], basis[:, j]) == pytest.approx(1, abs=1e-8)


def test_directions_have_unit_variance_and_are_uncorrelated():
    weights, means, covariances = _random_mixture(0)
    projection = plot.separating_directions(weights, means, covariances)
    V = projection.directions
    np.testing.assert_allclose(V.T @ projection.marginal_covariance @ V, np.eye(5), atol=1e-10)
    # The marginal covariance is within plus between components (law of total variance).
    center = weights @ means
    between = sum(w * np.outer(m - center, m - center) for w, m in zip(weights, means))
    within = np.tensordot(weights, covariances, axes=1)
    np.testing.assert_allclose(projection.marginal_covariance, within + between, rtol=1e-12)
    assert np.all(np.diff(projection.eigenvalues[: projection.n_discriminant]) <= 0)


@pytest.mark.parametrize("transform", ["scale", "rotate", "affine"])
def test_projected_coordinates_do_not_depend_on_units_or_orientation(transform):
    """Theory: Sigma_B, Sigma_W and every Sigma_k map to A S A^T under x -> A x + b, so the
    projected coordinates of the moved data (and the eigenvalues) are unchanged."""
    rng = np.random.default_rng(4)
    weights, means, covariances = _random_mixture(1)
    A = {
        "scale": np.diag(10.0 ** rng.uniform(-3, 3, size=5)),
        "rotate": np.linalg.qr(rng.normal(size=(5, 5)))[0],
        "affine": rng.normal(size=(5, 5)) + 3 * np.eye(5),
    }[transform]
    shift = rng.normal(scale=100.0, size=5)
    X = rng.normal(size=(50, 5)) * 3
    original = plot.separating_directions(weights, means, covariances)
    moved = plot.separating_directions(
        weights, means @ A.T + shift, np.einsum("ij,kjl,ml->kim", A, covariances, A)
    )
    np.testing.assert_allclose(moved.eigenvalues, original.eigenvalues, rtol=1e-7)
    np.testing.assert_allclose(
        moved.transform(X @ A.T + shift), original.transform(X), rtol=1e-6, atol=1e-6
    )


def test_second_direction_shows_a_difference_of_spread():
    """Two components whose means differ along e1 and whose spreads differ along e2:
    direction 1 is e1 (Fisher's), direction 2 is e2 (a difference of spread only)."""
    means = np.array([[0.0, 0, 0, 0], [4.0, 0, 0, 0]])
    covariances = np.array([np.eye(4), np.diag([1.0, 9.0, 1.0, 1.0])])
    projection = plot.separating_directions([0.7, 0.3], means, covariances)
    assert projection.n_discriminant == 1
    assert _cosine(projection.directions[:, 0], np.eye(4)[0]) == pytest.approx(1.0, abs=1e-12)
    assert _cosine(projection.directions[:, 1], np.eye(4)[1]) == pytest.approx(1.0, abs=1e-12)
    assert projection.axis_label(0) == "discriminant coordinate 1 (100% of separation)"
    assert projection.axis_label(1) == "direction 2 (no separation of means)"
    # The sign puts the mean farthest from the centre (the lighter one) on the positive side.
    assert projection.project_means(means)[1, 0] > 0
    flipped = plot.separating_directions([0.3, 0.7], means, covariances)
    assert flipped.project_means(means)[0, 0] > 0


def test_projected_covariances_are_a_sigma_a_transposed():
    weights, means, covariances = _random_mixture(2)
    projection = plot.separating_directions(weights, means, covariances)
    A = projection.directions[:, :2].T
    expected = np.array([A @ c @ A.T for c in covariances])
    np.testing.assert_allclose(projection.project_covariances(covariances, 2), expected)
    # ... which is the covariance of projected samples of each component.
    rng = np.random.default_rng(0)
    sample = rng.multivariate_normal(means[0], covariances[0], size=200_000)
    np.testing.assert_allclose(
        np.cov(projection.transform(sample, 2).T), expected[0], rtol=0.02, atol=0.01
    )


def test_loadings_name_the_features_that_make_a_direction():
    means = np.array([[0.0, 0, 0], [0, 0, 1000.0]])  # feature "c" in large units separates
    covariances = np.array([np.diag([1.0, 1.0, 1e6])] * 2)
    projection = plot.separating_directions(
        [0.5, 0.5], means, covariances, feature_names=["a", "b", "c"]
    )
    loadings = projection.loadings(0)
    assert loadings.index[0] == "c"
    assert abs(loadings.iloc[0]) == pytest.approx(1.0)
    assert np.linalg.norm(loadings) == pytest.approx(1.0)


def test_bad_parameters_are_refused_with_a_reason():
    weights, means, covariances = _random_mixture(0)
    with pytest.raises(ValueError, match=r"covariances must have shape \(3, 5, 5\)"):
        plot.separating_directions(weights, means, covariances[:, 0])
    with pytest.raises(ValueError, match=r"weights must have shape \(3,\)"):
        plot.separating_directions(weights[:2], means, covariances)
    with pytest.raises(ValueError, match="non-negative"):
        plot.separating_directions(-weights, means, covariances)
    with pytest.raises(ValueError, match=r"means must have shape"):
        plot.separating_directions(weights, means[0], covariances)
    with pytest.raises(ValueError, match="do not differ"):
        plot.separating_directions([1.0], means[:1], covariances[:1])
    singular = np.zeros((2, 3, 3))
    singular[:, :2, :2] = np.eye(2)
    with pytest.raises(ValueError, match="singular"):
        plot.separating_directions([0.5, 0.5], np.zeros((2, 3)), singular)
    projection = plot.separating_directions(weights, means, covariances)
    with pytest.raises(ValueError, match="n_directions must be between 1 and 5"):
        projection.transform(np.zeros((2, 5)), 6)
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 5\)"):
        projection.transform(np.zeros((2, 4)))


@pytest.fixture(scope="module")
def five_d_model(five_d_data):
    X = five_d_data[0]
    return GaussianMixture(3, random_state=0).fit(X), X


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "VEV"])
def test_clusters_draws_the_projected_components_by_default(five_d_data, covariance_type):
    X = five_d_data[0]
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    ax = plot.clusters(model, X, n_std=(1, 2))
    projection = plot.cluster_projection(model)
    A = projection.directions[:, :2].T
    dense = _public_dense(model)
    assert ax.get_xlabel().startswith("discriminant coordinate 1 (")
    assert ax.get_ylabel().startswith("discriminant coordinate 2 (")
    assert ax.get_xlabel().endswith("% of separation)")
    ellipses = _ellipses(ax)
    assert len(ellipses) == 3 * 2
    order = np.argsort(-model.weights_, kind="stable")  # drawn heaviest first
    for index, ellipse in enumerate(ellipses):
        k, level = order[index // 2], index % 2
        np.testing.assert_allclose(ellipse.center, A @ (model.means_[k] - projection.center))
        _assert_ellipse_matches(ellipse, A @ dense[k] @ A.T, (1, 2)[level])
    groups = [c for c in ax.collections if isinstance(c, PathCollection)][:3]
    labels = model.predict(X)
    for k, group in zip(order, groups, strict=True):
        np.testing.assert_allclose(group.get_offsets(), (X[labels == k] - projection.center) @ A.T)


def test_chosen_features_are_still_drawn_as_they_are(five_d_model):
    model, X = five_d_model
    ax = plot.clusters(model, pd.DataFrame(X, columns=list("abcde")), dims=(3, 1), n_std=(2,))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("d", "b")
    order = np.argsort(-model.weights_, kind="stable")  # drawn heaviest first
    for k, ellipse in zip(order, _ellipses(ax), strict=True):
        np.testing.assert_allclose(ellipse.center, model.means_[k][[3, 1]])
        _assert_ellipse_matches(ellipse, model.covariances_[k][np.ix_([3, 1], [3, 1])], 2)


def test_uncertainty_density_and_anomalies_use_the_projection(five_d_model):
    model, X = five_d_model
    label = plot.cluster_projection(model).axis_label(0)
    ax = plot.uncertainty(model, X)
    assert ax.get_xlabel() == label
    assert len(_ellipses(ax)) == 3
    ax = plot.density(model, X)
    assert ax.get_xlabel() == label
    ax = plot.responsibilities(model, X)
    assert ax.get_xlabel() == label
    detector = AnomalyDetector(n_components=3, random_state=0).fit(X)
    ax = plot.anomalies(detector, X)
    assert ax.get_xlabel() == plot.cluster_projection(detector).axis_label(0)
    # The threshold is a level of the 5-d density, not of the plane's: no contour of it.
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any("threshold" in text for text in legend)


def test_density_in_the_plane_is_the_projected_mixture(five_d_model):
    """The plane's density against scipy's Gaussian densities with A mu_k and A S_k A^T,
    and its integral over a wide grid is one."""
    model, X = five_d_model
    view = plane_view(model, X)
    A = view.basis.T
    rng = np.random.default_rng(0)
    points = rng.normal(scale=2.0, size=(40, 2))
    expected = logsumexp(
        [
            np.log(w) + multivariate_normal(A @ (m - view.origin), A @ c @ A.T).logpdf(points)
            for w, m, c in zip(model.weights_, model.means_, model.covariances_)
        ],
        axis=0,
    )
    np.testing.assert_allclose(view.log_density(model, points), expected, rtol=1e-10)
    grid = np.linspace(-8, 8, 401)
    gx, gy = np.meshgrid(grid, grid)
    z = np.exp(view.log_density(model, np.column_stack([gx.ravel(), gy.ravel()])))
    assert z.sum() * (grid[1] - grid[0]) ** 2 == pytest.approx(1.0, abs=1e-3)


def test_two_features_and_one_component_are_drawn_as_they_are(chapter_data, five_d_model):
    X2 = chapter_data[0][:300]
    model = GaussianMixture(3, random_state=0).fit(X2)
    ax = plot.clusters(model, X2)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x₁", "x₂")
    _, X = five_d_model
    single = GaussianMixture(1).fit(X)
    ax = plot.clusters(single, X)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x₁", "x₂")


def test_wine_is_shown_in_its_discriminant_plane():
    """On wine's 13 columns the projection separates the three cultivars as the fitted
    clusters see them: each cluster's points are closer to their own projected mean."""
    X, _ = load_wine(return_X_y=True)
    model = GaussianMixture(3, covariance_type="VVE", random_state=0).fit(X)
    view = plane_view(model, X)
    points, (means, _) = view.coordinates(X), view.components(model)
    nearest = np.argmin(((points[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1)
    assert np.mean(nearest == model.predict(X)) > 0.9


def test_pairs_refuses_many_columns_and_points_to_the_projection():
    wide = GaussianMixture(2, random_state=0).fit(np.random.default_rng(0).normal(size=(60, 9)))
    with pytest.raises(ValueError) as error:
        plot.pairs(wide, np.zeros((5, 9)))
    message = str(error.value)
    assert "9x9" in message and "max_features=8" in message
    assert "features=[...]" in message and "plot.clusters(model, X)" in message
