"""gaussmix: Gaussian mixture models by EM, as easy as scikit-learn and as complete as mclust."""

from importlib.metadata import PackageNotFoundError, version

from .engine.map_prior import ConjugatePrior
from .engine.sources import ParquetSource
from .estimators import (
    AnomalyDetector,
    BayesianGaussianMixture,
    GaussianMixture,
    MixtureClassifier,
)
from .io import load, save

try:
    __version__ = version("gaussmix")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

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
