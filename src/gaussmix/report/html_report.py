"""Build the HTML report: data, selection, chosen model, convergence, clusters, anomalies.

Everything is inlined: CSS in a ``<style>`` block, figures as base64 PNG ``<img>``
data URIs; the page has no scripts and loads nothing from the network.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import warnings
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

from .. import plotting as plot
from ..estimators.display import component_order, display_labels
from ..estimators.html_repr import HTML_STYLE, mixture_html
from ..io import atomic_output
from ..plotting import model_input
from ..plotting.projection import plane_view

__all__ = ["Figure", "build_report", "write_report"]

_PAGE_STYLE = """
body {margin: 0; background: #fff}
main.gaussmix {margin: 24px auto; padding: 0 20px; max-width: 1200px; font-size: 14px}
.gaussmix h1 {font-size: 24px; margin-bottom: 4px}
.gaussmix h2 {font-size: 18px; border-bottom: 2px solid #0072B2; padding-bottom: 3px;
  margin-top: 28px}
.gaussmix pre {background: #f6f6f6; border: 1px solid #ddd; padding: 8px; overflow-x: auto;
  white-space: pre-wrap}
.gaussmix figure {margin: 10px 0 18px 0}
.gaussmix figure img {max-width: 100%; height: auto; border: 1px solid #eee}
.gaussmix figcaption {color: #555; font-size: 12px}
.gaussmix td.best {background: #fde8c8; font-weight: bold}
.gaussmix nav a {margin-right: 12px; color: #0072B2}
"""


@dataclass(frozen=True)
class Figure:
    """A matplotlib figure and its caption, for the report's figure sections.

    Parameters
    ----------
    caption : str
        Shown under the image.
    figure : matplotlib.figure.Figure or bytes
        Rendered to PNG when the report is built (or PNG bytes, embedded as they are).
    """

    caption: str
    figure: object


def _png_data_uri(figure, dpi: int = 90) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # names in scripts the font lacks still render as boxes
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.savefig(buffer, format="png", dpi=dpi)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_html(item: Figure) -> str:
    if isinstance(item.figure, bytes):
        source = "data:image/png;base64," + base64.b64encode(item.figure).decode("ascii")
    else:
        source = _png_data_uri(item.figure)
    return (
        f'<figure><img alt="{escape(item.caption)}" src="{source}">'
        f"<figcaption>{escape(item.caption)}</figcaption></figure>"
    )


def _new_axes(size=(7.0, 5.2)):
    from matplotlib.figure import Figure as MatplotlibFigure

    figure = MatplotlibFigure(figsize=size, layout="constrained")
    return figure.add_subplot()


def _table_html(frame: pd.DataFrame, best=None, float_format="{:.4g}") -> str:
    """A DataFrame as an escaped HTML table; ``best`` = (row label, column) is highlighted."""
    header = f'<th class="name">{escape(str(frame.index.name or ""))}</th>' + "".join(
        f"<th>{escape(str(c))}</th>" for c in frame.columns
    )
    rows = []
    for label, row in frame.iterrows():
        cells = []
        for column, value in row.items():
            if isinstance(value, (float, np.floating)):
                text = "—" if not np.isfinite(value) else float_format.format(value)
            else:
                text = str(value)
            css = ' class="best"' if best is not None and (label, column) == best else ""
            cells.append(f"<td{css}>{escape(text)}</td>")
        rows.append(f'<tr><td class="name">{escape(str(label))}</td>{"".join(cells)}</tr>')
    # Wide tables (14 covariance models, many features) scroll inside the page.
    return f'<div class="scroll"><table><tr>{header}</tr>{"".join(rows)}</table></div>'


def _data_section(X: pd.DataFrame, notes) -> str:
    summary = X.describe().T[["mean", "std", "min", "max"]]
    summary.index.name = "feature"
    notes_html = "".join(f"<li>{escape(n)}</li>" for n in notes)
    n_missing = int(X.isna().to_numpy().sum())
    missing_html = (
        f"<p>{n_missing} missing value(s) in {int(X.isna().any(axis=1).sum())} row(s); the "
        "figures show the complete rows.</p>"
        if n_missing
        else ""
    )
    return (
        f"<p>{X.shape[0]} rows, {X.shape[1]} feature(s).</p>"
        + missing_html
        + (f"<ul>{notes_html}</ul>" if notes else "")
        + _table_html(summary)
    )


def _selection_section(selection) -> str:
    table = getattr(selection, "table_", None)
    if table is None:
        return "<p>A single model was fitted (no model selection).</p>"
    values = table.to_numpy(dtype=float)
    best = None
    if np.isfinite(values).any():
        row, col = np.unravel_index(np.nanargmin(values), values.shape)
        best = (table.index[row], table.columns[col])
    criterion = str(getattr(selection, "criterion", "criterion")).upper()
    parts = [
        f"<p>{escape(criterion)} of every (K, covariance model) fit; lower is better, — marks "
        "a fit that failed or is degenerate (a component collapsed; mclust's NA).</p>",
        _table_html(table, best=best, float_format="{:.2f}"),
    ]
    summary = getattr(selection, "summary", None)
    if callable(summary):
        parts.append(f"<pre>{escape(str(summary()))}</pre>")
    ax = _new_axes((9.0, 4.8))  # the legend sits right of the axes
    plot.criterion(selection, ax=ax)
    parts.append(
        _figure_html(Figure(f"{criterion} against K for each covariance model", ax.figure))
    )
    return "".join(parts)


#: Most rows a figure of the report draws (a random sample above it).
MAX_PLOTTED_ROWS = 5000
#: Most features in the report's pairs plot (its grid grows as their square).
MAX_PAIRS_FEATURES = 8


def _plotted_rows(X: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Complete rows for the figures (a model fitted with missing values), at most
    `MAX_PLOTTED_ROWS` of them, and whether they are a sample."""
    complete = X.dropna()
    if len(complete) <= MAX_PLOTTED_ROWS:
        return complete, False
    return complete.sample(MAX_PLOTTED_ROWS, random_state=0), True


def _cluster_section(model, X: pd.DataFrame) -> str:
    order = component_order(model)  # numbered by weight, as every figure and table
    labels = display_labels(model.predict(model_input(model, X)), order)
    counts = np.bincount(labels[labels >= 0], minlength=model.n_components)
    uncertainty = model.uncertainty(model_input(model, X))
    sizes = pd.DataFrame(
        {
            "rows (hard assignment)": counts,
            "weight": np.asarray(model.weights_)[order],
            "mean uncertainty": [
                uncertainty[labels == j].mean() if counts[j] else np.nan
                for j in range(model.n_components)
            ],
        },
        index=pd.Index(range(1, model.n_components + 1), name="component"),
    )
    parts = [_table_html(sizes)]
    figures = []
    X, sampled = _plotted_rows(X)
    if sampled:
        parts.append(
            f"<p>The figures show a random sample of {len(X):,} of the rows (drawing more "
            "points adds time, not information).</p>"
        )
    if X.shape[1] == 1:
        ax = _new_axes()
        plot.density(model, X, ax=ax)
        figures.append(Figure("Mixture density over the histogram of the data", ax.figure))
    else:
        if X.shape[1] > 2:
            shown = min(X.shape[1], MAX_PAIRS_FEATURES)
            which = "All" if shown == X.shape[1] else f"The first {shown} features'"
            pairs = Figure(
                f"{which} two-feature projections with each component's 2-sigma ellipse",
                plot.pairs(model, X, features=range(shown), max_features=shown),
            )
            parts.append(_figure_html(pairs))
        plane, plane_html = _plane_description(model, X)
        parts.append(plane_html)
        ax = _new_axes()
        plot.clusters(model, X, ax=ax)
        figures.append(Figure(f"Clusters with 1-, 2- and 3-sigma ellipses{plane}", ax.figure))
        ax = _new_axes()
        plot.uncertainty(model, X, ax=ax)
        figures.append(
            Figure(f"Classification uncertainty (1 − max probability){plane}", ax.figure)
        )
        ax = _new_axes()
        plot.density(model, X, ax=ax)
        figures.append(
            Figure(f"Mixture density{plane or ' (marginal on the two features)'}", ax.figure)
        )
    parts.extend(_figure_html(f) for f in figures)
    return "".join(parts)


#: Features listed for each discriminant coordinate in the report.
_TOP_LOADINGS = 5


def _plane_description(model, X: pd.DataFrame) -> tuple[str, str]:
    """For more than two features, the caption suffix of the figures drawn in the plane that
    best separates the components, and a paragraph saying which features make its axes."""
    projection = plane_view(model, X).projection
    if projection is None:
        return "", ""
    rows = []
    for i in range(2):
        loadings = projection.loadings(i).iloc[:_TOP_LOADINGS]
        terms = ", ".join(f"{name} ({value:+.2f})" for name, value in loadings.items())
        rows.append(f"<li>{escape(projection.axis_label(i))}: {escape(terms)}</li>")
    paragraph = (
        f"<p>With {X.shape[1]} features, the figures below show the plane of the two "
        "directions that best separate the components (gaussmix.plot.cluster_projection: "
        "the mixture's discriminant coordinates, then directions in which the components "
        "differ in spread); ellipses are the components' exact projections. The features "
        "that make each axis, as coefficients on standardised features:</p>"
        f"<ul>{''.join(rows)}</ul>"
    )
    return " (the plane that best separates the components)", paragraph


def _anomaly_section(detector, X: pd.DataFrame) -> str:
    scores = detector.score_samples(model_input(detector, X))
    flagged = scores < detector.threshold_
    order = np.argsort(scores)[: min(10, int(flagged.sum()))]
    lowest = X.iloc[order].copy()
    lowest.insert(0, "log-density", scores[order])
    lowest.index = pd.Index(X.index[order], name="row")
    parts = [
        f"<p>Threshold: log-density {detector.threshold_:.4g} (the "
        f"{100 * float(detector.contamination):g}% quantile of the training data); "
        f"{int(flagged.sum())} of {len(scores)} rows are flagged.</p>",
    ]
    if len(order):
        parts.append("<p>The least likely rows:</p>" + _table_html(lowest))
    if X.shape[1] >= 2:
        ax = _new_axes()
        plot.anomalies(detector, _plotted_rows(X)[0], ax=ax)
        parts.append(_figure_html(Figure("Anomalies over the density contours", ax.figure)))
    return "".join(parts)


def build_report(
    model,
    X,
    *,
    selection=None,
    detector=None,
    bootstrap=None,
    figures=(),
    command=None,
    title="gaussmix report",
    notes=(),
) -> str:
    """The report of a fitted mixture as one self-contained HTML page.

    Parameters
    ----------
    model : fitted GaussianMixture
        The chosen model.
    X : array-like or DataFrame of shape (n_samples, n_features)
        The data it was fitted to (after any preprocessing).
    selection : select_model result, default=None
        Adds the selection table and the criterion plot.
    detector : fitted AnomalyDetector, default=None
        Adds the anomaly section.
    bootstrap : MixtureBootstrap, default=None
        Adds the bootstrap standard errors and intervals (`gaussmix.bootstrap`).
    figures : sequence of Figure, default=()
        Extra figures (e.g. the demo's), shown in their own section.
    command : str, default=None
        The command line that produced the report, shown verbatim.
    title : str, default="gaussmix report"
    notes : sequence of str, default=()
        Remarks about the data (dropped columns, standardisation, ...).

    Returns
    -------
    html : str
    """
    from ..version import __version__

    if not isinstance(X, pd.DataFrame):
        values = np.asarray(X, dtype=float)
        names = getattr(model, "feature_names_in_", None)
        if names is None:
            names = [f"x{i + 1}" for i in range(values.shape[1])]
        X = pd.DataFrame(values, columns=list(names))
    sections = [("data", "Data", _data_section(X, notes))]
    sections.append(("selection", "Model selection", _selection_section(selection)))
    sections.append(("model", "Chosen model", mixture_html(model)))
    from matplotlib.figure import Figure as MatplotlibFigure

    trace = MatplotlibFigure(figsize=(10.0, 3.8), layout="constrained")
    trace_ax, steps_ax = trace.subplots(1, 2)
    plot.convergence(model, ax=trace_ax, steps_ax=steps_ax)
    sections.append(
        (
            "convergence",
            "Convergence",
            _figure_html(
                Figure(
                    "EM log-likelihood by iteration, and its increase per iteration (log scale)",
                    trace,
                )
            ),
        )
    )
    sections.append(("clusters", "Clusters", _cluster_section(model, X)))
    if detector is not None:
        sections.append(("anomalies", "Anomalies", _anomaly_section(detector, X)))
    if bootstrap is not None:
        from ._toolkit_sections import bootstrap_section

        html = bootstrap_section(
            bootstrap, _table_html, lambda caption, fig: _figure_html(Figure(caption, fig))
        )
        sections.append(("bootstrap", "Bootstrap inference", html))
    if figures:
        sections.append(("figures", "More figures", "".join(_figure_html(f) for f in figures)))
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command_html = f"<pre>{escape(command)}</pre>" if command else ""
    navigation = "".join(f'<a href="#{key}">{escape(name)}</a>' for key, name, _ in sections)
    body = "".join(
        f'<section id="{key}"><h2>{escape(name)}</h2>{content}</section>'
        for key, name, content in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{HTML_STYLE}{_PAGE_STYLE}</style></head>"
        f'<body><main class="gaussmix"><h1>{escape(title)}</h1>'
        f'<p class="note">gaussmix {escape(__version__)} · {stamp}</p>{command_html}'
        f"<nav>{navigation}</nav>{body}</main></body></html>\n"
    )


def write_report(html: str, path) -> None:
    """Write the report atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    html : str
        From `build_report`.
    path : str or path-like
        Destination, conventionally ``report.html``.
    """
    with atomic_output(path) as temporary:
        temporary.write_text(html, encoding="utf-8")
