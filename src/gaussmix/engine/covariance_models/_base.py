"""The interface every covariance model implements."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..forms import CovarianceForm, SingularCovarianceError, singular_covariance_message
from ..scatter import Scatter

__all__ = ["CovarianceModel"]


class CovarianceModel:
    """A parametrisation ``Sigma_k = lambda_k D_k A_k D_k^T`` with its constraints.

    Subclasses set the class attributes and implement `estimate_covariances` and
    `n_covariance_parameters`; everything else is shared.

    Parameters
    ----------
    inner_tol : float, default=1e-8
        Relative tolerance of iterative M-steps (models without a closed form).
    inner_max_iter : int, default=100
        Iteration cap of iterative M-steps.

    Attributes
    ----------
    name : str
        The mclust code: volume, shape, orientation, each E(qual), V(ariable) or I(dentity).
    description : str
        The constraint in words, as mclust prints it.
    form : type of CovarianceForm
        How the fitted covariances are stored and evaluated.
    scatter : Scatter
        Which second moments the E-step must accumulate for this model.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    form: ClassVar[type[CovarianceForm]]
    scatter: ClassVar[Scatter]

    def __init__(self, inner_tol: float = 1e-8, inner_max_iter: int = 100):
        self.inner_tol = inner_tol
        self.inner_max_iter = inner_max_iter

    def estimate_covariances(
        self,
        scatter: np.ndarray,
        counts: np.ndarray,
        previous: CovarianceForm | None,
    ) -> np.ndarray:
        """Maximum-likelihood covariances (compact shape of `form`) under the constraint.

        Parameters
        ----------
        scatter : ndarray of shape (K, d, d) or (K, d)
            Weighted scatter of each component about its mean, ``W_k``
            (the diagonal only when `scatter` is diagonal).
        counts : ndarray of shape (K,)
            Weighted soft counts ``n_k``.
        previous : CovarianceForm or None
            The current covariances; iterative M-steps start from them.
        """
        raise NotImplementedError

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        """Number of free covariance parameters, counted as mclust counts them."""
        raise NotImplementedError

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of the whole mixture: covariances, means and weights."""
        return (
            self.n_covariance_parameters(n_components, n_features)
            + n_components * n_features
            + n_components
            - 1
        )

    def estimate(
        self,
        scatter: np.ndarray,
        counts: np.ndarray,
        reg_covar: float,
        previous: CovarianceForm | None = None,
    ) -> CovarianceForm:
        """M-step for the covariances: constrained estimate plus ``reg_covar`` ridge."""
        # Degenerate statistics (an emptied or collapsed component) give non-finite values
        # here; the form then raises SingularCovarianceError with a helpful message.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            try:
                covariances = self.estimate_covariances(scatter, counts, previous)
            except np.linalg.LinAlgError as exc:
                raise SingularCovarianceError(singular_covariance_message()) from exc
        return self.form.from_covariances(self.form.add_to_diagonal(covariances, reg_covar))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
