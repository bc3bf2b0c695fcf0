"""Initial responsibilities, one function per ``init_params`` value.

Each function maps ``(X, sample_weight, n_components, random_state)`` to an
(n_samples, n_components) array of initial responsibilities; the first M-step turns
them into parameters. For scikit-learn's four names the sequence of random draws matches
scikit-learn's, so the same ``random_state`` starts both libraries from the same place.
``"best-of-kmeans"`` (gaussmix's default) keeps the most likely of several k-means
partitions (see `gaussmix.engine.core.candidates`); it alone takes a ``judge``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

from ..data.arrays import INITIALIZATION_ROWS
from .candidates import Judge, best_of_kmeans
from .hierarchical import hierarchical

__all__ = ["INITIALIZERS", "JUDGED_INITIALIZERS", "initial_responsibilities"]

Initializer = Callable[[np.ndarray, np.ndarray, int, np.random.RandomState], np.ndarray]


def _one_hot(labels: np.ndarray, n_samples: int, n_components: int, dtype) -> np.ndarray:
    resp = np.zeros((n_samples, n_components), dtype=dtype)
    resp[np.arange(n_samples), labels] = 1
    return resp


def _mark_rows(rows: np.ndarray, n_samples: int, n_components: int, dtype) -> np.ndarray:
    resp = np.zeros((n_samples, n_components), dtype=dtype)
    resp[rows, np.arange(n_components)] = 1
    return resp


def kmeans(X, sample_weight, n_components, random_state):
    """Hard labels of one k-means run (Lloyd, k-means++ seeding)."""
    labels = (
        KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
        .fit(X, sample_weight=sample_weight)
        .labels_
    )
    return _one_hot(labels, X.shape[0], n_components, X.dtype)


def kmeans_plus_plus(X, sample_weight, n_components, random_state):
    """One row per component, chosen by k-means++ seeding."""
    _, rows = kmeans_plusplus(
        X, n_components, sample_weight=sample_weight, random_state=random_state
    )
    return _mark_rows(rows, X.shape[0], n_components, X.dtype)


def random(X, sample_weight, n_components, random_state):
    """Uniformly random soft responsibilities."""
    resp = random_state.uniform(size=(X.shape[0], n_components)).astype(X.dtype)
    return resp / resp.sum(axis=1, keepdims=True)


def random_from_data(X, sample_weight, n_components, random_state):
    """Distinct random rows (with positive weight) as the components' seeds."""
    candidates = np.flatnonzero(sample_weight > 0)
    rows = candidates[random_state.choice(candidates.size, size=n_components, replace=False)]
    return _mark_rows(rows, X.shape[0], n_components, X.dtype)


def best_of_kmeans_or_scikit_learns(X, sample_weight, n_components, random_state, judge=None):
    """`best_of_kmeans`, with scikit-learn's own start (`kmeans`) competing first.

    On data the initialisation sample holds whole, scikit-learn's single k-means run on
    every row is the incumbent: kept unless a candidate's mixture is more likely. So the
    default start is scikit-learn's wherever that start is as good as any candidate
    (scikit-learn's own tests compare iteration counts from it), and better elsewhere.
    """
    incumbent = None
    if X.shape[0] <= INITIALIZATION_ROWS:
        incumbent = kmeans(X, sample_weight, n_components, random_state)
    return best_of_kmeans(X, sample_weight, n_components, random_state, judge, incumbent=incumbent)


#: ``init_params`` values and their functions.
INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {  # judged ones take a judge too
    "kmeans": kmeans,
    "k-means++": kmeans_plus_plus,
    "random": random,
    "random_from_data": random_from_data,
    "hierarchical": hierarchical,
    "best-of-kmeans": best_of_kmeans_or_scikit_learns,
}

#: Initialisers that compare candidate starts with a ``judge`` (see `candidates`).
JUDGED_INITIALIZERS = frozenset({"best-of-kmeans"})


def initial_responsibilities(
    method: str,
    X: np.ndarray,
    sample_weight: np.ndarray,
    n_components: int,
    random_state: np.random.RandomState,
    judge: Judge | None = None,
) -> np.ndarray:
    """Initial responsibilities by the named method (see `INITIALIZERS`).

    ``judge`` scores candidate partitions for the methods in `JUDGED_INITIALIZERS`
    (ignored by the others).
    """
    if method in JUDGED_INITIALIZERS:
        return INITIALIZERS[method](X, sample_weight, n_components, random_state, judge)
    return INITIALIZERS[method](X, sample_weight, n_components, random_state)
