"""What every figure shares: palette, axes creation, data and model access, ellipses."""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Ellipse
from scipy.special import logsumexp

from ..engine.core.params import MixtureParams
from ..engine.covariance.forms import FullForm

__all__ = [
    "PALETTE",
    "ANOMALY_COLOR",
    "component_colors",
    "axes_or_new",
    "as_array",
    "feature_labels",
    "fitted_params",
    "model_input",
    "mixture_of",
    "dense_covariances",
    "ellipse_geometry",
    "draw_ellipses",
    "marginal_log_density",
]

#: Okabe & Ito's colour-blind-safe palette (yellow last: it is faint on white).
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#000000",  # black
    "#F0E442",  # yellow
)
#: Colour of anomalies (vermillion, distinct from the first components' colours).
ANOMALY_COLOR = "#D55E00"
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def component_colors(n_components: int) -> list[str]:
    """One palette colour per component (the palette repeats beyond eight)."""
    return [PALETTE[k % len(PALETTE)] for k in range(n_components)]


def axes_or_new(ax, figsize=(7.0, 5.5)):
    """``ax`` itself, or the Axes of a new figure."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def new_figure(n_rows: int, n_cols: int, panel_size=(5.0, 4.2)):
    """A figure with a grid of Axes (always a 2-d array)."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(panel_size[0] * n_cols, panel_size[1] * n_rows),
        squeeze=False,
        layout="constrained",
    )
    return figure, axes


def as_array(X) -> np.ndarray:
    """Rows as a 2-d float array (a DataFrame's values, a 1-d array as one column)."""
    values = np.asarray(getattr(X, "values", X), dtype=np.float64)
    if values.ndim == 1:
        values = values[:, np.newaxis]
    if values.ndim != 2:
        raise ValueError(f"X must be 2-d (n_samples, n_features); got shape {values.shape}.")
    return values


def feature_labels(X, model=None, n_features: int | None = None) -> list[str]:
    """Column names of a DataFrame (or the model's), else x₁, x₂, ..."""
    columns = getattr(X, "columns", None)
    if columns is None and model is not None:
        columns = getattr(_mixture(model), "feature_names_in_", None)
    if columns is not None:
        return [str(c) for c in columns]
    n_features = as_array(X).shape[1] if n_features is None else n_features
    return [f"x{i + 1}".translate(_SUBSCRIPTS) for i in range(n_features)]


def model_input(model, X):
    """``X`` in the form the model was fitted on: a DataFrame with its feature names, or an
    array (avoids scikit-learn's feature-name warnings)."""
    names = getattr(_mixture(model), "feature_names_in_", None)
    if names is None:
        return as_array(X)
    if hasattr(X, "columns"):
        return X
    import pandas as pd

    return pd.DataFrame(as_array(X), columns=list(names))


def mixture_of(model):
    """The mixture inside a model (an anomaly detector's fitted mixture, or the model)."""
    return getattr(model, "mixture_", model)


_mixture = mixture_of


def fitted_params(model) -> MixtureParams:
    """The fitted parameters of a gaussmix mixture or anomaly detector."""
    params = getattr(_mixture(model), "_params", None)
    if params is None:
        raise ValueError(
            f"{type(model).__name__} is not a fitted gaussmix mixture; fit it first "
            "(plots read fitted models and never fit)."
        )
    return params


def dense_covariances(model) -> np.ndarray:
    """Every component's covariance as (n_components, d, d), whatever the covariance model."""
    params = fitted_params(model)
    return np.asarray(params.covariance.dense_covariances(*params.means.shape), dtype=np.float64)


def ellipse_geometry(covariance: np.ndarray, n_std: float) -> tuple[float, float, float]:
    """Width, height and angle (degrees) of the ``n_std``-sigma ellipse of a 2x2 covariance.

    The ellipse ``{x : (x - mu)^T Sigma^-1 (x - mu) = n_std^2}`` has semi-axes
    ``n_std * sqrt(lambda_i)`` along the eigenvectors of ``Sigma``; the width lies along
    the eigenvector of the largest eigenvalue.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(covariance, dtype=np.float64))
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    major = eigenvectors[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    width, height = 2.0 * n_std * np.sqrt(eigenvalues[::-1])
    return float(width), float(height), angle


def draw_ellipses(ax, means, covariances, colors, n_std=(1, 2, 3), **style) -> list[Ellipse]:
    """Add the ``n_std``-sigma ellipses of each (2-d) component to ``ax``."""
    n_std = np.atleast_1d(n_std)
    drawn = []
    for mean, covariance, color in zip(means, covariances, colors, strict=True):
        for level, n in enumerate(n_std):
            width, height, angle = ellipse_geometry(covariance, float(n))
            patch = Ellipse(
                tuple(mean),
                width,
                height,
                angle=angle,
                facecolor="none",
                edgecolor=color,
                linewidth=style.get("linewidth", 2.0 - 0.4 * level),
                linestyle=style.get("linestyle", "-"),
                alpha=style.get("alpha", 1.0 - 0.25 * level),
                zorder=3,
            )
            ax.add_patch(patch)
            drawn.append(patch)
    return drawn


def marginal_log_density(model, dims, points: np.ndarray, component: int | None = None):
    """Log-density of the mixture's marginal on features ``dims`` at ``points``.

    The marginal of a Gaussian mixture on some coordinates is the mixture of the
    components' marginals: same weights, sub-vector means, sub-matrix covariances.
    With ``component`` given, the density of that component alone (weight 1).
    """
    params = fitted_params(model)
    dims = list(dims)
    covariances = dense_covariances(model)[:, dims][:, :, dims]
    weights, means = params.weights, params.means[:, dims]
    if component is not None:
        chosen = slice(component, component + 1)
        weights, means, covariances = np.ones(1), means[chosen], covariances[chosen]
    marginal = MixtureParams(
        weights=weights, means=means, covariance=FullForm.from_covariances(covariances)
    )
    return logsumexp(marginal.weighted_log_prob(np.asarray(points, dtype=np.float64)), axis=1)


def projected_components(model, dims):
    """Means and covariances of each component's marginal on ``dims`` (two features)."""
    params = fitted_params(model)
    dims = list(dims)
    return params.means[:, dims], dense_covariances(model)[:, dims][:, :, dims]


def grid_over(points: np.ndarray, resolution: int, margin: float = 0.15):
    """A (resolution x resolution) grid spanning ``points`` (2 columns) with a margin."""
    low, high = points.min(axis=0), points.max(axis=0)
    pad = margin * np.where(high > low, high - low, 1.0)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, np.column_stack([gx.ravel(), gy.ravel()])
