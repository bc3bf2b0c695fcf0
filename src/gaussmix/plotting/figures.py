"""The chapter's figures, one function each: draw on ``ax`` (or a new one), return it."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import BoundaryNorm
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnnotationBbox, DrawingArea
from matplotlib.patches import Wedge
from matplotlib.ticker import MaxNLocator

from ._common import (
    ANOMALY_COLOR,
    as_array,
    axes_or_new,
    component_colors,
    draw_ellipses,
    feature_labels,
    fitted_params,
    grid_over,
    marginal_log_density,
    mixture_of,
    model_input,
    new_figure,
    projected_components,
)
from .projection import plane_view

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
]

_POINT_STYLE = {"s": 22, "alpha": 0.75, "linewidths": 0.3, "edgecolors": "white"}


def _check_dims(dims, n_features: int) -> list[int]:
    dims = [int(d) for d in dims]
    if len(dims) != 2 or len(set(dims)) != 2 or not all(0 <= d < n_features for d in dims):
        raise ValueError(
            f"dims must name two different features in [0, {n_features - 1}]; got {dims}."
        )
    return dims


def _label_axes(ax, names, dims, title):
    ax.set_xlabel(names[dims[0]])
    ax.set_ylabel(names[dims[1]])
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)


def _levels_from_data(density_at_data: np.ndarray, n_levels: int, top: float) -> np.ndarray:
    """Contour levels at quantiles of the density at the data (as mclust draws them), so
    that sharp peaks do not leave every point in the lowest band."""
    quantiles = np.quantile(density_at_data, np.linspace(0.0, 0.98, max(n_levels - 1, 2)))
    levels = np.unique(np.concatenate([[0.0], quantiles, [top]]))
    return levels if levels.size >= 3 else np.linspace(0.0, top, n_levels)


def _equal_aspect_if_comparable(ax, values, dims) -> None:
    """Equal axis scales (circles look round) unless the features' ranges differ >4-fold."""
    spans = np.ptp(values[:, dims], axis=0)
    if spans.min() > 0 and spans.max() / spans.min() <= 4:
        ax.set_aspect("equal", adjustable="datalim")


def _needs_two_features(n_features: int, function: str) -> None:
    if n_features < 2:
        raise ValueError(
            f"plot.{function} needs at least two features; for one feature use plot.density."
        )


def _two_feature_rows(model, X, dims, function: str):
    """The plane a scatter of a fitted model shows (`projection.plane_view`: the features
    ``dims``, or for None the two features of 2-d data, else the directions that best
    separate the components), the rows' coordinates in it and their columns ``[0, 1]``;
    clear messages for an unfitted model, one feature, or bad ``dims``."""
    fitted_params(model)
    values = as_array(X)
    _needs_two_features(values.shape[1], function)
    dims = None if dims is None else _check_dims(dims, values.shape[1])
    view = plane_view(model, X, dims)
    return view.coordinates(values), [0, 1], view


def _mark_centres(ax, centres: np.ndarray, colors) -> None:
    """Large black-edged crosses at the (n, 2) ``centres``, above points and ellipses."""
    ax.scatter(
        centres[:, 0],
        centres[:, 1],
        c=colors,
        marker="X",
        s=180,
        edgecolors="black",
        linewidths=1.5,
        zorder=4,
    )


#: Colour of the rows and pie slices of a noise component.
_NOISE_COLOR = "#666666"


