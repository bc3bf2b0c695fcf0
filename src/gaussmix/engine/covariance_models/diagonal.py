"""Diagonal models: axis-aligned ellipsoids, ``Sigma_k = lambda_k A_k``."""

from __future__ import annotations

from ..forms import DiagonalForm
from ..scatter import DIAGONAL_SCATTER
from ._base import CovarianceModel

__all__ = ["VVI"]


class VVI(CovarianceModel):
    """Diagonal, varying volume and shape (scikit-learn's ``diag``)."""

    name = "VVI"
    description = "diagonal, varying volume and shape"
    form = DiagonalForm
    scatter = DIAGONAL_SCATTER

    def estimate_covariances(self, scatter, counts, previous):
        return scatter / counts[:, None]

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components * n_features
