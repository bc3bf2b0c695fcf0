"""scikit-learn-compatible estimators built on the engine."""

from .anomaly import AnomalyDetector
from .gaussian_mixture import GaussianMixture

__all__ = ["AnomalyDetector", "GaussianMixture"]
