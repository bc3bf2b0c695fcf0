"""Spherical models: ``Sigma_k = lambda_k I``."""

from __future__ import annotations

from ..forms import SphericalForm
from ..scatter import DIAGONAL_SCATTER
from ._base import CovarianceModel

__all__ = ["VII"]


class VII(CovarianceModel):
    """Spherical, varying volume (scikit-learn's ``spherical``)."""

    name = "VII"
    description = "spherical, varying volume"
    form = SphericalForm
    scatter = DIAGONAL_SCATTER

    def estimate_covariances(self, scatter, counts, previous):
        return scatter.mean(axis=1) / counts

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components
