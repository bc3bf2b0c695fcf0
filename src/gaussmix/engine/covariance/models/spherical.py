"""Spherical models: ``Sigma_k = lambda_k I``."""

from __future__ import annotations

import numpy as np

from ..forms import SphericalForm
from ..scatter import DIAGONAL_SCATTER
from ._base import CovarianceModel

__all__ = ["EII", "VII"]


class EII(CovarianceModel):
    """Spherical, equal volume: one variance shared by every component and direction.

    ``lambda = sum_k tr(W_k) / (n d)``.
    """

    name = "EII"
    description = "spherical, equal volume"
    form = SphericalForm
    scatter = DIAGONAL_SCATTER

    def estimate_covariances(self, scatter, counts, previous):
        variance = scatter.sum() / (counts.sum() * scatter.shape[1])
        return np.full(scatter.shape[0], variance)

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return 1


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
