"""Samples from a known Gaussian mixture (the chapter's data generator)."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_gmm_data", "CHAPTER_MEANS", "CHAPTER_COVARIANCES", "CHAPTER_WEIGHTS"]

#: The chapter's three component means.
CHAPTER_MEANS = np.array([[0.0, 0.0], [3.0, 3.0], [-2.0, 3.0]])
#: The chapter's covariances: correlated, spherical and elongated.
CHAPTER_COVARIANCES = np.array(
    [
        [[1.0, 0.5], [0.5, 1.0]],
        [[0.8, 0.0], [0.0, 0.8]],
        [[2.0, -0.5], [-0.5, 0.5]],
    ]
)
#: The chapter's mixing weights.
CHAPTER_WEIGHTS = np.array([0.3, 0.4, 0.3])

for _constant in (CHAPTER_MEANS, CHAPTER_COVARIANCES, CHAPTER_WEIGHTS):
    _constant.setflags(write=False)


def _as_float_array(name: str, value, ndim: int, hint: str) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, {hint}; could not convert it ({exc}).") from None
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {hint}; got an array of shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity; pass finite numbers.")
    return array


def _check_covariances(covariances: np.ndarray, n_components: int, n_features: int) -> None:
    expected = (n_components, n_features, n_features)
    if covariances.shape != expected:
        raise ValueError(
            f"covariances must have shape {expected} (one d x d matrix per mean); "
            f"got {covariances.shape}."
        )
    if not np.allclose(covariances, np.swapaxes(covariances, 1, 2), rtol=0, atol=1e-12):
        raise ValueError("covariances must be symmetric; pass (S + S.T) / 2 for each matrix S.")
    smallest = np.linalg.eigvalsh(covariances)[:, 0]
    if np.any(smallest <= 0):
        bad = int(np.argmax(smallest <= 0))
        raise ValueError(
            f"covariances[{bad}] is not positive definite (smallest eigenvalue "
            f"{smallest[bad]:.3g}); add a small multiple of the identity to it."
        )


def _check_weights(weights: np.ndarray, n_components: int) -> None:
    if weights.shape != (n_components,):
        raise ValueError(
            f"weights must have shape ({n_components},) (one per mean); got {weights.shape}."
        )
    if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-8):
        raise ValueError(
            f"weights must be non-negative and sum to 1 (got sum {weights.sum():.6g}); "
            "divide them by their sum."
        )


def make_gmm_data(n_samples=300, means=None, covariances=None, weights=None, random_state=None):
    """Draw labelled samples from a Gaussian mixture (by default the chapter's).

    Each row first draws its component ``k`` with probability ``weights[k]``, then the
    point from ``N(means[k], covariances[k])``.

    Parameters
    ----------
    n_samples : int, default=300
        Number of rows.
    means : array-like of shape (n_components, n_features), default=None
        Component means. None gives the chapter's ``(0, 0), (3, 3), (-2, 3)``.
    covariances : array-like of shape (n_components, n_features, n_features), default=None
        Component covariances (symmetric positive definite). None gives the chapter's
        correlated, spherical and elongated covariances when ``means`` is None too, and
        identity matrices otherwise.
    weights : array-like of shape (n_components,), default=None
        Mixing weights summing to one. None gives the chapter's ``0.3, 0.4, 0.3`` when
        ``means`` is None too, and equal weights otherwise.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws; the same seed gives the same data.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The samples.
    y : ndarray of shape (n_samples,)
        The component that generated each row.

    Examples
    --------
    >>> from gaussmix.datasets import make_gmm_data
    >>> X, y = make_gmm_data(random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((300, 2), [0, 1, 2])
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
    chapter = means is None
    means = (
        CHAPTER_MEANS
        if chapter
        else _as_float_array("means", means, 2, "a 2-d array of shape (n_components, n_features)")
    )
    n_components, n_features = means.shape
    if n_components < 1 or n_features < 1:
        raise ValueError(f"means must have at least one row and one column; got {means.shape}.")
    if covariances is None:
        covariances = (
            CHAPTER_COVARIANCES
            if chapter
            else np.broadcast_to(np.eye(n_features), (n_components, n_features, n_features))
        )
    covariances = _as_float_array(
        "covariances", covariances, 3, "a 3-d array of shape (n_components, d, d)"
    )
    _check_covariances(covariances, n_components, n_features)
    if weights is None:
        weights = CHAPTER_WEIGHTS if chapter else np.full(n_components, 1.0 / n_components)
    weights = _as_float_array("weights", weights, 1, "a 1-d array of shape (n_components,)")
    _check_weights(weights, n_components)

    rng = check_random_state(random_state)
    labels = rng.choice(n_components, size=int(n_samples), p=weights / weights.sum())
    X = np.empty((int(n_samples), n_features))
    for k in range(n_components):
        rows = np.flatnonzero(labels == k)
        X[rows] = rng.multivariate_normal(means[k], covariances[k], size=rows.size)
    return X, labels.astype(np.intp)
