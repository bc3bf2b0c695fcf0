"""Spherical models: ``Sigma_k = lambda_k I``."""

from __future__ import annotations

from typing import ClassVar

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
    sklearn_name = None
    one_point_safe = False
    supports_variational = False
    supports_map = True
    ridge_rescues_zero_scatter = True
    compiled_constraint = "EII"

    def map_covariances(self, data_term, counts, prior, n_features):
        """Posterior mode of the shared variance under a conjugate prior."""
        denominator = prior.dof + (counts.sum() + counts.shape[0]) * n_features + 2
        shared = (prior.scale + data_term.sum()) / denominator
        return np.full(counts.shape, shared)

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
    sklearn_name: ClassVar[str | None] = "spherical"
    one_point_safe = True
    supports_variational = True
    supports_map = True
    ridge_rescues_zero_scatter = True
    compiled_constraint = "VII"

    def map_covariances(self, data_term, counts, prior, n_features):
        """Posterior mode of each variance under a conjugate prior."""
        return (prior.scale + data_term.sum(axis=1)) / (prior.dof + (counts + 1) * n_features + 2)

    def estimate_covariances(self, scatter, counts, previous):
        return scatter.mean(axis=1) / counts

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components
