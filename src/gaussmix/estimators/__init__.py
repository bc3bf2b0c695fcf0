"""scikit-learn-compatible estimators built on the engine."""

from .gaussian_mixture import GaussianMixture

__all__ = ["GaussianMixture"]
