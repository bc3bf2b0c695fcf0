"""Views of data with more than two columns: the directions that best separate the clusters.

A fitted mixture of ``d``-dimensional Gaussians is drawn in a plane. The first two features
are an arbitrary plane; `cluster_projection` finds the plane that shows the fitted clusters
best: the mixture's discriminant coordinates (Fisher's canonical variates), completed, when
the means span fewer than two directions, by the directions in which the components differ
most in spread (the covariance part of Scrucca's 2010 kernel, mclust's ``MclustDR``).

The choice
----------
With the mixture's weights ``pi_k``, means ``mu_k`` and covariances ``Sigma_k``::

    Sigma_B = sum_k pi_k (mu_k - mu)(mu_k - mu)'     between components
    Sigma_W = sum_k pi_k Sigma_k                     within components
    Sigma   = Sigma_W + Sigma_B                      the mixture's marginal covariance

1. Discriminant coordinates solve ``Sigma_B v = gamma Sigma_W v``: along ``v`` the
   between-component variance is ``gamma`` times the within-component variance, the
   largest ``gamma`` first. There are at most ``K - 1`` of them; ``gamma_i / sum(gamma)``
   is the share of separation each axis is labelled with (scikit-learn's
   ``LinearDiscriminantAnalysis.explained_variance_ratio_`` for labelled data).
2. The remaining directions (Sigma-orthogonal to those) carry no difference of means; they
   are ordered by Scrucca's covariance term ``sum_k pi_k (Sigma_k - Sigma_W) Sigma^-1
   (Sigma_k - Sigma_W)`` restricted to them, so a two-component mixture's second axis
   shows where the components' shapes differ. Directions with no difference of either kind
   come last, the widest in the data's units first.

Why not Scrucca's full kernel (``Sigma_B Sigma^-1 Sigma_B`` plus the covariance term,
mclust's default)? On wine (13 columns, 3 components of varying shape) its first two
directions are dominated by differences of spread, and two of the three clusters overlap in
them, while the discriminant coordinates show three separate groups; a figure's first job
is to show the clusters apart, so differences of location come first here.

Every direction is scaled so that the mixture's marginal has unit variance along it
(``v' Sigma v = 1``), so projected axes are comparable, and its sign is fixed by the
component means. Because ``Sigma_B``, ``Sigma_W`` and the covariances all transform alike,
the projected coordinates do not change when the data are rescaled, rotated or moved by any
invertible affine map (tested). Everything reads the fitted parameters only (weights, means,
the (K, d, d) covariances of any covariance model), so a model fitted out of core is
projected without another pass over its data.

References: R. A. Fisher (1936), "The use of multiple measurements in taxonomic problems";
L. Scrucca (2010), "Dimension reduction for model-based clustering", Statistics and
Computing 20(4), 471-484.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.special import logsumexp

from ..engine.core.params import MixtureParams
from ..engine.covariance.forms import FullForm
from ._common import dense_covariances, feature_labels, fitted_params

__all__ = [
    "ClusterProjection",
    "PlaneView",
    "cluster_projection",
    "separating_directions",
    "plane_view",
]

#: Relative size below which an eigenvalue counts as "no separation".
_NEGLIGIBLE = 1e-10


def _checked_parameters(weights, means, covariances):
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    if means.ndim != 2:
        raise ValueError(f"means must have shape (n_components, n_features); got {means.shape}.")
    n_components, n_features = means.shape
    if weights.shape != (n_components,):
        raise ValueError(
            f"weights must have shape ({n_components},) like the means' first axis; "
            f"got {weights.shape}."
        )
    if covariances.shape != (n_components, n_features, n_features):
        raise ValueError(
            f"covariances must have shape ({n_components}, {n_features}, {n_features}); got "
            f"{covariances.shape} (convert tied/diag/spherical storage to one matrix per "
            "component first, e.g. with gaussmix.plot.dense_covariances(model))."
        )
    if np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("weights must be non-negative with a positive sum.")
    return weights / weights.sum(), means, covariances


def _first_largest(values: np.ndarray) -> int | None:
    """Index of the first entry within a relative 1e-6 of the largest size (ties broken by
    position, robust to rounding), or None when every entry is negligible."""
    reach = np.abs(values)
    if reach.max() <= 1e-8:  # directions have unit variance: this is scale-free
        return None
    return int(np.flatnonzero(reach >= reach.max() * (1 - 1e-6))[0])


def _oriented(directions: np.ndarray, centred_means: np.ndarray, covariances) -> np.ndarray:
    """Each direction's sign fixed by quantities that follow the data through any invertible
    affine map, so projected coordinates are reproducible: the component whose mean lies
    farthest along the direction is on the positive side; for a direction that separates no
    means, the component whose covariance with an earlier direction is largest in size has
    a positive one; failing both, the largest coefficient is positive."""
    directions = directions.copy()
    for j in range(directions.shape[1]):
        sign = None
        k = _first_largest(centred_means @ directions[:, j])
        if k is not None:
            sign = np.sign(centred_means[k] @ directions[:, j])
        for i in range(j):
            if sign is not None:
                break
            cross = directions[:, i] @ covariances @ directions[:, j]  # (K,)
            k = _first_largest(cross)
            if k is not None:
                sign = np.sign(cross[k])
        if sign is None:
            sign = np.sign(directions[np.argmax(np.abs(directions[:, j])), j]) or 1.0
        directions[:, j] *= sign
    return directions


def _widest_first(basis: np.ndarray) -> np.ndarray:
    """Rotate Sigma-orthonormal directions that the model cannot tell apart so that the
    widest in the data's units comes first (the shortest coefficient vector, as every
    direction has unit variance), so that a plot's axes are well defined."""
    if basis.shape[1] < 2:
        return basis
    _, rotation = np.linalg.eigh(basis.T @ basis)  # ascending lengths
    return basis @ rotation


