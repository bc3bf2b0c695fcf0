"""Ellipsoidal models: ``Sigma_k = lambda_k D_k A_k D_k^T`` with general orientation.

``lambda_k`` is the volume (``det(Sigma_k)^{1/d}``), ``A_k`` the shape (diagonal, determinant
one), ``D_k`` the orientation (orthogonal). Closed-form M-steps for EEE, EEV, EVV and VVV;
iterative ones (each step exact or majorise-minimise, so never worse than the start) for
VEE, VEV (Celeux & Govaert, 1995), EVE and VVE (Browne & McNicholas, 2014).
"""

from __future__ import annotations

import numpy as np

from ..forms import FullForm, TiedForm
from ..scatter import FULL_SCATTER
from ._algebra import (
    common_orientation,
    determinant_root,
    from_eigen,
    geometric_mean,
    has_converged,
    majorised_orientation,
    minimise_by_steps,
    unit_determinant,
)
from ._base import CovarianceModel

__all__ = ["EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV"]


# Relative margin added to the largest scatter eigenvalue in the MM majoriser (EVE, VVE).
_MAJORISER_MARGIN = 1e-6


def _n_symmetric(n_features: int) -> int:
    return n_features * (n_features + 1) // 2


def _n_rotation(n_features: int) -> int:
    return n_features * (n_features - 1) // 2


def _previous_volumes(previous, n_components: int, n_features: int) -> np.ndarray:
    return determinant_root(previous.dense_covariances(n_components, n_features))


