"""Figures of fitted mixtures (``gaussmix.plot``): each reads a model, never fits one.

Every function draws on the matplotlib Axes it is given (or on a new figure) and
returns that Axes; multi-panel figures return the Figure. Colours come from Okabe &
Ito's colour-blind-safe palette; ellipses come from the eigen-decomposition of each
component's covariance, so they are right for every covariance model. Data with more
than two features are drawn in the plane that best separates the fitted components
(`cluster_projection`: discriminant coordinates), unless ``dims`` names two features.
"""

from ._common import PALETTE, dense_covariances, draw_ellipses, ellipse_geometry, model_input
from .figures import (
    anomalies,
    clusters,
    convergence,
    criterion,
    density,
    gmm_vs_kmeans,
    pairs,
    responsibilities,
    uncertainty,
)
from .projection import ClusterProjection, PlaneView, cluster_projection, separating_directions
from .toolkit import bootstrap_intervals, density_regions, merged_clusters, merging
from .variational import variational_weights

__all__ = [
    "clusters",
    "convergence",
    "criterion",
    "uncertainty",
    "responsibilities",
    "density",
    "anomalies",
    "gmm_vs_kmeans",
    "pairs",
    "cluster_projection",
    "separating_directions",
    "ClusterProjection",
    "PlaneView",
    "variational_weights",
    "merging",
    "merged_clusters",
    "bootstrap_intervals",
    "density_regions",
    "draw_ellipses",
    "ellipse_geometry",
    "dense_covariances",
    "PALETTE",
    "model_input",
]