def _negligible(values: np.ndarray, scale: float) -> np.ndarray:
    return values <= _NEGLIGIBLE * max(scale, np.finfo(float).tiny)


def _spread_directions(complement, covariances, weights, within, factor):
    """Directions of ``complement`` (Sigma-orthonormal columns) ordered by the components'
    differences of spread along them (the covariance term of Scrucca's kernel)."""
    if complement.shape[1] == 0:
        return complement, np.zeros(0)
    kernel = np.zeros((complement.shape[1],) * 2)
    for weight, spread in zip(weights, covariances - within, strict=True):
        reduced = spread @ complement
        kernel += weight * reduced.T @ scipy.linalg.cho_solve(factor, reduced)
    scores, rotation = np.linalg.eigh((kernel + kernel.T) / 2)
    scores, directions = np.clip(scores[::-1], 0.0, None), complement @ rotation[:, ::-1]
    flat = _negligible(scores, scores.max() if scores.size else 0.0)
    directions[:, flat] = _widest_first(directions[:, flat])
    return directions, scores


def separating_directions(weights, means, covariances, *, feature_names=None):
    """The directions that best separate the components of a Gaussian mixture.

    Discriminant coordinates first, then directions of differing spread (see the module's
    documentation for the definitions and the reasons for this choice).

    Parameters
    ----------
    weights : array-like of shape (n_components,)
        Mixing proportions (rescaled to sum to one: a noise component's share is ignored).
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)
        One full matrix per component, whatever the covariance model.
    feature_names : sequence of str, default=None
        Names of the features, kept for `ClusterProjection.loadings`.

    Returns
    -------
    projection : ClusterProjection
        All ``n_features`` directions, the most separating first.

    Raises
    ------
    ValueError
        For inconsistent shapes, a singular marginal covariance, or components that do not
        differ at all (one component, or identical ones): nothing to separate.
    """
    weights, means, covariances = _checked_parameters(weights, means, covariances)
    center = weights @ means
    offsets = means - center
    between = (offsets * weights[:, None]).T @ offsets
    within = np.einsum("k,kij->ij", weights, covariances)
    marginal = within + between
    try:
        factor = scipy.linalg.cho_factor(marginal, lower=True)
    except np.linalg.LinAlgError:
        raise ValueError(
            "the mixture's marginal covariance is singular (a constant feature, or features "
            "that are exact combinations of others); drop those columns first."
        ) from None
    # Sigma_B v = rho Sigma v with v' Sigma v = 1; rho = gamma / (1 + gamma) in [0, 1).
    shares, directions = scipy.linalg.eigh(between, marginal)
    shares, directions = np.clip(shares[::-1], 0.0, 1.0 - 1e-15), directions[:, ::-1]
    n_discriminant = int(np.count_nonzero(~_negligible(shares, 1.0)))
    gammas = np.zeros_like(shares)
    gammas[:n_discriminant] = shares[:n_discriminant] / (1.0 - shares[:n_discriminant])
    spread, spread_scores = _spread_directions(
        directions[:, n_discriminant:], covariances, weights, within, factor
    )
    if n_discriminant == 0 and not np.any(spread_scores > 0):
        raise ValueError(
            "the components do not differ (one component, or identical ones): there is no "
            "direction that separates them; plot two chosen features instead."
        )
    directions = np.column_stack([directions[:, :n_discriminant], spread])
    directions = _oriented(directions, offsets, covariances)
    names = None if feature_names is None else tuple(str(n) for n in feature_names)
    return ClusterProjection(directions, gammas, n_discriminant, center, marginal, names)


