"""The console summary of one fitted mixture (``gaussmix fit --method variational|dp``).

``gaussmix fit --method em`` prints `ModelSelectionResult.summary`; a Bayesian fit has no
selection table, so this prints the same kind of text for its one model: the covariance
model in words, its fit (log-likelihood, parameters, BIC) and the clustering table, with
components numbered by weight as in every table and figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..estimators.display import component_order, display_labels

__all__ = ["single_model_summary"]

_RULE = "-" * 60


def single_model_summary(model, rows: pd.DataFrame, n_rows: int) -> str:
    """mclust-style text for one fitted `GaussianMixture`.

    Parameters
    ----------
    model : fitted GaussianMixture
    rows : DataFrame
        Rows in the model's units: all of them, or a random sample of ``n_rows``.
    n_rows : int
        Rows of the whole data.

    Returns
    -------
    text : str
    """
    covariance_model = model._model
    k = model.n_components
    labels = display_labels(model.predict(rows), component_order(model))
    sizes = pd.DataFrame(
        [np.bincount(labels[labels >= 0], minlength=k)],
        columns=[str(j + 1) for j in range(k)],
    )
    if (labels < 0).any():  # a noise component's rows, as mclust's column 0
        sizes["noise"] = int((labels < 0).sum())
    complete = len(rows) == n_rows
    if complete:
        fit = pd.DataFrame(
            {
                "log-likelihood": [f"{model.score(rows) * n_rows:.3f}"],
                "n": [n_rows],
                "df": [model.n_parameters_],
                "BIC": [f"{model.bic(rows):.3f}"],
            }
        ).to_string(index=False)
        sizes_title = "Clustering table:"
    else:
        fit = (
            f"log-likelihood per row {model.lower_bound_:.4f} (last EM iteration), "
            f"{model.n_parameters_} free parameters"
        )
        sizes_title = f"Clustering table (a random sample of {len(rows):,} of {n_rows:,} rows):"
    plural = "component" if k == 1 else "components"
    return (
        f"{_RULE}\nGaussian finite mixture model fitted by EM algorithm\n{_RULE}\n\n"
        f"{covariance_model.name} ({covariance_model.description}) model with {k} "
        f"{plural}:\n\n{fit}\n\n{sizes_title}\n{sizes.to_string(index=False)}\n"
    )