def clusters(
    model,
    X,
    *,
    ax=None,
    n_std=(1, 2, 3),
    dims=None,
    true_means=None,
    true_covariances=None,
    title="Fitted Gaussian mixture",
):
    """Points coloured by their most probable component, with 1-, 2-, 3-sigma ellipses.

    Parameters
    ----------
    model : fitted GaussianMixture (or AnomalyDetector)
        The mixture to draw; it is not refitted.
    X : array-like of shape (n_samples, n_features)
        Rows to show (labelled by ``model.predict``).
    ax : matplotlib Axes, default=None
        Where to draw; None creates a figure.
    n_std : sequence of float, default=(1, 2, 3)
        Mahalanobis radii of the ellipses drawn around every component.
    dims : pair of int, default=None
        The two features shown; ellipses are the components' marginal covariances. None
        shows two-feature data as it is and, for more features, the plane of the first two
        discriminant coordinates (`cluster_projection`), where each ellipse is the exact
        image ``A Sigma_k A^T`` of its component.
    true_means, true_covariances : array-like, default=None
        The generating mixture, drawn as dashed grey ellipses for comparison.
    title : str, default="Fitted Gaussian mixture"

    Returns
    -------
    ax : matplotlib Axes
    """
    values, dims, view = _two_feature_rows(model, X, dims, "clusters")
    ax = axes_or_new(ax)
    labels = mixture_of(model).predict(model_input(model, X))
    means, covariances = view.components(model)
    colors = component_colors(len(means))
    for k, color in enumerate(colors):
        rows = labels == k
        ax.scatter(
            values[rows, dims[0]],
            values[rows, dims[1]],
            color=color,
            label=f"component {k + 1} ({rows.sum()})",
            **_POINT_STYLE,
        )
    noise_rows = labels == -1  # a noise component's rows (GaussianMixture(noise=...))
    if noise_rows.any():
        ax.scatter(
            values[noise_rows, dims[0]],
            values[noise_rows, dims[1]],
            color=_NOISE_COLOR,
            marker="x",
            label=f"noise ({noise_rows.sum()})",
            s=22,
            alpha=0.75,
            linewidths=1.0,
        )
    draw_ellipses(ax, means, covariances, colors, n_std)
    _mark_centres(ax, means, colors)
    if true_means is not None and true_covariances is not None:
        true_means = view.project_means(np.asarray(true_means, dtype=float))
        true_covariances = view.project_covariances(np.asarray(true_covariances, dtype=float))
        draw_ellipses(
            ax,
            true_means,
            true_covariances,
            ["#555555"] * len(true_means),
            n_std=[max(np.atleast_1d(n_std))] if len(np.atleast_1d(n_std)) else [2],
            linestyle="--",
            linewidth=1.4,
            alpha=0.9,
        )
        ax.add_artist(
            ax.legend(
                handles=[
                    Line2D([], [], color="#555555", linestyle="--", label="true components"),
                    Line2D(
                        [],
                        [],
                        color="black",
                        label=f"fitted: {', '.join(f'{n:g}' for n in np.atleast_1d(n_std))}σ",
                    ),
                ],
                loc="lower right",
                fontsize=8,
            )
        )
    ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
    _label_axes(ax, view.labels, dims, title)
    _equal_aspect_if_comparable(ax, values, dims)
    return ax


def convergence(model, *, ax=None, title="EM convergence"):
    """The log-likelihood at every EM iteration (``lower_bounds_``).

    Parameters
    ----------
    model : fitted GaussianMixture, or a sequence of numbers
        Its ``lower_bounds_`` (mean log-likelihood per sample) are drawn.
    ax : matplotlib Axes, default=None
    title : str, default="EM convergence"

    Returns
    -------
    ax : matplotlib Axes
    """
    history = getattr(model, "lower_bounds_", model)
    history = np.asarray(history, dtype=float)
    if history.ndim != 1 or history.size == 0:
        raise ValueError("convergence needs a fitted model with lower_bounds_ (or a 1-d sequence).")
    ax = axes_or_new(ax, figsize=(7.0, 4.0))
    iterations = np.arange(1, history.size + 1)
    ax.plot(
        iterations,
        history,
        color="#0072B2",
        linewidth=2,
        marker="o",
        markersize=3.5,
        label="log-likelihood per sample",
    )
    converged = getattr(model, "converged_", None)
    if converged is not None:
        status = "converged" if converged else "stopped at max_iter"
        ax.annotate(
            f"{status}: {history[-1]:.4f}",
            xy=(iterations[-1], history[-1]),
            xytext=(-10, -22),
            textcoords="offset points",
            ha="right",
            fontsize=9,
        )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("mean log-likelihood per sample")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return ax


def _criterion_table(result):
    table = getattr(result, "table_", result)
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            "criterion needs a select_model result (with table_) or a DataFrame indexed by K "
            f"with one column per covariance model; got {type(result).__name__}."
        )
    return table


