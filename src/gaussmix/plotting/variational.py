"""The variational figure: how much weight each component of a Bayesian mixture keeps."""

from __future__ import annotations

import numpy as np

from ._common import axes_or_new, component_colors

__all__ = ["variational_weights"]

#: Colour of the components `prune` would drop.
PRUNED_COLOR = "#BBBBBB"


def variational_weights(
    model,
    *,
    threshold: float = 0.01,
    ax=None,
    title: str = "Variational mixture: weight per component",
):
    """Bar chart of a fitted mixture's weights, heaviest first, those below ``threshold``
    greyed.

    With a `BayesianGaussianMixture` (Dirichlet process or Dirichlet prior) the bars show
    which of the ``n_components`` the data use; grey bars are those ``prune(threshold)``
    drops. Any fitted mixture with ``weights_`` works.

    Parameters
    ----------
    model : fitted estimator with ``weights_``
    threshold : float, default=0.01
        Weights below it are drawn grey (as `BayesianGaussianMixture.prune` drops them);
        the threshold is drawn as a dashed line.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if None.
    title : str

    Returns
    -------
    ax : matplotlib Axes
    """
    from ..estimators.display import component_order

    if not 0 <= threshold < 1:
        raise ValueError(f"threshold={threshold!r} must be in [0, 1): a minimum weight.")
    # Bars by weight, heaviest first: bar j is "component j" of every other figure.
    weights = np.asarray(model.weights_, dtype=np.float64)[component_order(model)]
    ax = axes_or_new(ax)
    kept = weights >= threshold
    colors = np.where(kept, component_colors(len(weights)), PRUNED_COLOR)
    positions = np.arange(1, len(weights) + 1)
    ax.bar(positions, weights, color=colors, edgecolor="black", linewidth=0.5)
    ax.axhline(
        threshold, color="black", linestyle="--", linewidth=0.8, label=f"threshold {threshold:g}"
    )
    for position, weight in zip(positions, weights, strict=True):
        ax.annotate(
            f"{weight:.2f}",
            (position, weight),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xticks(positions)
    ax.set_xlabel("component (numbered by weight)")
    ax.set_ylabel("weight")
    ax.set_ylim(0, max(weights.max() * 1.15, threshold * 2))
    ax.set_title(f"{title}\n{int(kept.sum())} of {len(weights)} components kept")
    ax.legend(loc="upper right", frameon=False)
    return ax
