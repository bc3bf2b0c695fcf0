"""Figures of the toolkit's results: component merging, bootstrap intervals, density regions.

Each function reads a result of `gaussmix.toolkit` (never computes one) and returns the
matplotlib Axes or Figure it drew on.
"""

from __future__ import annotations

import numpy as np

from ._common import (
    as_array,
    axes_or_new,
    component_colors,
    feature_labels,
    grid_over,
    marginal_log_density,
    new_figure,
)

__all__ = ["merging", "merged_clusters", "bootstrap_intervals", "density_regions"]

_FIT_COLOR = "#D55E00"


def _two_segment_fit(x: np.ndarray, y: np.ndarray, elbow: float) -> np.ndarray:
    """Values of the continuous two-segment least-squares line broken at ``elbow``."""
    design = np.column_stack([np.ones_like(x), x, np.maximum(x - elbow, 0.0)])
    return design @ np.linalg.lstsq(design, y, rcond=None)[0]


def merging(result, *, axes=None):
    """Entropy against the number of clusters, and the normalised change of each merge.

    Left: the classification entropy for K, K-1, ..., 1 clusters with the two-segment
    least-squares fit whose break (the elbow) `ComponentMerging.elbow` returns. Right:
    the entropy change of each merge divided by the rows it merged (Baudry et al.'s
    normalised change); a merge of two distinct clusters stands out as a tall bar.

    Parameters
    ----------
    result : ComponentMerging
    axes : pair of matplotlib Axes, default=None

    Returns
    -------
    figure : matplotlib Figure
    """
    if axes is None:
        figure, grid = new_figure(1, 2, panel_size=(5.2, 4.0))
        axes = grid[0]
    left, right = axes
    n = np.arange(1, result.n_components + 1)
    left.plot(n, result.entropies_, marker="o", color="#0072B2", label="entropy")
    elbow = result.elbow()
    if result.n_components >= 3:
        left.plot(
            n,
            _two_segment_fit(n.astype(float), result.entropies_, float(elbow)),
            linestyle="--",
            color=_FIT_COLOR,
            linewidth=1.2,
            label="two-segment fit",
        )
        left.axvline(elbow, color=_FIT_COLOR, linestyle=":", linewidth=1.2)
        left.text(
            elbow,
            0.97,
            f" elbow: {elbow} clusters",
            transform=left.get_xaxis_transform(),
            va="top",
            ha="left",
            color=_FIT_COLOR,
            fontsize=9,
        )
    left.set_xlabel("number of clusters")
    left.set_ylabel("entropy of the classification")
    left.set_xticks(n)
    left.set_title("Entropy after each merge")
    left.grid(True, alpha=0.3)
    left.legend(fontsize=8, loc="lower right")
    levels = [step.n_clusters for step in result.steps_]
    changes = [step.normalized_entropy_change for step in result.steps_]
    right.bar(levels, changes, color="#56B4E9", edgecolor="#0072B2")
    right.set_xlabel("number of clusters after the merge")
    right.set_ylabel("entropy change per row merged")
    right.set_xticks(n[:-1] if len(n) > 1 else n)
    right.set_title("Normalised entropy change")
    right.grid(True, axis="y", alpha=0.3)
    return left.figure


