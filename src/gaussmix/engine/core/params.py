"""The parameters of a fitted mixture as one immutable value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..covariance.forms import CovarianceForm
from .noise import NoiseComponent

__all__ = ["MixtureParams", "ComponentParams"]


class ComponentParams(Protocol):
    """What the E-step kernels read from a mixture's components.

    `MixtureParams` has it, and so has the variational posterior, whose E-step runs
    through the same kernels.
    """

    @property
    def means(self) -> np.ndarray:
        """Component means, shape (n_components, n_features)."""

    @property
    def covariance(self) -> CovarianceForm:
        """Component covariances and precision factors in their storage form."""

    @property
    def n_components(self) -> int:
        """Number of components."""


@dataclass(frozen=True, eq=False)
class MixtureParams:
    """Weights, means and covariances of a Gaussian mixture.

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
        Mixing proportions, summing to one.
    means : ndarray of shape (n_components, n_features)
        Component means.
    covariance : CovarianceForm
        Component covariances and precision factors in their storage form.
    noise : NoiseComponent or None, default=None
        A uniform noise component; then ``weights`` sum to ``1 - noise.weight``.
    """

    weights: np.ndarray
    means: np.ndarray
    covariance: CovarianceForm
    noise: NoiseComponent | None = None

    @property
    def n_components(self) -> int:
        """Number of components."""
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        """Number of features."""
        return self.means.shape[1]

    def weighted_log_prob(self, X: np.ndarray) -> np.ndarray:
        """``log pi_k + log N(x_n | mu_k, Sigma_k)``, shape (n_samples, n_components)."""
        with np.errstate(divide="ignore"):
            log_weights = np.log(self.weights).astype(X.dtype, copy=False)
        return self.covariance.log_gaussian(X, self.means) + log_weights

    def with_noise_column(self, weighted: np.ndarray) -> np.ndarray:
        """``weighted`` (n, K) with the noise column ``log pi_0 - log V`` appended, if any."""
        if self.noise is None:
            return weighted
        column = np.full((weighted.shape[0], 1), self.noise.log_density, dtype=weighted.dtype)
        return np.concatenate([weighted, column], axis=1)

    def is_finite(self) -> bool:
        """Whether every parameter is finite."""
        return bool(
            np.all(np.isfinite(self.weights))
            and np.all(np.isfinite(self.means))
            and np.all(np.isfinite(self.covariance.covariances))
            and np.all(np.isfinite(self.covariance.precisions_cholesky))
        )