def criterion(result, *, ax=None, ylabel=None, title=None):
    """An information criterion against K, one line per covariance model (lower is better).

    Parameters
    ----------
    result : select_model result or DataFrame
        ``result.table_`` (or the DataFrame itself): index K, one column per covariance
        model, NaN where a fit failed.
    ax : matplotlib Axes, default=None
    ylabel : str, default=None
        Axis label; by default the result's criterion name, e.g. "BIC (lower is better)".
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    table = _criterion_table(result)
    ax = axes_or_new(ax, figsize=(7.5, 4.8))
    markers = "osD^v<>ph*"
    colors = component_colors(table.shape[1])
    ks = np.asarray(table.index, dtype=float)
    for i, column in enumerate(table.columns):
        values = table[column].to_numpy(dtype=float)
        ax.plot(
            ks,
            values,
            marker=markers[i % len(markers)],
            color=colors[i],
            linewidth=1.6,
            markersize=6,
            label=str(column),
        )
    values = table.to_numpy(dtype=float)
    if np.isfinite(values).any():
        row, col = np.unravel_index(np.nanargmin(values), values.shape)
        ax.scatter(
            [ks[row]],
            [values[row, col]],
            s=320,
            marker="*",
            color="#D55E00",
            edgecolors="black",
            zorder=5,
            label=f"best: {table.columns[col]}, K={table.index[row]}",
        )
    name = getattr(result, "criterion", None) or getattr(result, "criterion_", None)
    name = str(name).upper() if name else "criterion"
    ax.set_xlabel("number of components K")
    ax.set_ylabel(ylabel or f"{name} (lower is better)")
    ax.set_xticks(ks)
    ax.set_title(
        title or ("Model selection" if name == "criterion" else f"Model selection by {name}")
    )
    ax.legend(fontsize=8, ncol=2 if table.shape[1] > 4 else 1)
    ax.grid(True, alpha=0.3)
    return ax


def uncertainty(model, X, *, ax=None, dims=None, title="Classification uncertainty"):
    """Points coloured and sized by their classification uncertainty ``1 - max_k p(k|x)``.

    Parameters
    ----------
    model : fitted GaussianMixture
    X : array-like of shape (n_samples, n_features)
    ax : matplotlib Axes, default=None
    dims : pair of int, default=None
        Two features to show; None: the features of two-feature data, else the plane of
        the first two discriminant coordinates (see `clusters`).
    title : str, default="Classification uncertainty"

    Returns
    -------
    ax : matplotlib Axes
    """
    values, dims, view = _two_feature_rows(model, X, dims, "uncertainty")
    ax = axes_or_new(ax)
    u = mixture_of(model).uncertainty(model_input(model, X))
    scale = u.max() if u.max() > 0 else 1.0
    order = np.argsort(u)  # most uncertain drawn last, on top
    points = ax.scatter(
        values[order, dims[0]],
        values[order, dims[1]],
        c=u[order],
        s=12 + 110 * u[order] / scale,
        cmap="viridis",
        vmin=0,
        edgecolors="black",
        linewidths=0.2,
    )
    ax.figure.colorbar(points, ax=ax, label="uncertainty  1 − max probability")
    means, covariances = view.components(model)
    draw_ellipses(ax, means, covariances, ["#444444"] * len(means), n_std=[2], linewidth=1.2)
    _label_axes(ax, view.labels, dims, title)
    _equal_aspect_if_comparable(ax, values, dims)
    return ax


def _pie(probabilities, colors, radius: float) -> DrawingArea:
    size = 2 * radius
    area = DrawingArea(size, size, 0, 0)
    start = 90.0
    for p, color in zip(probabilities, colors, strict=True):
        if p < 1e-3:  # invisible slivers would only leave an edge line
            continue
        end = start + 360.0 * p
        area.add_artist(
            Wedge(
                (radius, radius),
                radius,
                start,
                end,
                facecolor=color,
                edgecolor="white" if p < 0.999 else color,  # no seam on a whole pie
                linewidth=0.5,
            )
        )
        start = end
    return area


def _separated(points, candidates, n: int, taken) -> list[int]:
    """The first ``n`` candidates at least 8% of the data's extent from every chosen point,
    so that pies do not hide each other."""
    extent = np.ptp(points, axis=0).max() or 1.0
    chosen = list(taken)
    for i in candidates:
        if len(chosen) - len(taken) == n:
            break
        if all(np.linalg.norm(points[i] - points[j]) >= 0.08 * extent for j in chosen):
            chosen.append(int(i))
    return chosen[len(taken) :]


def responsibilities(
    model,
    X,
    *,
    ax=None,
    indices=None,
    n_uncertain=2,
    radius=14,
    dims=None,
    title="Soft assignments: responsibilities as pies",
):
    """Pie glyphs of the responsibilities of a few points over the data and ellipses.

    By default (as in the chapter) the most confident point of each component and the
    ``n_uncertain`` most uncertain points get a pie.

    Parameters
    ----------
    model : fitted GaussianMixture
    X : array-like of shape (n_samples, n_features)
    ax : matplotlib Axes, default=None
    indices : sequence of int, default=None
        Rows to draw pies for; None chooses as described above.
    n_uncertain : int, default=2
    radius : float, default=14
        Pie radius in points.
    dims : pair of int, default=None
        Two features to show; None: the features of two-feature data, else the plane of
        the first two discriminant coordinates (see `clusters`).
    title : str

    Returns
    -------
    ax : matplotlib Axes
    """
    values, dims, view = _two_feature_rows(model, X, dims, "responsibilities")
    ax = axes_or_new(ax, figsize=(8.0, 6.0))
    resp = mixture_of(model).predict_proba(model_input(model, X))
    entropy = mixture_of(model).entropy(model_input(model, X))
    if indices is None:
        labels = resp.argmax(axis=1)
        indices = [
            int(np.flatnonzero(labels == k)[np.argmin(entropy[labels == k])])
            for k in range(resp.shape[1])
            if np.any(labels == k)
        ]
        indices += _separated(values[:, dims], np.argsort(entropy)[::-1], n_uncertain, indices)
    means, covariances = view.components(model)
    colors = component_colors(len(means))
    # A noise component's probability is the last column of predict_proba.
    colors += [_NOISE_COLOR] * (resp.shape[1] - len(means))
    ax.scatter(values[:, dims[0]], values[:, dims[1]], color="#BBBBBB", s=14, alpha=0.6)
    draw_ellipses(ax, means, covariances, colors[: len(means)], n_std=[2], linewidth=1.5)
    for i in indices:
        xy = (values[i, dims[0]], values[i, dims[1]])
        ax.add_artist(AnnotationBbox(_pie(resp[i], colors, radius), xy, frameon=False, zorder=5))
        ax.annotate(
            f"entropy {entropy[i]:.2f}",
            xy,
            xytext=(radius + 2, radius),
            fontsize=8,
            textcoords="offset points",
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8},
        )
    ax.legend(
        handles=[
            Line2D(
                [], [], marker="o", linestyle="", color=c, markersize=9, label=f"component {k + 1}"
            )
            for k, c in enumerate(colors)
        ],
        loc="upper left",
        fontsize=8,
    )
    _label_axes(ax, view.labels, dims, title)
    _equal_aspect_if_comparable(ax, values, dims)
    return ax


def _density_1d(model, values, ax, name, title):
    params = fitted_params(model)
    ax.hist(
        values[:, 0], bins="auto", density=True, color="#BBBBBB", edgecolor="white", label="data"
    )
    low, high = values.min(), values.max()
    pad = 0.1 * (high - low if high > low else 1.0)
    xs = np.linspace(low - pad, high + pad, 400)[:, np.newaxis]
    ax.plot(
        xs[:, 0],
        np.exp(marginal_log_density(model, [0], xs)),
        color="black",
        linewidth=2,
        label="mixture density",
    )
    colors = component_colors(params.n_components)
    for k in range(params.n_components):
        component = np.exp(marginal_log_density(model, [0], xs, component=k))
        ax.plot(
            xs[:, 0],
            params.weights[k] * component,
            color=colors[k],
            linestyle="--",
            linewidth=1.4,
            label=f"component {k + 1} (weight {params.weights[k]:.2f})",
        )
    ax.set_xlabel(name)
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax


def density(
    model, X=None, *, ax=None, dims=None, resolution=150, levels=15, title="Mixture density"
):
    """Filled density contours with the data (for one feature: density over a histogram).

    For more than two features the density shown is the mixture's exact image in the
    plane drawn: its marginal on ``dims``, or on the first two discriminant coordinates.

    Parameters
    ----------
    model : fitted GaussianMixture
    X : array-like of shape (n_samples, n_features), default=None
        Data drawn over the contours (and spanning the grid); None uses the means.
    ax : matplotlib Axes, default=None
    dims : pair of int, default=None
        Two features to show; None: the features of two-feature data, else the plane of
        the first two discriminant coordinates (see `clusters`).
    resolution : int, default=150
        Grid points per axis.
    levels : int, default=15
        Number of filled contour levels, placed at quantiles of the density at the data
        (the means when X is None).
    title : str

    Returns
    -------
    ax : matplotlib Axes
    """
    params = fitted_params(model)
    values = params.means if X is None else as_array(X)
    names = feature_labels(X if X is not None else values, model, params.n_features)
    ax = axes_or_new(ax)
    if params.n_features == 1:
        return _density_1d(model, values, ax, names[0], title)
    dims = None if dims is None else _check_dims(dims, params.n_features)
    view = plane_view(model, X if X is not None else values, dims)
    values, dims = view.coordinates(values), [0, 1]
    gx, gy, grid = grid_over(values[:, dims], resolution)
    z = np.exp(view.log_density(model, grid)).reshape(gx.shape)
    at_data = np.exp(view.log_density(model, values))
    contour_levels = _levels_from_data(at_data, levels, z.max())
    norm = BoundaryNorm(contour_levels, ncolors=256)  # one distinct colour per band
    filled = ax.contourf(gx, gy, z, levels=contour_levels, cmap="viridis", norm=norm, alpha=0.85)
    ax.contour(gx, gy, z, levels=contour_levels[1:-1], colors="black", linewidths=0.4, alpha=0.35)
    ax.figure.colorbar(filled, ax=ax, label="probability density", format="%.2g")
    if X is not None:
        ax.scatter(
            values[:, dims[0]],
            values[:, dims[1]],
            c="white",
            s=14,
            edgecolors="black",
            linewidths=0.4,
            alpha=0.85,
        )
    _label_axes(ax, view.labels, dims, title)
    ax.grid(False)
    return ax


def anomalies(
    detector, X, *, ax=None, dims=None, resolution=150, title="Anomalies: lowest mixture density"
):
    """Inliers and flagged anomalies over density contours, with the threshold contour.

    Parameters
    ----------
    detector : fitted AnomalyDetector
    X : array-like of shape (n_samples, n_features)
    ax : matplotlib Axes, default=None
    dims : pair of int, default=None
        Two features to show; None: the features of two-feature data, else the plane of
        the first two discriminant coordinates (see `clusters`).
    resolution : int, default=150
    title : str

    Returns
    -------
    ax : matplotlib Axes
    """
    values, dims, view = _two_feature_rows(detector, X, dims, "anomalies")
    ax = axes_or_new(ax)
    flagged = detector.predict(model_input(detector, X)) == -1
    gx, gy, grid = grid_over(values[:, dims], resolution)
    log_z = view.log_density(detector, grid).reshape(gx.shape)
    at_data = view.log_density(detector, values)
    line_levels = np.unique(np.quantile(at_data, np.linspace(0.02, 0.98, 8)))
    ax.contour(gx, gy, log_z, levels=line_levels, colors="#888888", linewidths=0.8)
    # The threshold is a level of the full density: a contour of the plane's only in 2-d.
    two_features = fitted_params(detector).n_features == 2
    if two_features:
        ax.contour(
            gx,
            gy,
            log_z,
            levels=[detector.threshold_],
            colors=[ANOMALY_COLOR],
            linestyles="--",
            linewidths=1.8,
        )
    ax.scatter(
        values[~flagged, dims[0]],
        values[~flagged, dims[1]],
        color="#0072B2",
        s=18,
        alpha=0.6,
        label=f"normal ({(~flagged).sum()})",
    )
    ax.scatter(
        values[flagged, dims[0]],
        values[flagged, dims[1]],
        color=ANOMALY_COLOR,
        s=70,
        marker="x",
        linewidths=2,
        label=f"anomaly ({flagged.sum()})",
    )
    handles, _ = ax.get_legend_handles_labels()
    if two_features:
        handles.append(
            Line2D(
                [],
                [],
                color=ANOMALY_COLOR,
                linestyle="--",
                label=f"threshold: log-density {detector.threshold_:.2f}",
            )
        )
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    _label_axes(ax, view.labels, dims, title)
    _equal_aspect_if_comparable(ax, values, dims)
    return ax


def gmm_vs_kmeans(X, gmm, kmeans, *, y_true=None, axes=None, dims=None):
    """The same data clustered by k-means and by the mixture, side by side.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    gmm : fitted GaussianMixture
    kmeans : fitted sklearn.cluster.KMeans (or anything with ``predict`` and
        ``cluster_centers_``)
    y_true : array-like of shape (n_samples,), default=None
        True labels, shown in a first panel when given.
    axes : sequence of matplotlib Axes, default=None
        Two (or three with ``y_true``) Axes; None creates a figure.
    dims : pair of int, default=None
        Two features to show; None: the features of two-feature data, else the plane of
        the first two discriminant coordinates (see `clusters`).

    Returns
    -------
    figure : matplotlib Figure
    """
    values, dims, view = _two_feature_rows(gmm, X, dims, "gmm_vs_kmeans")
    n_panels = 3 if y_true is not None else 2
    if axes is None:
        figure, grid = new_figure(1, n_panels)
        axes = list(grid[0])
    else:
        axes = list(np.ravel(axes))
        if len(axes) != n_panels:
            raise ValueError(f"gmm_vs_kmeans needs {n_panels} Axes here; got {len(axes)}.")
        figure = axes[0].figure
    panels = []
    if y_true is not None:
        panels.append(("True clusters", np.asarray(y_true), None))
    panels.append(("k-means (hard, spherical)", kmeans.predict(as_array(X)), "kmeans"))
    panels.append(("Gaussian mixture (soft, elliptical)", gmm.predict(model_input(gmm, X)), "gmm"))
    for ax, (title, labels, kind) in zip(axes, panels, strict=True):
        codes = np.unique(labels, return_inverse=True)[1]
        colors = np.array(component_colors(codes.max() + 1))
        ax.scatter(values[:, dims[0]], values[:, dims[1]], c=colors[codes], **_POINT_STYLE)
        if kind == "kmeans":
            centres = view.project_means(np.asarray(kmeans.cluster_centers_))
            _mark_centres(ax, centres, component_colors(len(centres)))
        if kind == "gmm":
            means, covariances = view.components(gmm)
            draw_ellipses(ax, means, covariances, component_colors(len(means)), n_std=[2])
            _mark_centres(ax, means, component_colors(len(means)))
        _label_axes(ax, view.labels, dims, title)
        _equal_aspect_if_comparable(ax, values, dims)
    return figure


def pairs(model, X, *, features=None, n_std=(2,), max_features=8, title=None):
    """All two-feature projections of the data with each component's projected ellipses.

    The diagonal shows each feature's histogram with the mixture's marginal density.

    Parameters
    ----------
    model : fitted GaussianMixture
    X : array-like of shape (n_samples, n_features)
    features : sequence of int, default=None
        Column indices to draw (default: all); points are still coloured by the model's
        assignment from every feature.
    n_std : sequence of float, default=(2,)
    max_features : int, default=8
        Most features drawn: larger data must be reduced first, or ``features`` chosen
        (the grid grows as the square of their number).
    title : str, default=None

    Returns
    -------
    figure : matplotlib Figure
    """
    fitted_params(model)  # a clear message for an unfitted model
    values = as_array(X)
    chosen = list(range(values.shape[1])) if features is None else [int(f) for f in features]
    if not chosen or not all(0 <= f < values.shape[1] for f in chosen):
        raise ValueError(
            f"features must be column indices between 0 and {values.shape[1] - 1}, got "
            f"{features!r}."
        )
    d = len(chosen)
    if d > max_features:
        raise ValueError(
            f"plot.pairs would draw a {d}x{d} grid, more than max_features={max_features} "
            "columns; choose some with features=[...] (or raise max_features), or see all "
            "columns at once with plot.clusters(model, X), which shows the directions that "
            "best separate the components (plot.cluster_projection)."
        )
    all_names = feature_labels(X, model)
    names = [all_names[f] for f in chosen]
    labels = mixture_of(model).predict(model_input(model, X))
    params = fitted_params(model)
    colors = component_colors(params.n_components)
    point_colors = np.array(colors)[labels]
    figure, axes = new_figure(d, d, panel_size=(2.6, 2.4))
    for i, row_feature in enumerate(chosen):
        for j, column_feature in enumerate(chosen):
            ax = axes[i, j]
            if i == j:
                ax.hist(values[:, row_feature], bins="auto", density=True, color="#CCCCCC")
                low, high = values[:, row_feature].min(), values[:, row_feature].max()
                xs = np.linspace(low, high, 200)[:, np.newaxis]
                density = np.exp(marginal_log_density(model, [row_feature], xs))
                ax.plot(xs[:, 0], density, color="black")
            else:
                ax.scatter(values[:, column_feature], values[:, row_feature], c=point_colors,
                           s=6, alpha=0.6)
                means, covariances = projected_components(model, [column_feature, row_feature])
                draw_ellipses(ax, means, covariances, colors, n_std, linewidth=1.2)
            if i == d - 1:
                ax.set_xlabel(names[j])
            if j == 0:
                ax.set_ylabel(names[i])
            ax.tick_params(labelsize=7)
    figure.suptitle(title or f"Pairs plot: {params.n_components} components, projected ellipses")
    return figure
