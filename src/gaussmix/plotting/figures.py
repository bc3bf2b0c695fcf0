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


def _display_order(model) -> np.ndarray:
    """Fitted component indices, heaviest first: the order every figure numbers them."""
    from ..estimators.display import component_order

    return component_order(model)


def _rank(order: np.ndarray) -> np.ndarray:
    """``rank[k]``: display position of fitted component ``k``."""
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank


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
    min_weight=0.01,
    title="Fitted Gaussian mixture",
):
    """Points coloured by their most probable component, with 1-, 2-, 3-sigma ellipses.

    Components are numbered and coloured by weight, heaviest first (as in every
    gaussmix table and figure). Components whose weight is below ``min_weight`` (the
    emptied components of a Dirichlet-process fit) get no ellipse and no legend entry;
    any rows they still hold are drawn grey.

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
        The generating mixture, drawn as dashed grey ellipses (at the largest
        ``n_std``) for comparison.
    min_weight : float, default=0.01
        Components lighter than this are not drawn (0 draws every component).
    title : str, default="Fitted Gaussian mixture"

    Returns
    -------
    ax : matplotlib Axes
    """
    from ..estimators.display import component_order, display_labels

    values, dims, view = _two_feature_rows(model, X, dims, "clusters")
    ax = axes_or_new(ax)
    order = component_order(model)
    labels = display_labels(mixture_of(model).predict(model_input(model, X)), order)
    means, covariances = view.components(model)
    means, covariances = means[order], covariances[order]
    shown = np.flatnonzero(fitted_params(model).weights[order] >= min_weight)
    colors = component_colors(len(order))
    for j in shown:
        rows = labels == j
        ax.scatter(
            values[rows, dims[0]],
            values[rows, dims[1]],
            color=colors[j],
            label=f"component {j + 1} ({rows.sum()})",
            **_POINT_STYLE,
        )
    hidden_rows = (labels >= 0) & ~np.isin(labels, shown)
    if hidden_rows.any():
        ax.scatter(
            values[hidden_rows, dims[0]],
            values[hidden_rows, dims[1]],
            color="#BBBBBB",
            label=f"components below weight {min_weight:g} ({hidden_rows.sum()})",
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
    shown_colors = [colors[j] for j in shown]
    draw_ellipses(ax, means[shown], covariances[shown], shown_colors, n_std)
    _mark_centres(ax, means[shown], shown_colors)
    if true_means is not None and true_covariances is not None:
        true_n_std = max(np.atleast_1d(n_std)) if len(np.atleast_1d(n_std)) else 2
        true_means = view.project_means(np.asarray(true_means, dtype=float))
        true_covariances = view.project_covariances(np.asarray(true_covariances, dtype=float))
        draw_ellipses(
            ax,
            true_means,
            true_covariances,
            ["#555555"] * len(true_means),
            n_std=[true_n_std],
            linestyle="--",
            linewidth=1.4,
            alpha=0.9,
        )
        ax.add_artist(
            ax.legend(
                handles=[
                    Line2D(
                        [],
                        [],
                        color="#555555",
                        linestyle="--",
                        label=f"true components: {true_n_std:g}σ",
                    ),
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


def convergence(model, *, ax=None, steps_ax=None, title="EM convergence"):
    """The log-likelihood at every EM iteration (``lower_bounds_``), on a readable scale.

    EM from random starting points may begin millions of units below where it ends;
    such leading values (see `gaussmix.estimators.display.informative_start`) are left
    off the axis, with an arrow at its foot saying where they are. ``steps_ax`` adds
    the increase at each iteration on a log scale, where EM's steady (linear)
    convergence is a straight line and the tolerance is drawn.

    Parameters
    ----------
    model : fitted GaussianMixture, or a sequence of numbers
        Its ``lower_bounds_`` (mean log-likelihood per sample) are drawn.
    ax : matplotlib Axes, default=None
    steps_ax : matplotlib Axes, default=None
        Where to draw the increase per iteration (log scale); None draws no such panel.
    title : str, default="EM convergence"

    Returns
    -------
    ax : matplotlib Axes
    """
    from ..estimators.display import informative_start

    history = getattr(model, "lower_bounds_", model)
    history = np.asarray(history, dtype=float)
    if history.ndim != 1 or history.size == 0:
        raise ValueError("convergence needs a fitted model with lower_bounds_ (or a 1-d sequence).")
    ax = axes_or_new(ax, figsize=(7.0, 4.0))
    iterations = np.arange(1, history.size + 1)
    start = informative_start(history)
    ax.plot(
        iterations[start:],
        history[start:],
        color="#0072B2",
        linewidth=2,
        marker="o",
        markersize=3.5,
        label="log-likelihood per sample",
    )
    if start:
        _mark_off_scale_iterations(ax, iterations[:start], history[:start])
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
    ax.set_xlim(0.5, history.size + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.get_major_formatter().set_useOffset(False)
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("mean log-likelihood per sample")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if steps_ax is not None:
        _convergence_steps(steps_ax, history, getattr(model, "tol", None))
    return ax


def _mark_off_scale_iterations(ax, iterations, values) -> None:
    """An arrow at the foot of the axis for the leading iterations left off it."""
    first, last = int(iterations[0]), int(iterations[-1])
    which = f"iteration {first}" if first == last else f"iterations {first}–{last}"
    shown = ", ".join(
        f"{v:,.0f}" if np.isfinite(v) and abs(v) >= 100 else f"{v:.4g}" for v in values[:3]
    )
    ax.annotate(
        f"{which} off scale: {shown}",
        xy=(last, 0.0),
        xycoords=ax.get_xaxis_transform(),
        xytext=(36, 8),
        textcoords="offset points",
        fontsize=8,
        color="#555555",
        arrowprops={"arrowstyle": "->", "color": "#555555"},
    )


def _convergence_steps(ax, history: np.ndarray, tol) -> None:
    """Increase of the log-likelihood at each iteration, log scale, tolerance dashed."""
    steps = np.diff(history)
    iterations = np.arange(2, history.size + 1)
    rising = np.isfinite(steps) & (steps > 0)
    ax.semilogy(
        iterations[rising],
        steps[rising],
        color="#009E73",
        linewidth=1.6,
        marker="o",
        markersize=3.5,
        label="increase per iteration",
    )
    if tol is not None and tol > 0:
        ax.axhline(tol, color="#D55E00", linestyle="--", linewidth=1.2, label=f"tol = {tol:g}")
    if (~rising & np.isfinite(steps)).any():
        ax.annotate(
            f"{int((~rising & np.isfinite(steps)).sum())} iteration(s) without increase not shown",
            xy=(0.02, 0.03),
            xycoords="axes fraction",
            fontsize=8,
            color="#555555",
        )
    ax.set_xlim(0.5, history.size + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("increase of the log-likelihood")
    ax.set_title("Increase per iteration (log scale)")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(True, which="both", alpha=0.3)


def _criterion_table(result):
    table = getattr(result, "table_", result)
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            "criterion needs a select_model result (with table_) or a DataFrame indexed by K "
            f"with one column per covariance model; got {type(result).__name__}."
        )
    return table


#: Line colours of the criterion plot (Okabe & Ito without the faint yellow), with
#: solid lines for the first seven models and dashed for the next: with one marker per
#: model, the 14 covariance models get 14 different (colour, marker, line) styles.
_CRITERION_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
_CRITERION_MARKERS = "osD^v<>ph*XP8d"
_CRITERION_LINES = ("-", "--")
#: At least this fraction of the covariance models stays on the criterion plot's scale.
_ON_SCALE_FRACTION = 0.5
_SIGNS = {"gaussmix": 1.0, "mclust": -1.0}


def _criterion_style(i: int) -> dict:
    """Colour, marker and line style of the ``i``-th model of a criterion plot."""
    return {
        "color": _CRITERION_COLORS[i % len(_CRITERION_COLORS)],
        "marker": _CRITERION_MARKERS[i % len(_CRITERION_MARKERS)],
        "linestyle": _CRITERION_LINES[(i // len(_CRITERION_COLORS)) % len(_CRITERION_LINES)],
    }


def criterion_range(table) -> tuple[float, float]:
    """The criterion values a plot should span: the competitive models, not the outliers.

    One or two covariance models that fit badly (EII and VII on wine score 19,000 to
    27,000 where the others score 6,800 to 9,300) would flatten every other line. Sort
    the models by their best value: a jump wider than the whole spread of best values
    beneath it separates such outliers. The range spans every cell of the models below
    the highest such jump that leaves at least two and at least half of the models on
    scale (`_ON_SCALE_FRACTION`); without a jump, every cell.

    Parameters
    ----------
    table : array-like of float, shape (n_K, n_models)
        Criterion values, lower is better; NaN for cells that failed.

    Returns
    -------
    low, high : float
    """
    values = np.asarray(table, dtype=float)
    values = values.reshape(len(values), -1)
    fitted = np.isfinite(values).any(axis=0)
    if not fitted.any():
        return 0.0, 1.0
    values = values[:, fitted]
    best = np.nanmin(values, axis=0)
    order = np.argsort(best)
    sorted_best = best[order]
    end = len(best)  # models order[:end] are on scale
    minimum = int(np.ceil(_ON_SCALE_FRACTION * len(best)))
    # The jump above sorted_best[i], with at least two models (a spread) beneath it.
    for i in range(len(best) - 2, max(minimum - 1, 1) - 1, -1):
        if sorted_best[i + 1] - sorted_best[i] > sorted_best[i] - sorted_best[0]:
            end = i + 1
            break
    on_scale = values[:, order[:end]]
    return float(sorted_best[0]), float(np.nanmax(on_scale))


def criterion(result, *, ax=None, ylabel=None, title=None, sign="gaussmix"):
    """An information criterion against K, one line per covariance model.

    The y-axis spans the competitive models (`criterion_range`); cells above it are
    marked by a triangle at the top edge and listed in a note, so that one model that
    fits badly does not flatten the others. Each model has its own colour, marker and
    line style (14 distinct ones), the best cell a star.

    Parameters
    ----------
    result : select_model result or DataFrame
        ``result.table_`` (or the DataFrame itself): index K, one column per covariance
        model, NaN where a fit failed. Values are lower-is-better (gaussmix's sign).
    ax : matplotlib Axes, default=None
    ylabel : str, default=None
        Axis label; by default the result's criterion name, e.g. "BIC (lower is better)".
    title : str, default=None
    sign : {"gaussmix", "mclust"}, default="gaussmix"
        ``"mclust"`` plots the negated criterion (``2 log L - penalty``, higher is
        better), as mclust prints it; off-scale cells are then below the bottom edge.

    Returns
    -------
    ax : matplotlib Axes
    """
    if sign not in _SIGNS:
        raise ValueError(
            f"sign must be 'gaussmix' (-2 log L + penalty, lower is better) or 'mclust' "
            f"(2 log L - penalty, higher is better); got {sign!r}."
        )
    factor = _SIGNS[sign]
    table = _criterion_table(result)
    ax = axes_or_new(ax, figsize=(8.5, 4.8))
    ks = np.asarray(table.index, dtype=float)
    values = table.to_numpy(dtype=float)
    low, high = criterion_range(values)  # off-scale cells: above ``high``
    pad = 0.06 * (high - low if high > low else max(abs(high), 1.0))
    off_scale = np.isfinite(values) & (values > high)
    edge = high + pad  # where off-scale cells are marked
    for i, column in enumerate(table.columns):
        style = _criterion_style(i)
        ax.plot(
            ks,
            factor * values[:, i],
            linewidth=1.5,
            markersize=6,
            label=str(column),
            **style,
        )
    # Triangles after every model line, so that get_lines() begins with one line per model;
    # side by side at each K, so that each off-scale model's colour shows.
    off_models = np.flatnonzero(off_scale.any(axis=0))
    step = np.min(np.diff(ks)) if len(ks) > 1 else 1.0
    for m, i in enumerate(off_models):
        shift = 0.12 * step * (m - (len(off_models) - 1) / 2)
        ax.plot(
            ks[off_scale[:, i]] + shift,
            np.full(off_scale[:, i].sum(), factor * edge),
            marker="^" if factor > 0 else "v",
            color=_criterion_style(i)["color"],
            markersize=8,
            linestyle="none",
            clip_on=False,
            zorder=4,
        )
    if np.isfinite(values).any():
        row, col = np.unravel_index(np.nanargmin(values), values.shape)
        ax.scatter(
            [ks[row]],
            [factor * values[row, col]],
            s=320,
            marker="*",
            color="#D55E00",
            edgecolors="black",
            zorder=5,
            label=f"best: {table.columns[col]}, K={table.index[row]}",
        )
    limits = sorted([factor * (low - pad), factor * edge])
    ax.set_ylim(*limits)
    handles, _ = ax.get_legend_handles_labels()
    if off_scale.any():
        handles.append(_off_scale_handle(table, off_scale, factor * high, factor))
    name = getattr(result, "criterion", None) or getattr(result, "criterion_", None)
    name = str(name).upper() if name else "criterion"
    direction = "lower is better" if factor > 0 else "mclust's sign, higher is better"
    ax.set_xlabel("number of components K")
    ax.set_ylabel(ylabel or f"{name} ({direction})")
    ax.set_xticks(ks)
    ax.set_title(
        title or ("Model selection" if name == "criterion" else f"Model selection by {name}")
    )
    ax.legend(
        handles=handles,
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        ncol=1 if table.shape[1] <= 16 else 2,
    )
    ax.grid(True, alpha=0.3)
    return ax


def _off_scale_handle(table, off_scale: np.ndarray, limit: float, factor: float) -> Line2D:
    """A legend entry for the triangles at the edge, listing the cells they stand for."""
    lines = [f"off scale ({'above' if factor > 0 else 'below'} {limit:,.6g}):"]
    for i, column in enumerate(table.columns):
        ks = [int(k) for k in table.index[off_scale[:, i]]]
        if ks:
            lines.append(f"  {column}, K = {_compact_ranges(ks)}")
    return Line2D(
        [],
        [],
        marker="^" if factor > 0 else "v",
        color="#777777",
        linestyle="none",
        markersize=8,
        label="\n".join(lines),
    )


def _compact_ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``"1–3, 5"``."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def uncertainty(model, X, *, ax=None, dims=None, title="Classification uncertainty"):
    """Points coloured and sized by their classification uncertainty ``1 - max_k p(k|x)``.

    The colour scale is fixed, from 0 (certain) to ``1 - 1/K``, the largest uncertainty
    K components allow (every component equally probable), so that a colour means the
    same in every figure and a nearly certain point is never drawn bright.

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
    probabilities = mixture_of(model).predict_proba(model_input(model, X))
    u = 1.0 - probabilities.max(axis=1)
    n_columns = probabilities.shape[1]  # components, and a noise component if any
    scale = 1.0 - 1.0 / max(n_columns, 2)  # the largest possible uncertainty
    order = np.argsort(u)  # most uncertain drawn last, on top
    points = ax.scatter(
        values[order, dims[0]],
        values[order, dims[1]],
        c=u[order],
        s=12 + 110 * u[order] / scale,
        cmap="viridis",
        vmin=0.0,
        vmax=scale,
        edgecolors="black",
        linewidths=0.2,
    )
    bound = f"≤ 1 − 1/{n_columns}" if n_columns > 1 else "0: one component"
    ax.figure.colorbar(points, ax=ax, label=f"uncertainty: 1 − max probability ({bound})")
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
    from ..estimators.display import component_order

    values, dims, view = _two_feature_rows(model, X, dims, "responsibilities")
    ax = axes_or_new(ax, figsize=(8.0, 6.0))
    order = component_order(model)
    resp = mixture_of(model).predict_proba(model_input(model, X))
    # Columns in display order (heaviest first); a noise component's column stays last.
    resp = resp[:, np.concatenate([order, np.arange(len(order), resp.shape[1])])]
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
    means, covariances = means[order], covariances[order]
    colors = component_colors(len(means))
    # A noise component's probability is the last column of predict_proba.
    colors += [_NOISE_COLOR] * (resp.shape[1] - len(means))
    ax.scatter(values[:, dims[0]], values[:, dims[1]], color="#BBBBBB", s=14, alpha=0.6)
    draw_ellipses(ax, means, covariances, colors[: len(means)], n_std=[2], linewidth=1.5)
    middle = np.median(values[:, dims[0]])
    for i in indices:
        xy = (values[i, dims[0]], values[i, dims[1]])
        ax.add_artist(AnnotationBbox(_pie(resp[i], colors, radius), xy, frameon=False, zorder=5))
        left = xy[0] > middle  # labels point inwards, away from the axes' edges
        ax.annotate(
            f"entropy {entropy[i]:.2f}",
            xy,
            xytext=(-(radius + 2) if left else radius + 2, radius),
            ha="right" if left else "left",
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
    _make_room_for_pies(ax, values[np.asarray(indices, dtype=int)][:, dims], radius)
    return ax


def _make_room_for_pies(ax, centres: np.ndarray, radius: float) -> None:
    """Widen the data limits so that pies of ``radius`` points at ``centres`` fit inside.

    Pies are sized in points, the axes in data units: the margin is the pie's radius as a
    fraction of the axes' size, doubled because the layout may still shrink the axes.
    """
    if not len(centres):
        return
    ax.autoscale_view()
    box = ax.get_window_extent()
    size_points = np.array([box.width, box.height]) * 72.0 / ax.figure.dpi
    spans = np.array([np.ptp(ax.get_xlim()), np.ptp(ax.get_ylim())])
    pad = 2.0 * (radius + 2.0) / np.maximum(size_points, 1.0) * spans
    ax.update_datalim(np.vstack([centres - pad, centres + pad]))
    ax.autoscale_view()


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
    for j, k in enumerate(_display_order(model)):  # heaviest first, as everywhere
        component = np.exp(marginal_log_density(model, [0], xs, component=k))
        ax.plot(
            xs[:, 0],
            params.weights[k] * component,
            color=colors[j],
            linestyle="--",
            linewidth=1.4,
            label=f"component {j + 1} (weight {params.weights[k]:.2f})",
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

    The mixture's components are coloured by weight, heaviest first (as in every
    figure); k-means' clusters (and the true ones) take the colour of the component
    they share most rows with, so that one cluster has one colour in every panel.

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
    from ..estimators.display import display_labels

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
    order = _display_order(gmm)
    # Colour = weight rank; -1 (a noise component's rows) picks the grey appended last.
    gmm_codes = display_labels(gmm.predict(model_input(gmm, X)), order)
    kmeans_labels = np.asarray(kmeans.predict(as_array(X)))
    kmeans_colour = _matched_codes(kmeans_labels, gmm_codes, len(order))
    panels = []
    if y_true is not None:
        y_true = np.asarray(y_true)
        panels.append(("True clusters", _matched_codes(y_true, gmm_codes, len(order))[1], None))
    panels.append(("k-means (hard, spherical)", kmeans_colour[1], "kmeans"))
    panels.append(("Gaussian mixture (soft, elliptical)", gmm_codes, "gmm"))
    n_colours = max(len(order), *(int(codes.max()) + 1 for _, codes, _ in panels))
    colors = np.array([*component_colors(n_colours), _NOISE_COLOR])
    for ax, (title, codes, kind) in zip(axes, panels, strict=True):
        ax.scatter(values[:, dims[0]], values[:, dims[1]], c=colors[codes], **_POINT_STYLE)
        if kind == "kmeans":
            centres = view.project_means(np.asarray(kmeans.cluster_centers_))
            found = kmeans_colour[0]
            _mark_centres(ax, centres[found[:, 0]], colors[found[:, 1]])
        if kind == "gmm":
            means, covariances = view.components(gmm)
            means, covariances = means[order], covariances[order]
            shown = list(colors[: len(means)])
            draw_ellipses(ax, means, covariances, shown, n_std=[2])
            _mark_centres(ax, means, shown)
        _label_axes(ax, view.labels, dims, title)
        _equal_aspect_if_comparable(ax, values, dims)
    return figure


def _matched_codes(labels, reference_codes, n_reference: int):
    """Colour codes for ``labels`` that agree with ``reference_codes`` where they can.

    Each label value is matched to the reference code it shares the most rows with
    (Hungarian assignment on the table of overlaps), so that the same cluster gets the
    same colour in k-means' and the mixture's panels. Values left unmatched (more
    clusters than the reference has) get codes after ``n_reference``.

    Returns
    -------
    pairs : ndarray of shape (n_values, 2)
        (label value, code) for every distinct label value.
    codes : ndarray of int, shape (n_samples,)
        The code of each row.
    """
    from scipy.optimize import linear_sum_assignment

    values, inverse = np.unique(labels, return_inverse=True)
    valid = reference_codes >= 0  # a noise component's rows match nothing
    overlap = np.zeros((len(values), n_reference))
    np.add.at(overlap, (inverse[valid], reference_codes[valid]), 1)
    rows, columns = linear_sum_assignment(-overlap)
    code_of = np.full(len(values), -1)
    code_of[rows] = columns
    unmatched = np.flatnonzero(code_of < 0)
    code_of[unmatched] = n_reference + np.arange(len(unmatched))
    return np.column_stack([values, code_of]), code_of[inverse]


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
    params = fitted_params(model)
    order = _display_order(model)
    # Colours by weight rank (as every figure); ``colors[k]`` is fitted component k's.
    colors = list(np.array(component_colors(params.n_components))[_rank(order)])
    point_colors = np.array(colors + [_NOISE_COLOR])[
        mixture_of(model).predict(model_input(model, X))
    ]
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
                ax.scatter(
                    values[:, column_feature],
                    values[:, row_feature],
                    c=point_colors,
                    s=6,
                    alpha=0.6,
                )
                means, covariances = projected_components(model, [column_feature, row_feature])
                draw_ellipses(ax, means, covariances, colors, n_std, linewidth=1.2)
            if i == d - 1:
                ax.set_xlabel(names[j])
            if j == 0:
                ax.set_ylabel(names[i])
            ax.tick_params(labelsize=7)
    figure.suptitle(title or f"Pairs plot: {params.n_components} components, projected ellipses")
    return figure
