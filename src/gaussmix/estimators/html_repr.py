"""HTML views of a fitted mixture (notebook display, reused by the HTML report).

Pure string building: no figures, no scripts, no external resources.
"""

from __future__ import annotations

from html import escape

import numpy as np

from .display import component_order, informative_start

__all__ = ["mixture_html", "sparkline_svg", "HTML_STYLE"]

#: Shared CSS of gaussmix tables (scoped by the ``gaussmix`` class).
HTML_STYLE = """
.gaussmix {font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 13px;
  color: #222; max-width: 980px}
.gaussmix table {border-collapse: collapse; margin: 6px 0 12px 0}
.gaussmix .scroll {overflow-x: auto; max-width: 100%}
.gaussmix .scroll table {white-space: nowrap}
.gaussmix th, .gaussmix td {border: 1px solid #d0d0d0; padding: 3px 8px; text-align: right}
.gaussmix th {background: #f2f2f2}
.gaussmix td.name, .gaussmix th.name {text-align: left}
.gaussmix .note {color: #666; font-size: 12px}
.gaussmix .swatch {display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 5px}
"""

_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
_MAX_FEATURES_SHOWN = 8


def _number(value: float) -> str:
    return escape(f"{value:.4g}")


def sparkline_svg(values, width: int = 260, height: int = 60) -> str:
    """An inline SVG line of ``values`` (e.g. the log-likelihood at each EM iteration).

    Leading values far below the rest (EM's first iterations from random starting
    points) are left out, as in `gaussmix.plot.convergence`, so that the climb shows.
    """
    values = np.asarray(values, dtype=float)
    values = values[informative_start(values) :] if values.size else values
    values = values[np.isfinite(values)]
    if values.size == 0:
        return '<span class="note">no iterations recorded</span>'
    low, high = float(values.min()), float(values.max())
    span = high - low if high > low else 1.0
    xs = np.linspace(4, width - 4, values.size) if values.size > 1 else np.array([width / 2])
    ys = height - 4 - (values - low) / span * (height - 8)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return (
        f'<svg width="{width}" height="{height}" '
        f'role="img" aria-label="log-likelihood by EM iteration">'
        f'<rect width="{width}" height="{height}" fill="#fafafa" stroke="#ddd"/>'
        f'<polyline fill="none" stroke="#0072B2" stroke-width="2" points="{points}"/>'
        f'<circle cx="{xs[-1]:.1f}" cy="{ys[-1]:.1f}" r="3" fill="#D55E00"/></svg>'
    )


def _feature_names(model, n_features: int) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    return [f"x{i + 1}" for i in range(n_features)]


def _components_table(model) -> str:
    params = model._params
    n_components, n_features = params.means.shape
    dense = params.covariance.dense_covariances(n_components, n_features)
    names = _feature_names(model, n_features)[:_MAX_FEATURES_SHOWN]
    shown = len(names)
    header = "".join(f"<th>mean {escape(n)}</th>" for n in names)
    header += "".join(f"<th>sd {escape(n)}</th>" for n in names)
    rows = []
    # Numbered by weight, heaviest first, with the figures' colours (display.py).
    for position, k in enumerate(component_order(params.weights)):
        color = _PALETTE[position % len(_PALETTE)]
        cells = "".join(f"<td>{_number(v)}</td>" for v in params.means[k, :shown])
        sds = np.sqrt(np.clip(np.diagonal(dense[k])[:shown], 0, None))
        cells += "".join(f"<td>{_number(v)}</td>" for v in sds)
        rows.append(
            f'<tr><td class="name"><span class="swatch" style="background:{color}"></span>'
            f"{position + 1}</td><td>{_number(params.weights[k])}</td>{cells}</tr>"
        )
    noise = getattr(params, "noise", None)
    if noise is not None:  # the uniform component: its weight, no mean or spread
        rows.append(
            f'<tr><td class="name">noise</td><td>{_number(noise.weight)}</td>'
            f'<td colspan="{2 * shown}" class="name">uniform, volume '
            f"{_number(noise.region.volume)}</td></tr>"
        )
    note = (
        f'<p class="note">Showing {shown} of {n_features} features.</p>'
        if shown < n_features
        else ""
    )
    return (
        f'<div class="scroll"><table><tr><th class="name">component</th><th>weight</th>'
        f"{header}</tr>{''.join(rows)}</table></div>{note}"
    )


def mixture_html(model) -> str:
    """A fitted mixture as HTML: model, fit summary, component table and convergence.

    Parameters
    ----------
    model : fitted GaussianMixture (or another gaussmix mixture)

    Returns
    -------
    html : str
        A self-contained ``<div>`` (with its own ``<style>``).
    """
    params = model._params
    n_components, n_features = params.means.shape
    covariance_model = getattr(model, "_model", None)
    code = getattr(covariance_model, "name", str(getattr(model, "covariance_type", "")))
    description = getattr(covariance_model, "description", "")
    requested = str(getattr(model, "covariance_type", code))
    label = code if requested == code else f"{code} ({requested})"
    status = "converged" if getattr(model, "converged_", False) else "did not converge"
    history = getattr(model, "lower_bounds_", [])
    summary = [
        ("components", str(n_components)),
        ("features", str(n_features)),
        ("covariance model", escape(label) + (f" — {escape(description)}" if description else "")),
        ("log-likelihood per sample", _number(getattr(model, "lower_bound_", float("nan")))),
        ("free parameters", escape(str(getattr(model, "n_parameters_", "")))),
        ("EM", f"{escape(status)} after {escape(str(getattr(model, 'n_iter_', '?')))} iterations"),
    ]
    summary_rows = "".join(
        f'<tr><th class="name">{escape(k)}</th><td class="name">{v}</td></tr>' for k, v in summary
    )
    return (
        f'<div class="gaussmix"><style>{HTML_STYLE}</style>'
        f"<strong>{escape(type(model).__name__)}</strong>"
        f'<div class="scroll"><table>{summary_rows}</table></div>'
        f"{_components_table(model)}"
        f'<div class="note">Log-likelihood per sample at each EM iteration:</div>'
        f"{sparkline_svg(history)}</div>"
    )
