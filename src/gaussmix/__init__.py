"""gaussmix: Gaussian mixture models by EM, as easy as scikit-learn and as complete as mclust."""

from .classification import MixtureClassifier
from .engine.bayesian.map_prior import ConjugatePrior
from .engine.data import ParquetSource
from .estimators import AnomalyDetector, BayesianGaussianMixture, GaussianMixture
from .estimators.persistence import load, save
from .version import __version__

__all__ = [
    "AnomalyDetector",
    "BayesianGaussianMixture",
    "ConjugatePrior",
    "DensityEstimator",
    "GaussianMixture",
    "MixtureClassifier",
    "ParquetSource",
    "bootstrap",
    "bootstrap_lrt",
    "combine_components",
    "density_estimate",
    "load",
    "save",
    "select_model",
    "__version__",
]

_LAZY_MODULES = {"plot": ".plotting", "datasets": ".datasets"}
#: Public names whose modules import pandas/joblib, loaded on first use.
_LAZY_FUNCTIONS = {
    "select_model": ".selection",
    "bootstrap_lrt": ".selection",
    "combine_components": ".toolkit",
    "bootstrap": ".toolkit",
    "density_estimate": ".toolkit",
    "DensityEstimator": ".toolkit",
}


def __getattr__(name):
    """``gaussmix.plot`` and ``gaussmix.datasets`` import matplotlib/pandas only when used."""
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(_LAZY_MODULES[name], __name__)
    if name in _LAZY_FUNCTIONS:
        import importlib

        return getattr(importlib.import_module(_LAZY_FUNCTIONS[name], __name__), name)
    raise AttributeError(f"module 'gaussmix' has no attribute {name!r}")
