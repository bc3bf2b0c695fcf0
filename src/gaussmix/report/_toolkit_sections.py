"""Report sections for the toolkit's results (bootstrap inference)."""

from __future__ import annotations

from html import escape

import pandas as pd

__all__ = ["bootstrap_section"]


def bootstrap_section(result, table_html, figure_html, level: float = 0.95) -> str:
    """Standard errors and percentile intervals of the weights, means and variances.

    ``table_html(frame)`` and ``figure_html(caption, figure)`` are the report's own
    renderers, so the section looks like the others.
    """
    table = result.summary(level)
    shown = pd.DataFrame(
        {
            "component": table["component"],
            "feature": table["feature"],
            "estimate": table["estimate"],
            "std. error": table["std_error"],
            f"{100 * level:g}% lower": table["lower"],
            f"{100 * level:g}% upper": table["upper"],
        }
    ).set_index(table["parameter"].rename("parameter"))
    failed = f", {result.n_failed_} failed" if result.n_failed_ else ""
    intro = (
        f"<p>{escape(result.method.capitalize())} bootstrap: {result.n_replicates_} of "
        f"{result.n_bootstrap} replicates refitted from the fitted parameters{failed}; "
        f"{result.n_relabelled_} came out in another component order and were matched back "
        "to the fitted components. Percentile intervals.</p>"
    )
    import matplotlib.pyplot as plt

    drawn = result.plot(level=level)
    figure = figure_html(
        "Bootstrap replicates of every parameter, with the estimate and its interval", drawn
    )
    plt.close(drawn)
    return intro + table_html(shown) + figure
