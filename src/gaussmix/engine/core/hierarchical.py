"""Model-based agglomerative hierarchical clustering, the initialisation mclust uses.

Banfield & Raftery (1993) and Fraley (1998): start from singletons and repeatedly merge
the pair of clusters whose union least increases the classification criterion of the
unconstrained (VVV) Gaussian model. ``sum_k n_k log det(W_k / n_k)`` (``W_k`` the
scatter of cluster k about its mean) is minus infinity for clusters of at most d rows, so,
following Fraley (1998), each cluster contributes the regularised term

    n_k log( det(W_k / n_k) + (tr(W_k) + alpha) / n_k ),

with the determinant counted as 0 while ``n_k <= d`` and ``alpha`` the data's average
variance per dimension (mclust's default). Small clusters are thus merged by a Ward-like
trace criterion; large ones by the VVV log-determinant. As mclust does by default, the
tree is grown on SVD-scaled data (centred, standardised, rotated to principal axes and
divided by the square roots of the singular values). One tree serves
every K: cutting it after ``n - K`` merges gives the K-cluster partition.

Cost: the pairwise merge costs of singletons are closed-form; after each merge only the
new cluster's row is recomputed (one batched log-determinant over the active clusters),
and each cluster keeps its best partner, so growing the tree on ``m`` rows takes
``O(m^2 d^3)`` arithmetic in ``m`` vectorised steps. Above ``max_rows`` rows the tree is
grown on a random subset and the other rows join the cluster under which they are most
likely (mclust likewise works on a subset).

With one feature mclust grows no tree: ``Mclust`` starts each K from the quantile
classification of the column (its ``qclass``), and so does `hierarchical_partitions`
(`quantile_edges`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable

import numpy as np
from scipy.spatial.distance import pdist, squareform

__all__ = [
    "HierarchicalSubsetWarning",
    "svd_scaled",
    "merge_tree",
    "cut_tree",
    "hierarchical_partitions",
    "quantile_edges",
    "quantile_partition",
    "hierarchical",
    "DEFAULT_MAX_ROWS",
]

#: Rows above which the tree is grown on a random subset (mclust's ``subset`` option).
DEFAULT_MAX_ROWS = 2000


class HierarchicalSubsetWarning(UserWarning):
    """The hierarchical initialisation used a random subset of the rows."""


def svd_scaled(X: np.ndarray) -> np.ndarray:
    """mclust's ``hcUse = "SVD"`` transform: standardise, rotate, whiten by sqrt(singular values).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    Z : ndarray of shape (n_samples, n_features)
    """
    centred = X - X.mean(axis=0)
    scale = centred.std(axis=0, ddof=1) if X.shape[0] > 1 else np.ones(X.shape[1])
    scale = np.where(scale > 0, scale, 1.0)
    standardised = centred / scale
    _, singular_values, rotation_t = np.linalg.svd(standardised, full_matrices=False)
    inverse_roots = np.zeros(X.shape[1])
    positive = singular_values > singular_values.max(initial=0.0) * 1e-12
    inverse_roots[: singular_values.size][positive] = 1.0 / np.sqrt(singular_values[positive])
    rotated = np.zeros_like(standardised)
    rotated[:, : rotation_t.shape[0]] = standardised @ rotation_t.T
    return rotated * inverse_roots


def _ridge(Z: np.ndarray) -> float:
    """``alpha``: the average variance per dimension (never exactly zero)."""
    centred = Z - Z.mean(axis=0)
    return max(float(np.sum(centred * centred)) / Z.size, np.finfo(np.float64).tiny * 1e10)


def _cluster_cost(counts, traces, scatters, alpha: float, n_features: int):
    """``n log(det(W / n) + (tr W + alpha) / n)``, the determinant 0 while ``n <= d``.

    Determinants are computed only for clusters of more than ``n_features`` rows;
    ``scatters`` may be a callable returning the scatters of those clusters (given a
    boolean mask), so that they are formed only when needed, or None when no cluster
    has more than ``n_features`` rows.
    """
    counts = np.asarray(counts, dtype=np.float64)
    level = np.asarray((np.asarray(traces) + alpha) / counts, dtype=np.float64)
    large = counts > n_features
    if scatters is not None and np.any(large):
        chosen = scatters(large) if callable(scatters) else np.asarray(scatters)[large]
        determinants = np.linalg.det(chosen / counts[large][..., None, None])
        level = level.copy()
        level[large] += np.maximum(determinants, 0.0)
    return counts * np.log(level)


def _merged_scatters(mask, *, scatters, merged, others, diffs, factors):
    """Scatters of cluster ``merged`` joined with each of ``others[mask]``."""
    chosen = diffs[mask]
    return (
        scatters[others[mask]]
        + scatters[merged]
        + factors[mask][:, None, None] * (chosen[:, :, None] * chosen[:, None, :])
    )


class _MclustSlots:
    """mclust's order of clusters, which decides between exactly tied merges.

    mclust keeps the active clusters in slots 0..g-1 and, of the pairs with the least
    cost, merges the last in the order (0, 1), (0, 2), (1, 2), (0, 3), ...: the largest
    higher slot, then the largest lower slot. The merged cluster keeps the lower slot and
    the cluster in the last slot moves into the higher one. Tied merges are common where
    rows repeat (faithful: 16 pairs of identical rows), and which is taken first shapes
    the whole tree.
    """

    def __init__(self, n_rows: int):
        self.slot = np.arange(n_rows)
        self.holder = np.arange(n_rows)
        self.last = n_rows - 1

    def chosen_pair(self, costs: np.ndarray, best: np.ndarray) -> tuple[int, int]:
        """``(i, j)``: merge cluster j into cluster i (i holds the lower slot)."""
        rows = np.flatnonzero(best == best.min())
        pairs = np.argwhere(costs[rows] == best[rows[0]])
        first, second = rows[pairs[:, 0]], pairs[:, 1]
        low = np.minimum(self.slot[first], self.slot[second])
        high = np.maximum(self.slot[first], self.slot[second])
        pick = np.lexsort((low, high))[-1]
        i, j = int(first[pick]), int(second[pick])
        return (i, j) if self.slot[i] < self.slot[j] else (j, i)

    def merged(self, i: int, j: int) -> None:
        """Cluster j has joined cluster i: the last slot's cluster moves into j's slot."""
        freed, mover = self.slot[j], self.holder[self.last]
        self.slot[mover], self.holder[freed] = freed, mover
        self.last -= 1


def merge_tree(Z: np.ndarray) -> np.ndarray:
    """Grow the agglomerative tree; return the merges in order.

    Parameters
    ----------
    Z : ndarray of shape (m, d)
        Rows to cluster (already transformed).

    Returns
    -------
    merges : ndarray of shape (m - 1, 2)
        ``merges[t] = (i, j)``: at step t the cluster held in slot j joins slot i (slots
        start as row indices). Of exactly tied merges, mclust's is taken
        (`_MclustSlots`).
    """
    m, d = Z.shape
    if m < 2:
        return np.empty((0, 2), dtype=np.intp)
    alpha = _ridge(Z)
    counts = np.ones(m)
    means = Z.astype(np.float64, copy=True)
    scatters = np.zeros((m, d, d))
    traces = np.zeros(m)
    own_cost = np.full(m, np.log(alpha))
    active = np.ones(m, dtype=bool)

    # Singleton pairs in closed form: W = dd^T / 2, so det(W / 2) = 0 for d >= 2. The
    # distances are summed from the differences, so that tied rows are exactly 0 apart
    # and their merges tie exactly (|a|^2 + |b|^2 - 2ab leaves rounding noise).
    distances = squareform(pdist(Z, "sqeuclidean"))
    pair_scatters = None if d >= 2 else distances[..., None, None] / 2
    costs = _cluster_cost(np.full((m, m), 2.0), distances / 2, pair_scatters, alpha, d)
    costs -= 2 * np.log(alpha)
    np.fill_diagonal(costs, np.inf)
    best = costs.min(axis=1)
    partner = costs.argmin(axis=1)

    slots = _MclustSlots(m)
    merges = np.empty((m - 1, 2), dtype=np.intp)
    for step in range(m - 1):
        i, j = slots.chosen_pair(costs, best)
        slots.merged(i, j)
        merges[step] = (i, j)
        # Merge j into i.
        n_i, n_j = counts[i], counts[j]
        delta = means[j] - means[i]
        factor = n_i * n_j / (n_i + n_j)
        scatters[i] = scatters[i] + scatters[j] + factor * np.outer(delta, delta)
        traces[i] = traces[i] + traces[j] + factor * (delta @ delta)
        means[i] = (n_i * means[i] + n_j * means[j]) / (n_i + n_j)
        counts[i] = n_i + n_j
        own_cost[i] = _cluster_cost(
            counts[i : i + 1], traces[i : i + 1], scatters[i : i + 1], alpha, d
        )[0]
        active[j] = False
        costs[j, :] = np.inf
        costs[:, j] = np.inf
        best[j] = np.inf

        others = np.flatnonzero(active)
        others = others[others != i]
        if others.size:
            n_o = counts[others]
            total = n_o + counts[i]
            diffs = means[others] - means[i]
            factors = n_o * counts[i] / total
            joint_traces = traces[others] + traces[i] + factors * np.sum(diffs * diffs, axis=1)

            joint_scatters = functools.partial(
                _merged_scatters,
                scatters=scatters,
                merged=i,
                others=others,
                diffs=diffs,
                factors=factors,
            )
            row = (
                _cluster_cost(total, joint_traces, joint_scatters, alpha, d)
                - own_cost[others]
                - own_cost[i]
            )
            costs[i, others] = row
            costs[others, i] = row
        # Refresh best partners: row i, rows that pointed at i or j, rows improved by i.
        best[i] = costs[i].min()
        partner[i] = costs[i].argmin()
        if others.size:
            stale = others[(partner[others] == i) | (partner[others] == j)]
            if stale.size:
                stale_rows = costs[stale]
                partner[stale] = stale_rows.argmin(axis=1)
                best[stale] = stale_rows[np.arange(stale.size), partner[stale]]
            improved = others[costs[others, i] < best[others]]
            best[improved] = costs[improved, i]
            partner[improved] = i
    return merges


def cut_tree(merges: np.ndarray, n_rows: int, n_clusters: Iterable[int]) -> dict[int, np.ndarray]:
    """Partitions of the tree at each requested number of clusters.

    Parameters
    ----------
    merges : ndarray of shape (n_rows - 1, 2)
        From `merge_tree`.
    n_rows : int
    n_clusters : iterable of int
        Requested numbers of clusters (values above ``n_rows`` are left out).

    Returns
    -------
    partitions : dict
        ``{K: labels}`` with labels in ``0..K-1``, numbered by first appearance.
    """
    wanted = {k for k in n_clusters if 1 <= k <= n_rows}
    slots = np.arange(n_rows)
    partitions = {}

    def record(k):
        _, first, inverse = np.unique(slots, return_index=True, return_inverse=True)
        order = np.argsort(np.argsort(first))
        partitions[k] = order[inverse]

    if n_rows in wanted:
        record(n_rows)
    for step, (i, j) in enumerate(merges):
        slots[slots == j] = i
        k = n_rows - step - 1
        if k in wanted:
            record(k)
    return partitions


def _assign_rest(Z_all: np.ndarray, Z_tree: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Most likely cluster of every row under the tree's regularised Gaussian clusters."""
    alpha = _ridge(Z_tree)
    n_clusters = labels.max() + 1
    d = Z_all.shape[1]
    scores = np.empty((Z_all.shape[0], n_clusters))
    for k in range(n_clusters):
        members = Z_tree[labels == k]
        mean = members.mean(axis=0)
        centred = members - mean
        covariance = (centred.T @ centred + alpha * np.eye(d)) / members.shape[0]
        factor = np.linalg.cholesky(covariance)
        solved = np.linalg.solve(factor, (Z_all - mean).T)
        scores[:, k] = (
            np.log(members.shape[0])
            - np.log(np.diag(factor)).sum()
            - 0.5 * np.sum(solved * solved, axis=0)
        )
    return scores.argmax(axis=1)