def cluster_projection(model):
    """The directions that best separate the fitted components of ``model``.

    Parameters
    ----------
    model : fitted GaussianMixture, BayesianGaussianMixture or AnomalyDetector
        Its weights, means and covariances are read (any covariance model); a uniform
        noise component is left out.

    Returns
    -------
    projection : ClusterProjection

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from gaussmix import GaussianMixture, plot
    >>> X = load_wine().data
    >>> model = GaussianMixture(3, covariance_type="VVE", random_state=0).fit(X)
    >>> projection = plot.cluster_projection(model)
    >>> projection.transform(X, 2).shape
    (178, 2)
    >>> bool(projection.separation[:2].sum() > 0.5)
    True
    """
    params = fitted_params(model)
    mixture = getattr(model, "mixture_", model)
    names = getattr(mixture, "feature_names_in_", None)
    return separating_directions(
        params.weights, params.means, dense_covariances(model), feature_names=names
    )


@dataclass(frozen=True, eq=False)
class ClusterProjection:
    """Directions that separate a mixture's components, most separating first.

    Built by `cluster_projection` (from a fitted model) or `separating_directions`
    (from parameters). The projected coordinates of a row ``x`` are
    ``(x - center) @ directions``.

    Attributes
    ----------
    directions : ndarray of shape (n_features, n_features)
        One direction per column, scaled so the mixture's marginal has unit variance
        along each (``directions.T @ Sigma @ directions`` is the identity).
    eigenvalues : ndarray of shape (n_features,)
        Fisher's ratio of between- to within-component variance along each discriminant
        coordinate (descending); zero for the directions after them.
    n_discriminant : int
        How many directions are discriminant coordinates (at most ``n_components - 1``);
        the others separate no means and are ordered by the components' differences of
        spread along them.
    center : ndarray of shape (n_features,)
        The mixture's mean, the origin of the projected coordinates.
    marginal_covariance : ndarray of shape (n_features, n_features)
        The mixture's covariance ``Sigma`` (within plus between components).
    feature_names : tuple of str or None
        The model's feature names, if it was fitted on a DataFrame.
    """

    directions: np.ndarray
    eigenvalues: np.ndarray
    n_discriminant: int
    center: np.ndarray
    marginal_covariance: np.ndarray
    feature_names: tuple | None = None

    @property
    def separation(self) -> np.ndarray:
        """Share of the separation of means carried by each direction (sums to one;
        zeros when the components share one mean)."""
        total = self.eigenvalues.sum()
        return self.eigenvalues / total if total > 0 else np.zeros_like(self.eigenvalues)

    def _basis(self, n_directions) -> np.ndarray:
        if n_directions is None:
            return self.directions
        n_directions = int(n_directions)
        if not 1 <= n_directions <= self.directions.shape[1]:
            raise ValueError(
                f"n_directions must be between 1 and {self.directions.shape[1]}; got "
                f"{n_directions}."
            )
        return self.directions[:, :n_directions]

    def transform(self, X, n_directions=None) -> np.ndarray:
        """Coordinates of the rows of ``X`` along the first ``n_directions`` directions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_directions : int, default=None
            How many directions (all by default).

        Returns
        -------
        coordinates : ndarray of shape (n_samples, n_directions)
        """
        values = np.asarray(getattr(X, "values", X), dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.center.shape[0]:
            raise ValueError(
                f"X must have shape (n_samples, {self.center.shape[0]}); got {values.shape}."
            )
        return (values - self.center) @ self._basis(n_directions)

    def project_means(self, means, n_directions=None) -> np.ndarray:
        """Component means in projected coordinates, shape (n_components, n_directions)."""
        return self.transform(np.atleast_2d(means), n_directions)

    def project_covariances(self, covariances, n_directions=None) -> np.ndarray:
        """Covariances in projected coordinates, ``A Sigma_k A^T`` with ``A`` the chosen
        directions as rows: the exact covariances of the projected Gaussians, so ellipses
        drawn from them are the projected components' ellipses.

        Parameters
        ----------
        covariances : array-like of shape (n_components, n_features, n_features)
        n_directions : int, default=None

        Returns
        -------
        projected : ndarray of shape (n_components, n_directions, n_directions)
        """
        basis = self._basis(n_directions)
        covariances = np.asarray(covariances, dtype=np.float64)
        return np.einsum("ia,kij,jb->kab", basis, covariances, basis)

    def axis_label(self, i: int) -> str:
        """The axis label of direction ``i`` (0-based), e.g. ``"discriminant coordinate 1
        (62% of separation)"``, or ``"direction 2 (no separation of means)"``."""
        if i >= self.n_discriminant:
            return f"direction {i + 1} (no separation of means)"
        share = 100 * self.separation[i]
        text = "<1%" if share < 0.5 else f"{share:.0f}%"
        return f"discriminant coordinate {i + 1} ({text} of separation)"

    def loadings(self, i: int = 0):
        """Which features make direction ``i`` (0-based): its coefficients per standardised
        feature, largest in size first.

        A coefficient is multiplied by its feature's marginal standard deviation, so a
        feature measured in large units is not hidden by a small coefficient; the result
        has unit length.

        Returns
        -------
        loadings : pandas.Series
        """
        import pandas as pd

        scaled = self.directions[:, i] * np.sqrt(np.diag(self.marginal_covariance))
        scaled = scaled / np.linalg.norm(scaled)
        names = self.feature_names or [f"x{j + 1}" for j in range(scaled.shape[0])]
        series = pd.Series(scaled, index=list(names), name=f"direction {i + 1}")
        return series.iloc[np.argsort(-np.abs(scaled), kind="stable")]

    def plane(self, first: int = 0, second: int = 1) -> PlaneView:
        """The plane of two directions, for drawing."""
        basis = self.directions[:, [first, second]]
        labels = (self.axis_label(first), self.axis_label(second))
        return PlaneView(basis, self.center, labels, projection=self)


@dataclass(frozen=True, eq=False)
class PlaneView:
    """A plane a figure draws: coordinates ``(x - origin) @ basis`` and two axis labels.

    Two chosen features are the plane of two columns of the identity (origin 0); a
    projection is the plane of its first two directions. Means and covariances are mapped
    exactly (``A mu`` and ``A Sigma A^T``), and so is the mixture's density: the image of a
    Gaussian mixture under a linear map is the Gaussian mixture of the images.

    Attributes
    ----------
    basis : ndarray of shape (n_features, 2)
    origin : ndarray of shape (n_features,)
    labels : tuple of str
        The horizontal and vertical axis labels.
    projection : ClusterProjection or None
        The projection whose plane this is; None for two chosen features.
    """

    basis: np.ndarray
    origin: np.ndarray
    labels: tuple
    projection: ClusterProjection | None = None

    def coordinates(self, X) -> np.ndarray:
        """Rows in the plane, shape (n_samples, 2)."""
        return (np.asarray(X, dtype=np.float64) - self.origin) @ self.basis

    def project_means(self, means) -> np.ndarray:
        """Means in the plane, shape (n_components, 2)."""
        return self.coordinates(np.atleast_2d(means))

    def project_covariances(self, covariances) -> np.ndarray:
        """Covariances in the plane, ``A Sigma_k A^T``, shape (n_components, 2, 2)."""
        return np.einsum("ia,kij,jb->kab", self.basis, np.asarray(covariances), self.basis)

    def components(self, model) -> tuple[np.ndarray, np.ndarray]:
        """The fitted components' means and covariances in the plane."""
        params = fitted_params(model)
        return self.project_means(params.means), self.project_covariances(dense_covariances(model))

    def log_density(self, model, points, component: int | None = None) -> np.ndarray:
        """Log-density of the mixture's image in the plane at ``points`` (n, 2); with
        ``component``, the density of that component alone."""
        params = fitted_params(model)
        means, covariances = self.components(model)
        weights = params.weights
        if component is not None:
            chosen = slice(component, component + 1)
            weights, means, covariances = np.ones(1), means[chosen], covariances[chosen]
        image = MixtureParams(
            weights=weights, means=means, covariance=FullForm.from_covariances(covariances)
        )
        return logsumexp(image.weighted_log_prob(np.asarray(points, dtype=np.float64)), axis=1)


def _feature_plane(dims, names, n_features: int) -> PlaneView:
    basis = np.eye(n_features)[:, list(dims)]
    return PlaneView(basis, np.zeros(n_features), (names[dims[0]], names[dims[1]]))


def plane_view(model, X, dims=None) -> PlaneView:
    """The plane a two-dimensional figure of ``model`` shows.

    Parameters
    ----------
    model : fitted mixture
    X : array-like or DataFrame of shape (n_samples, n_features)
        Used for its feature names.
    dims : pair of int or None, default=None
        Two features to show. None: the features themselves when there are two, else the
        first two directions of `cluster_projection` (the first two features for a
        one-component model, which has nothing to separate).

    Returns
    -------
    view : PlaneView
    """
    params = fitted_params(model)
    n_features = params.n_features
    names = feature_labels(X, model, n_features)
    if dims is not None:
        return _feature_plane(dims, names, n_features)
    if n_features > 2 and np.count_nonzero(params.weights > 0) > 1:
        try:
            return cluster_projection(model).plane()
        except ValueError:  # identical components: nothing to separate
            pass
    return _feature_plane((0, 1), names, n_features)