def _initial_volumes(scatter: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.trace(scatter, axis1=1, axis2=2) / (counts * scatter.shape[-1])


class EEE(CovarianceModel):
    """Ellipsoidal, equal volume, shape and orientation (scikit-learn's ``tied``)."""

    name = "EEE"
    description = "ellipsoidal, equal volume, shape and orientation"
    form = TiedForm
    scatter = FULL_SCATTER

    def estimate_covariances(self, scatter, counts, previous):
        return scatter.sum(axis=0) / counts.sum()

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return _n_symmetric(n_features)


class VEE(CovarianceModel):
    """Ellipsoidal, varying volume, equal shape and orientation: ``Sigma_k = lambda_k C``.

    Alternates ``C = unit-determinant(sum_k W_k / lambda_k)`` and
    ``lambda_k = tr(W_k C^{-1}) / (n_k d)`` (Celeux & Govaert, 1995).
    """

    name = "VEE"
    description = "ellipsoidal, equal shape and orientation"
    form = FullForm
    scatter = FULL_SCATTER

    def estimate_covariances(self, scatter, counts, previous):
        n_components, n_features, _ = scatter.shape
        volumes = (
            _initial_volumes(scatter, counts)
            if previous is None
            else _previous_volumes(previous, n_components, n_features)
        )

        def common_shape(vols):
            pooled = np.tensordot(1.0 / vols, scatter, axes=1)
            return pooled / determinant_root(pooled)

        def traces(vols):
            # tr(C^{-1} W_k) for every k, with one d x d inverse.
            return np.einsum("ij,kji->k", np.linalg.inv(common_shape(vols)), scatter)

        def step(vols):
            return traces(vols) / (counts * n_features)

        def objective(vols):
            # log det C = 0, so f = sum_k n_k d log lambda_k + tr(C^{-1} W_k) / lambda_k.
            return float(np.sum(counts * n_features * np.log(vols) + traces(vols) / vols))

        volumes = minimise_by_steps(
            volumes, step, objective, counts.sum(), self.inner_tol, self.inner_max_iter
        )
        return volumes[:, np.newaxis, np.newaxis] * common_shape(volumes)

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components + (n_features - 1) + _n_rotation(n_features)


class _SharedOrientation(CovarianceModel):
    """Models with one orientation ``D`` for all components (EVE, VVE).

    Subclasses say how the eigenvalues along ``D`` follow from the scatter's diagonal in
    ``D``'s basis. The M-step alternates that exact update with one MM step on ``D``.
    """

    form = FullForm
    scatter = FULL_SCATTER

    @staticmethod
    def eigenvalues(rotated_variances: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Eigenvalues (K, d) of each ``Sigma_k`` along ``D``, from ``diag(D^T W_k D)``."""
        raise NotImplementedError

    def estimate_covariances(self, scatter, counts, previous):
        n_components, n_features, _ = scatter.shape
        orientation = (
            np.linalg.eigh(scatter.sum(axis=0))[1]
            if previous is None
            else common_orientation(previous.dense_covariances(n_components, n_features))
        )
        # alpha_k I - W_k of the MM majoriser, fixed through the inner iterations. Any
        # alpha_k >= the largest eigenvalue of W_k majorises; exactly the largest leaves
        # alpha_k I - W_k singular, and with K=1 the SVD in `majorised_orientation` then
        # has a zero singular value whose vectors round-off picks (permuting the rows
        # moved VVE, K=1, d=4 covariances by 1e-4). A relative margin of 1e-6 keeps it
        # well-posed (round-off then moves D by ~1e-10) while barely slowing the MM steps.
        largest = np.linalg.eigvalsh(scatter)[:, -1] * (1.0 + _MAJORISER_MARGIN)
        shifted = largest[:, np.newaxis, np.newaxis] * np.eye(n_features) - scatter

        def evaluate(rotation):
            # diag(D^T W_k D), the eigenvalues given D, and f (Sigma_k is diagonal along D).
            rotated = np.sum((scatter @ rotation) * rotation, axis=1)
            values = self.eigenvalues(rotated, counts)
            objective = float(np.sum(counts[:, np.newaxis] * np.log(values) + rotated / values))
            return values, objective

        values, objective = evaluate(orientation)
        for _ in range(self.inner_max_iter):
            candidate = majorised_orientation(orientation, shifted, 1.0 / values)
            candidate_values, candidate_objective = evaluate(candidate)
            if not np.isfinite(candidate_objective):
                break
            previous_objective = objective
            orientation, values, objective = candidate, candidate_values, candidate_objective
            if has_converged(previous_objective, objective, counts.sum(), self.inner_tol):
                break
        return from_eigen(orientation, values)


class EVE(_SharedOrientation):
    """Ellipsoidal, equal volume and orientation, varying shape: ``lambda D A_k D^T``.

    Given ``D``: ``A_k = unit-determinant(diag(D^T W_k D))`` and
    ``lambda = sum_k det(diag(D^T W_k D))^{1/d} / n``; ``D`` by the MM algorithm of
    Browne & McNicholas (2014).
    """

    name = "EVE"
    description = "ellipsoidal, equal volume and orientation"

    @staticmethod
    def eigenvalues(rotated_variances, counts):
        roots = geometric_mean(rotated_variances)
        return (roots.sum() / counts.sum()) * rotated_variances / roots[:, np.newaxis]

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return 1 + n_components * (n_features - 1) + _n_rotation(n_features)


class VVE(_SharedOrientation):
    """Ellipsoidal, equal orientation, varying volume and shape: ``lambda_k D A_k D^T``.

    Given ``D``: ``lambda_k A_k = diag(D^T W_k D) / n_k``; ``D`` by the MM algorithm of
    Browne & McNicholas (2014).
    """

    name = "VVE"
    description = "ellipsoidal, equal orientation"

    @staticmethod
    def eigenvalues(rotated_variances, counts):
        return rotated_variances / counts[:, np.newaxis]

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components * n_features + _n_rotation(n_features)


class EEV(CovarianceModel):
    """Ellipsoidal, equal volume and shape, varying orientation: ``lambda D_k A D_k^T``.

    With ``W_k = L_k Omega_k L_k^T`` (eigenvalues in one order): ``D_k = L_k``,
    ``A = unit-determinant(sum_k Omega_k)``, ``lambda = det(sum_k Omega_k)^{1/d} / n``.
    """

    name = "EEV"
    description = "ellipsoidal, equal volume and shape"
    form = FullForm
    scatter = FULL_SCATTER

    def estimate_covariances(self, scatter, counts, previous):
        values, vectors = np.linalg.eigh(scatter)
        pooled = values.sum(axis=0)
        shared = pooled / counts.sum()
        return from_eigen(vectors, np.broadcast_to(shared, values.shape))

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return 1 + (n_features - 1) + n_components * _n_rotation(n_features)


class VEV(CovarianceModel):
    """Ellipsoidal, equal shape, varying volume and orientation: ``lambda_k D_k A D_k^T``.

    ``D_k`` are the eigenvectors of ``W_k`` (eigenvalues ``Omega_k`` in one order); then
    alternate ``A = unit-determinant(sum_k Omega_k / lambda_k)`` and
    ``lambda_k = tr(Omega_k A^{-1}) / (n_k d)`` (Celeux & Govaert, 1995).
    """

    name = "VEV"
    description = "ellipsoidal, equal shape"
    form = FullForm
    scatter = FULL_SCATTER

    def estimate_covariances(self, scatter, counts, previous):
        n_components, n_features, _ = scatter.shape
        values, vectors = np.linalg.eigh(scatter)
        volumes = (
            values.sum(axis=1) / (counts * n_features)
            if previous is None
            else _previous_volumes(previous, n_components, n_features)
        )

        def shape_for(vols):
            return unit_determinant((values / vols[:, np.newaxis]).sum(axis=0))

        def step(vols):
            return (values / shape_for(vols)).sum(axis=1) / (counts * n_features)

        def objective(vols):
            eigenvalues = vols[:, np.newaxis] * shape_for(vols)
            return float(
                np.sum(
                    counts * np.log(eigenvalues).sum(axis=1) + (values / eigenvalues).sum(axis=1)
                )
            )

        volumes = minimise_by_steps(
            volumes, step, objective, counts.sum(), self.inner_tol, self.inner_max_iter
        )
        return from_eigen(vectors, volumes[:, np.newaxis] * shape_for(volumes))

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components + (n_features - 1) + n_components * _n_rotation(n_features)


class EVV(CovarianceModel):
    """Ellipsoidal, equal volume, varying shape and orientation: ``lambda C_k``.

    ``C_k = W_k / det(W_k)^{1/d}``, ``lambda = sum_k det(W_k)^{1/d} / n``.
    """

    name = "EVV"
    description = "ellipsoidal, equal volume"
    form = FullForm
    scatter = FULL_SCATTER

    def estimate_covariances(self, scatter, counts, previous):
        roots = determinant_root(scatter)
        volume = roots.sum() / counts.sum()
        return volume * scatter / roots[:, np.newaxis, np.newaxis]

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return 1 + n_components * (n_features - 1) + n_components * _n_rotation(n_features)


class VVV(CovarianceModel):
    """Ellipsoidal, varying volume, shape and orientation (scikit-learn's ``full``)."""

    name = "VVV"
    description = "ellipsoidal, varying volume, shape and orientation"
    form = FullForm
    scatter = FULL_SCATTER

    def estimate_covariances(self, scatter, counts, previous):
        return scatter / counts[:, None, None]

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components * _n_symmetric(n_features)
