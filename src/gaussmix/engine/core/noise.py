"""A uniform noise component for scattered outliers (Banfield & Raftery 1993).

The mixture gains one more component, a uniform density ``1 / V`` over a box that holds
the data, with weight ``pi_0``:

    p(x) = pi_0 / V + sum_k pi_k N(x | mu_k, Sigma_k),      pi_0 + sum_k pi_k = 1.

EM fits it jointly with the Gaussians and needs no new statistics: the E-step adds a
column ``log pi_0 - log V`` to the normalisation of the responsibilities, so the noise
mass of a chunk is ``total_weight - sum_k counts_k``; the M-step sets
``pi_0 = 1 - sum_k counts_k / total_weight`` and the Gaussian weights to
``counts_k / total_weight``. ``V`` stays fixed.

The region follows mclust's ``hypvol``: the smaller of the box with sides parallel to the
coordinate axes and the box with sides parallel to the principal axes of the data, each
the smallest such box holding every row. A volume given by the user keeps the shape of
the coordinate box and scales it about its centre to that volume (so that `sample`
draws from a region whose volume is the one in the density).

The initial noise rows come from a nearest-neighbour clutter rule (after Byers &
Raftery's NNclean): a row is noise when the distance to its k-th nearest neighbour is far
above the typical one (see `nearest_neighbour_clutter`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = [
    "NoiseComponent",
    "NoiseRegion",
    "hypervolume_region",
    "scaled_box_region",
    "nearest_neighbour_clutter",
    "noise_m_step",
    "CLUTTER_NEIGHBOURS",
    "CLUTTER_THRESHOLD",
    "MIN_INITIAL_NOISE",
    "initial_mask",
    "initial_noise_mask",
    "noise_requested",
]

#: k of the nearest-neighbour clutter rule.
CLUTTER_NEIGHBOURS = 5
#: A row is clutter when log(d_k) exceeds the median by this many robust standard deviations.
CLUTTER_THRESHOLD = 3.0
#: Smallest initial noise weight (a zero weight could never grow in EM).
MIN_INITIAL_NOISE = 0.01


@dataclass(frozen=True, eq=False)
class NoiseRegion:
    """A box ``{centre + axes @ u : |u_j| <= half_widths_j}``.

    Parameters
    ----------
    centre : ndarray of shape (n_features,)
    axes : ndarray of shape (n_features, n_features)
        Orthonormal columns: the directions of the box's sides.
    half_widths : ndarray of shape (n_features,)
        Half the length of each side (positive).
    """

    centre: np.ndarray
    axes: np.ndarray
    half_widths: np.ndarray

    @property
    def log_volume(self) -> float:
        """Natural log of the box's volume."""
        return float(np.sum(np.log(2.0 * self.half_widths)))

    @property
    def volume(self) -> float:
        """The box's volume (may overflow to inf in many dimensions; see `log_volume`)."""
        return float(np.exp(self.log_volume))

    def sample(self, rng: np.random.RandomState, n_samples: int) -> np.ndarray:
        """``n_samples`` rows drawn uniformly in the box."""
        u = rng.uniform(-1.0, 1.0, size=(n_samples, self.centre.shape[0])) * self.half_widths
        return self.centre + u @ self.axes.T


@dataclass(frozen=True, eq=False)
class NoiseComponent:
    """The uniform component of a mixture: its weight and its region.

    Parameters
    ----------
    weight : float
        Mixing weight ``pi_0`` in [0, 1).
    region : NoiseRegion
        Where the uniform density lives; its volume is ``V``.
    """

    weight: float
    region: NoiseRegion

    @property
    def log_density(self) -> float:
        """``log pi_0 - log V``: the noise column of the weighted log-probabilities."""
        with np.errstate(divide="ignore"):
            return float(np.log(self.weight)) - self.region.log_volume


def _finite_volume_or_raise(half_widths: np.ndarray, what: str) -> None:
    if not np.all(half_widths > 0) or not np.all(np.isfinite(half_widths)):
        raise ValueError(
            f"The noise component's region ({what}) has zero or infinite volume: the data "
            "do not spread in every direction. Drop constant or collinear columns, or "
            "pass noise_volume=<volume of the region the outliers live in>."
        )


