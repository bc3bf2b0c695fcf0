"""mclust's toolkit around a fitted mixture: merging components into clusters
(``clustCombi``), bootstrap inference on the parameters (``MclustBootstrap``) and density
estimation with highest-density regions (``densityMclust``).

These tools read fitted estimators and `select_model`'s results; they sit above
``estimators/`` and ``selection/`` and below ``plotting/``, whose ``toolkit`` module draws
their figures.
"""

from .bootstrap_inference import BOOTSTRAP_METHODS, MixtureBootstrap, bootstrap, match_components
from .density import DensityEstimator, density_estimate
from .merging import ComponentMerging, MergeStep, combine_components

__all__ = [
    "BOOTSTRAP_METHODS",
    "ComponentMerging",
    "DensityEstimator",
    "MergeStep",
    "MixtureBootstrap",
    "bootstrap",
    "combine_components",
    "density_estimate",
    "match_components",
]