def merged_clusters(result, X, n_clusters, *, ax=None, dims=(0, 1), title=None):
    """The rows coloured by their merged cluster at ``n_clusters``.

    Parameters
    ----------
    result : ComponentMerging
    X : array-like of shape (n_samples, n_features)
        The rows `combine_components` was given.
    n_clusters : int
    ax : matplotlib Axes, default=None
    dims : pair of int, default=(0, 1)
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    values = as_array(X)
    labels = result.labels(n_clusters)
    names = feature_labels(X, None, values.shape[1])
    ax = axes_or_new(ax)
    colors = component_colors(n_clusters)
    for c, members in enumerate(result.clusters(n_clusters)):
        chosen = labels == c
        listed = ", ".join(str(k + 1) for k in members)
        ax.scatter(
            values[chosen, dims[0]],
            values[chosen, dims[1]],
            s=20,
            alpha=0.8,
            color=colors[c],
            edgecolors="white",
            linewidths=0.3,
            label=f"cluster {c + 1}: components {listed} ({int(chosen.sum())} rows)",
        )
    ax.set_xlabel(names[dims[0]])
    ax.set_ylabel(names[dims[1]])
    ax.set_title(title or f"{result.n_components} components merged into {n_clusters} clusters")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax


def _bootstrap_rows(result, max_features: int) -> list[tuple[str, str, int | None]]:
    n_features = result.estimates_["means"].shape[1]
    shown = range(min(n_features, max_features))
    rows: list[tuple[str, str, int | None]] = [("weights", "weight", None)]
    for name, label in (("means", "mean"), ("variances", "variance")):
        rows += [(name, f"{label} of {result.feature_names[j]}", j) for j in shown]
    return rows


def bootstrap_intervals(result, *, level: float = 0.95, max_features: int = 4):
    """Histograms of each parameter's bootstrap replicates with the estimate and interval.

    One row of panels per parameter (the weight, then the mean and the variance of each
    of the first ``max_features`` features), one column per component, as mclust's
    ``plot.MclustBootstrap``: the fitted value is a solid line, the percentile
    interval a shaded band.

    Parameters
    ----------
    result : MixtureBootstrap
    level : float, default=0.95
    max_features : int, default=4

    Returns
    -------
    figure : matplotlib Figure
    """
    rows = _bootstrap_rows(result, max_features)
    n_components = result.estimates_["weights"].shape[0]
    figure, grid = new_figure(len(rows), n_components, panel_size=(2.7, 1.75))
    bounds = result.intervals(level)
    colors = component_colors(n_components)
    for r, (name, label, j) in enumerate(rows):
        for k in range(n_components):
            ax = grid[r, k]
            index = (k,) if j is None else (k, j)
            replicates = result.replicates_[name][(slice(None),) + index]
            lower, upper = (float(b[index]) for b in bounds[name])
            ax.axvspan(lower, upper, color=colors[k], alpha=0.15, linewidth=0)
            ax.hist(replicates, bins=20, color="#BBBBBB", edgecolor="white")
            ax.axvline(result.estimates_[name][index], color=colors[k], linewidth=2)
            ax.tick_params(labelsize=7)
            ax.set_yticks([])
            if k == 0:
                ax.set_ylabel(label, fontsize=8)
            if r == 0:
                ax.set_title(f"component {k + 1}", fontsize=9, color=colors[k])
    figure.suptitle(
        f"{result.method.capitalize()} bootstrap ({result.n_replicates_} replicates)\n"
        f"line: estimate; band: {100 * level:g}% percentile interval",
        fontsize=10,
    )
    return figure


def _shades(n: int) -> list:
    """``n`` blues from light (the widest region) to dark (the narrowest)."""
    from matplotlib import colormaps

    return [colormaps["Blues"](v) for v in np.linspace(0.15, 0.65, n)]


def _hdr_labels(probabilities, levels):
    """Contour levels in increasing order with their "p%" labels."""
    order = np.argsort(levels)
    return levels[order], [f"{100 * p:g}%" for p in probabilities[order]]


def density_regions(
    estimator, X=None, *, probabilities=(0.5, 0.75, 0.95), ax=None, dims=(0, 1), resolution=150
):
    """The density with its highest-density regions (mclust's ``plot.densityMclust``).

    One feature: the density curve, its regions shaded, the data as a rug. Two
    features: the regions' boundaries as labelled contours over the data. More
    features: the same for the marginal density on ``dims``, whose region levels are
    then quantiles of the marginal density at ``X`` (the full density's levels do not
    apply to a marginal).

    Parameters
    ----------
    estimator : fitted DensityEstimator
    X : array-like of shape (n_samples, n_features), default=None
        Data to draw (and to span the axes); None draws from the model.
    probabilities : sequence of float in (0, 1), default=(0.5, 0.75, 0.95)
    ax : matplotlib Axes, default=None
    dims : pair of int, default=(0, 1)
        Features shown when there are more than two.
    resolution : int, default=150

    Returns
    -------
    ax : matplotlib Axes
    """
    model = estimator.model_
    probabilities = np.sort(np.atleast_1d(np.asarray(probabilities, dtype=np.float64)))
    values = as_array(X) if X is not None else np.asarray(estimator.sample(2000)[0])
    names = feature_labels(X if X is not None else values, model, values.shape[1])
    ax = axes_or_new(ax)
    if values.shape[1] == 1:
        return _density_regions_1d(estimator, values, probabilities, ax, names[0])
    dims = list(dims)
    gx, gy, grid = grid_over(values[:, dims], resolution)
    log_z = marginal_log_density(model, dims, grid).reshape(gx.shape)
    if values.shape[1] == 2:
        log_levels = estimator.hdr_log_levels(probabilities)
        title = "Highest-density regions"
    else:
        at_data = marginal_log_density(model, dims, values[:, dims])
        log_levels = np.quantile(at_data, 1.0 - probabilities)
        title = f"Highest-density regions of the marginal on {names[dims[0]]}, {names[dims[1]]}"
    levels, labels = _hdr_labels(probabilities, log_levels)
    ax.contourf(
        gx,
        gy,
        log_z,
        levels=[*levels, max(log_z.max(), levels[-1]) + 1.0],
        colors=_shades(len(levels)),
        alpha=0.8,
    )
    lines = ax.contour(
        gx, gy, log_z, levels=levels, colors="#0B3C6E", linewidths=1.0, linestyles="solid"
    )
    ax.clabel(lines, fmt=dict(zip(lines.levels, labels, strict=True)), fontsize=8)
    ax.scatter(values[:, dims[0]], values[:, dims[1]], s=8, color="black", alpha=0.6, linewidths=0)
    ax.set_xlabel(names[dims[0]])
    ax.set_ylabel(names[dims[1]])
    ax.set_title(title)
    return ax


def _density_regions_1d(estimator, values, probabilities, ax, name):
    model = estimator.model_
    low, high = values.min(), values.max()
    pad = 0.1 * (high - low if high > low else 1.0)
    xs = np.linspace(low - pad, high + pad, 600)
    density = np.exp(marginal_log_density(model, [0], xs[:, np.newaxis]))
    levels = estimator.hdr_levels(probabilities)
    shades = _shades(len(levels))[::-1]  # probabilities increase: the widest region lightest
    for i in np.argsort(levels):  # widest region first, narrower ones drawn over it
        ax.fill_between(
            xs,
            0,
            density,
            where=density >= levels[i],
            color=shades[i],
            alpha=0.9,
            label=f"{100 * probabilities[i]:g}% region (density ≥ {levels[i]:.3g})",
        )
    ax.plot(xs, density, color="black", linewidth=1.8, label="density")
    ax.plot(
        values[:, 0],
        np.zeros(len(values)),
        "|",
        color="black",
        markersize=10,
        alpha=0.5,
        label="data (rug)",
    )
    ax.set_xlabel(name)
    ax.set_ylabel("density")
    ax.set_title("Density with its highest-density regions")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax
