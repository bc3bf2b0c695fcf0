"""Merging mixture components into clusters by the entropy criterion (mclust's ``clustCombi``).

A Gaussian mixture chosen by BIC estimates a *density*; a cluster that is not Gaussian
(a banana, a moon) takes several components. Baudry, Raftery, Celeux, Lo & Gottardo
(2010, "Combining mixture components for clustering", JCGS 19(2)) merge the components
pairwise: at each step the two clusters whose union lowers the entropy of the
classification the most are joined, and their probabilities are added. This gives a
hierarchy from K clusters down to 1; the elbow of the entropy against the number of
clusters suggests where to stop.

The entropy of a classification with probabilities ``t[i, c]`` is
``-sum_i sum_c t[i, c] log t[i, c]``: 0 when every row is certain, large when many rows
are shared between clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import entr

from ._fitted import check_fitted_mixture, model_rows

__all__ = [
    "ComponentMerging",
    "MergeStep",
    "classification_entropy",
    "combine_components",
    "best_merge",
    "piecewise_linear_elbow",
]


def classification_entropy(probabilities: np.ndarray) -> float:
    """``-sum t log t`` over every row and column (``0 log 0 = 0``).

    Parameters
    ----------
    probabilities : ndarray of shape (n_samples, n_clusters)

    Returns
    -------
    entropy : float
    """
    return float(entr(np.asarray(probabilities, dtype=np.float64)).sum())


def best_merge(probabilities: np.ndarray) -> tuple[int, int, float]:
    """The pair of columns whose sum gives the lowest entropy, and that entropy.

    Merging columns ``a`` and ``b`` changes the entropy by
    ``sum_i [h(t_a + t_b) - h(t_a) - h(t_b)]`` with ``h(t) = -t log t``, so each pair
    costs one pass over the rows. Ties go to the first pair in (a, b) order.

    Parameters
    ----------
    probabilities : ndarray of shape (n_samples, n_clusters), n_clusters >= 2

    Returns
    -------
    a, b : int
        Columns to merge, ``a < b``.
    entropy : float
        Entropy of the classification after the merge.
    """
    columns = np.asarray(probabilities, dtype=np.float64)
    n_clusters = columns.shape[1]
    if n_clusters < 2:
        raise ValueError("best_merge needs at least two clusters to merge.")
    per_column = entr(columns).sum(axis=0)
    total = per_column.sum()
    best = (0, 1, np.inf)
    for a in range(n_clusters - 1):
        merged = entr(columns[:, a : a + 1] + columns[:, a + 1 :]).sum(axis=0)
        after = total - per_column[a] - per_column[a + 1 :] + merged
        b = int(np.argmin(after))
        if after[b] < best[2]:
            best = (a, a + 1 + b, float(after[b]))
    return best


@dataclass(frozen=True)
class MergeStep:
    """One merge of the hierarchy.

    Attributes
    ----------
    n_clusters : int
        Number of clusters after the merge.
    merged : tuple of two tuples of int
        The two clusters joined, each as its components (0-based indices of the fitted
        model's components).
    entropy : float
        Entropy of the classification after the merge.
    entropy_change : float
        Entropy before minus after (non-negative).
    rows_merged : int
        Rows whose most probable cluster, before the merge, was one of the two: Baudry
        et al.'s normalisation of the entropy change.
    """

    n_clusters: int
    merged: tuple[tuple[int, ...], tuple[int, ...]]
    entropy: float
    entropy_change: float
    rows_merged: int

    @property
    def normalized_entropy_change(self) -> float:
        """Entropy change per row merged (0 when no row was merged)."""
        return self.entropy_change / self.rows_merged if self.rows_merged else 0.0


def _merge_path(resp: np.ndarray) -> tuple[list[list[tuple[int, ...]]], list[MergeStep]]:
    """Partitions of the components for K, K-1, ..., 1 clusters and the merges between."""
    columns = resp.copy()
    groups: list[tuple[int, ...]] = [(k,) for k in range(resp.shape[1])]
    partitions = [list(groups)]
    steps = []
    entropy = classification_entropy(columns)
    while columns.shape[1] > 1:
        a, b, after = best_merge(columns)
        hard = columns.argmax(axis=1)
        rows_merged = int(np.count_nonzero((hard == a) | (hard == b)))
        steps.append(
            MergeStep(
                n_clusters=columns.shape[1] - 1,
                merged=(groups[a], groups[b]),
                entropy=after,
                entropy_change=max(entropy - after, 0.0),
                rows_merged=rows_merged,
            )
        )
        columns[:, a] += columns[:, b]
        columns = np.delete(columns, b, axis=1)
        groups[a] = tuple(sorted(groups[a] + groups[b]))
        del groups[b]
        partitions.append(list(groups))
        entropy = after
    return partitions, steps


def piecewise_linear_elbow(x, y) -> int:
    """Where a continuous two-segment line fits ``y`` against ``x`` best (least squares).

    For every interior value ``c`` of ``x``, fits ``y ~ a + b x + d max(x - c, 0)`` and
    returns the ``c`` with the smallest residual sum of squares (the first on ties), as
    mclust's entropy plot does to mark its elbow.

    Parameters
    ----------
    x, y : array-like of shape (n,), n >= 3
        ``x`` increasing.

    Returns
    -------
    elbow : the value of x at the break
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 3:
        raise ValueError("piecewise_linear_elbow needs x and y of the same length, at least 3.")
    best_c, best_rss = x[1], np.inf
    for c in x[1:-1]:
        design = np.column_stack([np.ones_like(x), x, np.maximum(x - c, 0.0)])
        coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
        rss = float(((design @ coefficients - y) ** 2).sum())
        if rss < best_rss:
            best_c, best_rss = c, rss
    return int(best_c) if float(best_c).is_integer() else best_c


class ComponentMerging:
    """The hierarchy of clusters obtained by merging a mixture's components.

    Made by `combine_components`. Clusters at any level are numbered by decreasing
    weight (total probability), so cluster 0 is the largest.

    Attributes
    ----------
    n_components : int
        Components of the fitted mixture (the finest level).
    responsibilities_ : ndarray of shape (n_samples, n_components)
        The mixture's probabilities for the rows given.
    steps_ : list of MergeStep
        The K - 1 merges, from K clusters to 1.
    entropies_ : ndarray of shape (n_components,)
        ``entropies_[n - 1]`` is the classification's entropy with ``n`` clusters.
    """

    def __init__(self, responsibilities: np.ndarray):
        self.responsibilities_ = np.asarray(responsibilities, dtype=np.float64)
        self.n_components = self.responsibilities_.shape[1]
        self._partitions, self.steps_ = _merge_path(self.responsibilities_)
        by_level = [classification_entropy(self.responsibilities_)]
        by_level += [step.entropy for step in self.steps_]
        self.entropies_ = np.asarray(by_level[::-1])

    def _check_level(self, n_clusters) -> int:
        if (
            isinstance(n_clusters, bool)
            or not isinstance(n_clusters, (int, np.integer))
            or not 1 <= n_clusters <= self.n_components
        ):
            raise ValueError(
                f"n_clusters must be an integer from 1 to {self.n_components} (the number of "
                f"components); got {n_clusters!r}."
            )
        return int(n_clusters)

    def clusters(self, n_clusters: int) -> list[tuple[int, ...]]:
        """The components of each cluster at that level, the heaviest cluster first.

        Parameters
        ----------
        n_clusters : int, 1 <= n_clusters <= n_components

        Returns
        -------
        clusters : list of tuple of int
            0-based component indices of the fitted model.
        """
        n_clusters = self._check_level(n_clusters)
        groups = self._partitions[self.n_components - n_clusters]
        weights = [self.responsibilities_[:, list(g)].sum() for g in groups]
        order = sorted(range(len(groups)), key=lambda i: (-weights[i], groups[i]))
        return [groups[i] for i in order]

    def probabilities(self, n_clusters: int) -> np.ndarray:
        """Each row's probability of each cluster: the sum over the cluster's components.

        Parameters
        ----------
        n_clusters : int

        Returns
        -------
        probabilities : ndarray of shape (n_samples, n_clusters)
        """
        return np.column_stack(
            [self.responsibilities_[:, list(g)].sum(axis=1) for g in self.clusters(n_clusters)]
        )

    def labels(self, n_clusters: int) -> np.ndarray:
        """Hard labels (the most probable cluster of each row), 0 = heaviest cluster.

        Parameters
        ----------
        n_clusters : int

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.probabilities(n_clusters).argmax(axis=1)

    def entropy(self, n_clusters: int) -> float:
        """Entropy of the classification with ``n_clusters`` clusters."""
        return float(self.entropies_[self._check_level(n_clusters) - 1])

    def elbow(self) -> int:
        """Number of clusters at the elbow of the entropy curve.

        The break of the continuous two-segment least-squares fit of the entropy against
        the number of clusters (`piecewise_linear_elbow`), as mclust's ``entPlot`` draws
        it. With fewer than three components there is no elbow to find and
        ``n_components`` is returned.

        Returns
        -------
        n_clusters : int
        """
        if self.n_components < 3:
            return self.n_components
        return int(piecewise_linear_elbow(np.arange(1, self.n_components + 1), self.entropies_))

    def table(self) -> pd.DataFrame:
        """One row per level: the merge that made it, its entropy and entropy change.

        Components are numbered from 1 in this table (as in printed summaries).

        Returns
        -------
        table : DataFrame indexed by number of clusters (K down to 1)
        """
        rows = [
            {
                "n_clusters": self.n_components,
                "merged": "",
                "entropy": self.entropies_[-1],
                "entropy_change": np.nan,
                "rows_merged": 0,
                "normalized_change": np.nan,
            }
        ]
        for step in self.steps_:
            first, second = ("+".join(str(k + 1) for k in g) for g in step.merged)
            rows.append(
                {
                    "n_clusters": step.n_clusters,
                    "merged": f"{first} with {second}",
                    "entropy": step.entropy,
                    "entropy_change": step.entropy_change,
                    "rows_merged": step.rows_merged,
                    "normalized_change": step.normalized_entropy_change,
                }
            )
        return pd.DataFrame(rows).set_index("n_clusters")

    def plot(self, axes=None):
        """Entropy against the number of clusters (with its elbow) and the normalised
        entropy change of each merge; see `gaussmix.plot.merging`."""
        from ..plotting.toolkit import merging

        return merging(self, axes=axes)

    def __repr__(self) -> str:
        """A one-line description for the console."""
        return (
            f"<ComponentMerging: {self.n_components} components -> 1 cluster; "
            f"elbow at {self.elbow()} clusters>"
        )


def combine_components(model, X) -> ComponentMerging:
    """Merge a fitted mixture's components into clusters, pairwise, by entropy.

    Baudry et al. (2010), mclust's ``clustCombi``: starting from the K components, the
    two clusters whose merge lowers the classification entropy most are joined, down to
    one cluster. Use ``result.labels(n)`` for the hard clustering into ``n`` clusters and
    ``result.elbow()`` for the number the entropy curve suggests.

    Parameters
    ----------
    model : fitted GaussianMixture or BayesianGaussianMixture (or an AnomalyDetector)
        Normally a mixture chosen by BIC (``select_model(X).best_estimator_``), whose
        components describe the density well. A noise component is not supported.
    X : array-like of shape (n_samples, n_features)
        The rows to cluster (normally the training data).

    Returns
    -------
    result : ComponentMerging

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> import gaussmix
    >>> X, y = make_moons(300, noise=0.1, random_state=42)
    >>> model = gaussmix.GaussianMixture(6, covariance_type="EEV", random_state=0).fit(X)
    >>> merging = gaussmix.combine_components(model, X)
    >>> merging.labels(2).shape
    (300,)
    """
    mixture = check_fitted_mixture(model, "combine_components")
    return ComponentMerging(mixture.predict_proba(model_rows(mixture, X)))
