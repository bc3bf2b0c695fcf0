"""Ellipsoidal models: ``Sigma_k = lambda_k D_k A_k D_k^T`` with general orientation."""

from __future__ import annotations

from ..forms import FullForm, TiedForm
from ..scatter import FULL_SCATTER
from ._base import CovarianceModel

__all__ = ["EEE", "VVV"]


def _n_symmetric(n_features: int) -> int:
    return n_features * (n_features + 1) // 2


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
