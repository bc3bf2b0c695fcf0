"""Checks shared by the tools that read a fitted mixture."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted


def check_fitted_mixture(model, tool: str):
    """The fitted gaussmix mixture inside ``model`` (an anomaly detector's, or the model).

    Raises a ValueError naming ``tool`` when the model is not a fitted gaussmix mixture,
    or when it has a noise component (whose probabilities are not a Gaussian cluster's).
    """
    mixture = getattr(model, "mixture_", model)
    if getattr(mixture, "_params", None) is None or not hasattr(mixture, "predict_proba"):
        try:
            check_is_fitted(mixture)
        except Exception as exc:
            raise ValueError(
                f"{tool} needs a fitted gaussmix mixture; got {type(model).__name__} that is "
                "not fitted. Call fit(X) first."
            ) from exc
        raise ValueError(
            f"{tool} needs a fitted gaussmix mixture (GaussianMixture, "
            f"BayesianGaussianMixture, AnomalyDetector); got {type(model).__name__}."
        )
    if getattr(mixture._params, "noise", None) is not None:
        raise ValueError(
            f"{tool} does not support a noise component; refit the mixture with noise=False."
        )
    return mixture


def model_rows(mixture, X):
    """``X`` as the mixture reads it: a DataFrame with its feature names, else an array."""
    names = getattr(mixture, "feature_names_in_", None)
    if names is None or hasattr(X, "columns"):
        return X
    import pandas as pd

    return pd.DataFrame(np.asarray(X), columns=list(names))