def quantile_edges(x: np.ndarray, n_clusters: int) -> np.ndarray:
    """mclust's one-feature start (its ``qclass``): ``n_clusters + 1`` distinct cut points.

    The quantiles are taken at ``n`` evenly spaced probabilities, ``n`` the smallest
    count above ``n_clusters`` that gives at least ``n_clusters + 1`` distinct values
    (tied values make some quantiles equal); surplus cut points are dropped, each the
    left end of one of the shortest gaps between consecutive cut points. The outer cut
    points are moved just outside the data's range.

    Parameters
    ----------
    x : ndarray of shape (n_samples,)
    n_clusters : int
        At most the number of distinct values in ``x``.

    Returns
    -------
    edges : ndarray of shape (n_clusters + 1,)
        Increasing; cluster i is the interval ``[edges[i], edges[i + 1])``.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    margin = float(np.std(x, ddof=1)) * np.sqrt(np.finfo(np.float64).eps) if x.size > 1 else 0.0
    n_points = n_clusters + 1
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, n_points)))
    while edges.size < n_clusters + 1 and n_points <= x.size + n_clusters:
        n_points += 1
        edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, n_points)))
    surplus = edges.size - (n_clusters + 1)
    if surplus > 0:
        edges = np.delete(edges, np.argsort(np.diff(edges), kind="stable")[:surplus])
    edges[0], edges[-1] = x.min() - margin, x.max() + margin
    return edges


def quantile_partition(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Labels ``0..len(edges) - 2`` of ``x`` cut at `quantile_edges`' ``edges``.

    Parameters
    ----------
    x : ndarray
        One feature's values (any shape; read flat).
    edges : ndarray of shape (n_clusters + 1,)
        Increasing cut points, as `quantile_edges` returns them.

    Returns
    -------
    ndarray of int
        Each value's cluster; values outside the edges join the nearest end cluster.
    """
    labels = np.searchsorted(edges, np.asarray(x, dtype=np.float64).ravel(), side="right") - 1
    return np.clip(labels, 0, edges.size - 2)


