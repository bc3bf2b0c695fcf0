"""Diagonal models: axis-aligned ellipsoids, ``Sigma_k = lambda_k A_k``.

``A_k`` is diagonal with determinant one (the shape), ``lambda_k`` the volume.
"""

from __future__ import annotations

import numpy as np

from ..forms import DiagonalForm
from ..scatter import DIAGONAL_SCATTER
from ._algebra import diagonal_objective, geometric_mean, minimise_by_steps, unit_determinant
from ._base import CovarianceModel

__all__ = ["EEI", "VEI", "EVI", "VVI"]


class EEI(CovarianceModel):
    """Diagonal, equal volume and shape: one diagonal covariance for every component.

    ``Sigma = diag(sum_k W_k) / n``.
    """

    name = "EEI"
    description = "diagonal, equal volume and shape"
    form = DiagonalForm
    scatter = DIAGONAL_SCATTER
    sklearn_name = None
    one_point_safe = False
    supports_variational = False
    supports_map = True
    ridge_rescues_zero_scatter = True
    compiled_constraint = "EEI"

    def map_covariances(self, data_term, counts, prior, n_features):
        """Posterior mode of the shared diagonal under a conjugate prior."""
        denominator = prior.dof + counts.sum() + counts.shape[0] + 2
        shared = (prior.scale + data_term.sum(axis=0)) / denominator
        return np.broadcast_to(shared, data_term.shape).copy()

    def estimate_covariances(self, scatter, counts, previous):
        shared = scatter.sum(axis=0) / counts.sum()
        return np.broadcast_to(shared, scatter.shape).copy()

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_features


class VEI(CovarianceModel):
    """Diagonal, varying volume, equal shape: ``Sigma_k = lambda_k A``.

    No closed form: alternates the exact updates of Celeux & Govaert (1995),
    ``A = unit-determinant(sum_k W_k / lambda_k)`` and ``lambda_k = tr(W_k A^{-1}) / (n_k d)``,
    starting from the previous volumes when given.
    """

    name = "VEI"
    description = "diagonal, varying volume, equal shape"
    form = DiagonalForm
    scatter = DIAGONAL_SCATTER
    sklearn_name = None
    one_point_safe = False
    supports_variational = False
    supports_map = False
    ridge_rescues_zero_scatter = False
    compiled_constraint = "VEI"

    def estimate_covariances(self, scatter, counts, previous):
        n_components, n_features = scatter.shape
        if previous is None:
            volumes = scatter.sum(axis=1) / (counts * n_features)
        else:
            variances = np.diagonal(
                previous.dense_covariances(n_components, n_features), axis1=1, axis2=2
            )
            volumes = geometric_mean(variances)

        def covariances(vols):
            shape = unit_determinant((scatter / vols[:, np.newaxis]).sum(axis=0))
            return vols[:, np.newaxis] * shape, shape

        def step(vols):
            _, shape = covariances(vols)
            return (scatter / shape).sum(axis=1) / (counts * n_features)

        volumes = minimise_by_steps(
            volumes,
            step,
            lambda vols: diagonal_objective(covariances(vols)[0], scatter, counts),
            counts.sum(),
            self.inner_tol,
            self.inner_max_iter,
        )
        return covariances(volumes)[0]

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components + n_features - 1


class EVI(CovarianceModel):
    """Diagonal, equal volume, varying shape: ``Sigma_k = lambda A_k``.

    ``A_k = unit-determinant(diag W_k)``, ``lambda = sum_k det(diag W_k)^{1/d} / n``.
    """

    name = "EVI"
    description = "diagonal, equal volume, varying shape"
    form = DiagonalForm
    scatter = DIAGONAL_SCATTER
    sklearn_name = None
    one_point_safe = False
    supports_variational = False
    supports_map = False
    ridge_rescues_zero_scatter = False
    compiled_constraint = "EVI"

    def estimate_covariances(self, scatter, counts, previous):
        roots = geometric_mean(scatter)
        volume = roots.sum() / counts.sum()
        return volume * scatter / roots[:, np.newaxis]

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return 1 + n_components * (n_features - 1)


class VVI(CovarianceModel):
    """Diagonal, varying volume and shape (scikit-learn's ``diag``)."""

    name = "VVI"
    description = "diagonal, varying volume and shape"
    form = DiagonalForm
    scatter = DIAGONAL_SCATTER
    sklearn_name = "diag"
    one_point_safe = True
    supports_variational = True
    supports_map = True
    ridge_rescues_zero_scatter = True
    compiled_constraint = "VVI"

    def map_covariances(self, data_term, counts, prior, n_features):
        """Posterior mode of each diagonal under a conjugate prior."""
        return (prior.scale + data_term) / (prior.dof + counts + 3)[:, None]

    def estimate_covariances(self, scatter, counts, previous):
        return scatter / counts[:, None]

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components * n_features
