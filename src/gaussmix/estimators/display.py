"""The order in which people see a mixture's components: heaviest first.

A fitted estimator keeps its components in the order EM left them (``means_[k]``,
``predict`` returning ``k``), as scikit-learn does. Everything a person reads — the
console summary, every figure, the HTML report, ``assignments.csv`` and ``gaussmix
info`` — numbers them instead by weight, heaviest first, from 1: "component 1" is the
largest cluster everywhere. These two functions are the only place that order is
decided.

Examples
--------
>>> import numpy as np
>>> from gaussmix.estimators.display import component_order, display_labels
>>> order = component_order(np.array([0.2, 0.5, 0.3]))
>>> order.tolist()  # fitted index shown first, second, third
[1, 2, 0]
>>> display_labels(np.array([0, 1, 2, -1]), order).tolist()  # -1 (noise) stays -1
[2, 0, 1, -1]
"""

from __future__ import annotations

import numpy as np

__all__ = ["component_order", "display_labels", "informative_start"]


def _weights_of(model_or_weights) -> np.ndarray:
    mixture = getattr(model_or_weights, "mixture_", model_or_weights)  # an AnomalyDetector
    params = getattr(mixture, "_params", None)  # full precision, whatever the output dtype
    weights = params.weights if params is not None else getattr(mixture, "weights_", mixture)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 1 or weights.size == 0:
        raise ValueError(
            "component_order needs a fitted mixture (with weights_) or a 1-d array of "
            f"weights; got an array of shape {weights.shape}."
        )
    return weights


def component_order(model_or_weights) -> np.ndarray:
    """Fitted component indices in display order: by weight, heaviest first.

    Equal weights keep their fitted order (the sort is stable), so the order is a
    function of the weights alone and is the same every time a model is shown.

    Parameters
    ----------
    model_or_weights : fitted mixture, AnomalyDetector, or array-like of shape (K,)
        The weights (``weights_``; a noise component's weight is not among them).

    Returns
    -------
    order : ndarray of int, shape (K,)
        ``order[j]`` is the fitted index of the component displayed as number ``j + 1``.
    """
    weights = _weights_of(model_or_weights)
    return np.argsort(-weights, kind="stable")


def display_labels(labels, order) -> np.ndarray:
    """Fitted labels (``predict``) as display positions (0-based; add 1 to print).

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Fitted component indices; -1 (a noise component's rows) stays -1.
    order : array-like of int, shape (K,)
        From `component_order`.

    Returns
    -------
    positions : ndarray of int, shape (n_samples,)
    """
    order = np.asarray(order, dtype=np.intp)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    labels = np.asarray(labels, dtype=np.intp)
    return np.where(labels >= 0, rank[np.clip(labels, 0, None)], labels)


#: A leading iteration is off scale when its step up is this many times larger than all
#: the improvement that follows it.
OFF_SCALE_STEP = 100.0


def informative_start(history) -> int:
    """Index of the first log-likelihood of an EM trace worth putting on a linear axis.

    EM from random starting points can begin millions of units below where it ends
    (e.g. -1.8e6 per sample, then -3.69, ..., -3.61): drawn to scale, the whole climb
    after the first step is a flat line. Leading values that are not finite, or whose
    step up to the next value exceeds `OFF_SCALE_STEP` times all the improvement after
    it, are left off the axis (figures say so); at least two values remain.

    Parameters
    ----------
    history : array-like of float, shape (n_iterations,)
        ``lower_bounds_``: the mean log-likelihood after each iteration.

    Returns
    -------
    start : int
    """
    values = np.asarray(history, dtype=np.float64)
    start = 0
    while start < values.size - 2:
        current, following = values[start], values[start + 1]
        if not np.isfinite(current):
            start += 1
            continue
        remaining = values[-1] - following
        if following - current > OFF_SCALE_STEP * max(remaining, 0.0) and remaining >= 0:
            start += 1
            continue
        break
    return start