def hierarchical_partitions(
    X: np.ndarray,
    sample_weight: np.ndarray,
    n_components: Iterable[int],
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    random_state=None,
) -> dict[int, np.ndarray | None]:
    """Initial hard partitions of all rows at each K, from one model-based tree.

    With one feature, as in mclust, each K's partition is the `quantile_partition` of
    the rows at the weighted rows' `quantile_edges` instead.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
        Rows with zero weight do not shape the tree (they still get a label).
    n_components : iterable of int
    max_rows : int, default=DEFAULT_MAX_ROWS
        Above this many weighted rows, the tree is grown on a random subset of this
        size (a `HierarchicalSubsetWarning` says so).
    random_state : int, RandomState or None
        Chooses the subset; the tree itself is deterministic.

    Returns
    -------
    partitions : dict
        ``{K: labels of shape (n_samples,)}``; None for a K the tree cannot give
        (more clusters than rows).
    """
    from sklearn.utils import check_random_state

    n_components = list(n_components)
    if not isinstance(max_rows, (int, np.integer)) or max_rows < 2:
        raise ValueError(f"max_rows must be an integer >= 2, got {max_rows!r}; e.g. max_rows=2000.")
    X = np.asarray(X, dtype=np.float64)
    rows = np.flatnonzero(sample_weight > 0)
    if X.shape[1] == 1:
        return _quantile_partitions(X[:, 0], rows, n_components)
    Z = svd_scaled(X)
    if rows.size > max_rows:
        warnings.warn(
            f"Hierarchical initialisation on a random subset of {max_rows} of {rows.size} "
            "rows (raise hierarchical_max_rows to use more; the tree costs O(rows^2)).",
            HierarchicalSubsetWarning,
            stacklevel=3,
        )
        rows = np.sort(check_random_state(random_state).choice(rows, max_rows, replace=False))
    tree_rows = Z[rows]
    cuts = cut_tree(merge_tree(tree_rows), rows.size, n_components)
    partitions: dict[int, np.ndarray | None] = {}
    for k in n_components:
        if k not in cuts:
            partitions[k] = None
        elif rows.size == Z.shape[0]:
            partitions[k] = cuts[k]
        else:
            partitions[k] = _assign_rest(Z, tree_rows, cuts[k])
    return partitions


def _quantile_partitions(x, rows, n_components) -> dict[int, np.ndarray | None]:
    """Every row's `quantile_partition` at each K, cut at the quantiles of ``x[rows]``."""
    distinct = np.unique(x[rows]).size
    return {
        k: quantile_partition(x, quantile_edges(x[rows], k)) if 1 <= k <= distinct else None
        for k in n_components
    }


def hierarchical(X, sample_weight, n_components, random_state):
    """``init_params="hierarchical"``: one-hot responsibilities from the tree cut at K."""
    labels = hierarchical_partitions(X, sample_weight, [n_components], random_state=random_state)[
        n_components
    ]
    if labels is None or np.unique(labels).size < n_components:
        raise ValueError(
            f"The hierarchical initialisation cannot make {n_components} clusters from "
            f"{X.shape[0]} rows. Use fewer components or init_params='kmeans'."
        )
    resp = np.zeros((X.shape[0], n_components), dtype=X.dtype)
    resp[np.arange(X.shape[0]), labels] = 1
    return resp