def _axis_box(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low, high = X.min(axis=0), X.max(axis=0)
    return (low + high) / 2.0, (high - low) / 2.0


def _principal_box(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre, axes (columns) and half-widths of the box along the principal axes."""
    mean = X.mean(axis=0)
    centred = X - mean
    # Right singular vectors of the centred rows are the principal axes.
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt.T
    if axes.shape[1] < X.shape[1]:  # fewer rows than features: no full-rank box
        return mean, np.eye(X.shape[1]), np.zeros(X.shape[1])
    scores = centred @ axes
    low, high = scores.min(axis=0), scores.max(axis=0)
    return mean + axes @ ((low + high) / 2.0), axes, (high - low) / 2.0


def hypervolume_region(X: np.ndarray) -> NoiseRegion:
    """mclust's ``hypvol`` region: the smaller of the coordinate box and the principal box.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The rows the region must hold.

    Returns
    -------
    NoiseRegion
        The box of smaller volume (the coordinate box on a tie).

    Raises
    ------
    ValueError
        If both boxes have zero volume (the message names the fix).
    """
    X = np.asarray(X, dtype=np.float64)
    centre, half = _axis_box(X)
    candidates = [NoiseRegion(centre, np.eye(X.shape[1]), half)]
    pc_centre, pc_axes, pc_half = _principal_box(X)
    if np.all(pc_half > 0):
        candidates.append(NoiseRegion(pc_centre, pc_axes, pc_half))
    with np.errstate(divide="ignore"):
        volumes = [np.sum(np.log(2.0 * c.half_widths)) for c in candidates]
    best = candidates[int(np.argmin(volumes))]
    if not np.all(best.half_widths > 0):
        best = candidates[-1]
    _finite_volume_or_raise(best.half_widths, "mclust's hypvol")
    return best


def scaled_box_region(X: np.ndarray, volume: float) -> NoiseRegion:
    """The coordinate box of X scaled about its centre to the given volume.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    volume : float
        Positive volume of the region.
    """
    X = np.asarray(X, dtype=np.float64)
    centre, half = _axis_box(X)
    if not np.all(half > 0):  # a constant column: a cube of the right volume
        half = np.ones_like(half)
    log_scale = (np.log(volume) - np.sum(np.log(2.0 * half))) / X.shape[1]
    half = half * np.exp(log_scale)
    _finite_volume_or_raise(half, f"noise_volume={volume!r}")
    return NoiseRegion(centre, np.eye(X.shape[1]), half)


def nearest_neighbour_clutter(
    X: np.ndarray,
    n_neighbors: int = CLUTTER_NEIGHBOURS,
    threshold: float = CLUTTER_THRESHOLD,
) -> np.ndarray:
    """Rows that look like scattered clutter: a far k-th nearest neighbour.

    For each row, ``d_k`` is the Euclidean distance to its k-th nearest other row. In a
    cluster ``d_k`` is small; a lone point in empty space has a large one. A row is
    clutter when ``log d_k > median + threshold * s``, with ``s`` the median absolute
    deviation of ``log d_k`` scaled to a normal standard deviation (1.4826 MAD). This is
    a simple rule in the spirit of Byers & Raftery's NNclean (1998), which models the
    distribution of ``d_k`` instead of thresholding it.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_neighbors : int, default=5
    threshold : float, default=3.0

    Returns
    -------
    clutter : ndarray of bool, shape (n_samples,)
    """
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(X, dtype=np.float64)
    k = min(n_neighbors, X.shape[0] - 1)
    if k < 1:
        return np.zeros(X.shape[0], dtype=bool)
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    with np.errstate(divide="ignore"):
        log_distance = np.log(distances[:, k])
    finite = np.isfinite(log_distance)
    if not finite.any():
        return np.zeros(X.shape[0], dtype=bool)
    centre = np.median(log_distance[finite])
    spread = 1.4826 * np.median(np.abs(log_distance[finite] - centre))
    if spread <= 0:
        return np.zeros(X.shape[0], dtype=bool)
    return log_distance > centre + threshold * spread


def noise_m_step(stats, gaussian_params, noise: NoiseComponent):
    """Joint M-step: Gaussian parameters rescaled and the new noise weight.

    Parameters
    ----------
    stats : Stats
        Statistics of an E-step that included the noise column; the noise mass is
        ``total_weight - sum(counts)``.
    gaussian_params : MixtureParams
        The covariance model's M-step on ``stats`` (weights summing to one).
    noise : NoiseComponent
        The current noise component (its region is kept).

    Returns
    -------
    MixtureParams
        Weights ``(1 - pi_0) * weights``, with ``noise`` of weight ``pi_0``.
    """
    total = float(stats.total_weight)
    gaussian_mass = float(np.sum(stats.counts))
    noise_weight = min(max(1.0 - gaussian_mass / total, 0.0), 1.0) if total > 0 else 0.0
    return replace(
        gaussian_params,
        weights=gaussian_params.weights * (1.0 - noise_weight),
        noise=NoiseComponent(noise_weight, noise.region),
    )


def noise_requested(noise) -> bool:
    """Whether ``noise`` asks for a noise component."""
    return not (isinstance(noise, (bool, np.bool_)) and not noise)


def initial_mask(noise, X: np.ndarray) -> np.ndarray:
    """Rows that start as noise: `nearest_neighbour_clutter` for True, else the given mask."""
    if isinstance(noise, (bool, np.bool_)):
        return nearest_neighbour_clutter(X)
    mask = np.asarray(noise)
    if mask.dtype != bool or mask.shape != (X.shape[0],):
        raise ValueError(
            f"noise must be True, False or a boolean array with one entry per row of X "
            f"(shape ({X.shape[0]},)), got an array of dtype {mask.dtype} and shape "
            f"{mask.shape}. Pass noise=True to find the initial noise rows automatically."
        )
    return mask


def initial_noise_mask(noise, X: np.ndarray) -> np.ndarray | None:
    """The initial noise rows ``noise`` asks for (None when it is off).

    True flags rows by `nearest_neighbour_clutter`; a boolean array is checked and kept.
    """
    if not noise_requested(noise):
        return None
    return initial_mask(noise, np.asarray(X))
