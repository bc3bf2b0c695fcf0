"""scikit-learn-compatible estimators built on the engine."""

from .anomaly import AnomalyDetector
from .bayesian_mixture import BayesianGaussianMixture
from .gaussian_mixture import GaussianMixture

__all__ = ["AnomalyDetector", "BayesianGaussianMixture", "GaussianMixture"]
