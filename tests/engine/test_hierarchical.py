"""Model-based hierarchical initialisation: against a brute-force agglomeration."""

import itertools

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from gaussmix import GaussianMixture
from gaussmix.engine.core.hierarchical import (
    HierarchicalSubsetWarning,
    cut_tree,
    hierarchical,
    hierarchical_partitions,
    merge_tree,
    quantile_edges,
    quantile_partition,
    svd_scaled,
)


def _criterion(Z, labels, alpha):
    """Fraley's regularised VVV criterion, written out directly from its definition:
    sum_k n_k log(det(W_k / n_k) [only when n_k > d] + (tr W_k + alpha) / n_k)."""
    total = 0.0
    d = Z.shape[1]
    for k in np.unique(labels):
        members = Z[labels == k]
        centred = members - members.mean(axis=0)
        scatter = centred.T @ centred
        n_k = members.shape[0]
        determinant = np.linalg.det(scatter / n_k) if n_k > d else 0.0
        total += n_k * np.log(determinant + (np.trace(scatter) + alpha) / n_k)
    return total


def _brute_force_partitions(Z):
    """Greedy agglomeration trying every pair at every step (slow, obviously right)."""
    alpha = np.sum((Z - Z.mean(axis=0)) ** 2) / Z.size
    labels = np.arange(Z.shape[0])
    partitions = {Z.shape[0]: labels.copy()}
    while np.unique(labels).size > 1:
        clusters = np.unique(labels)
        best = None
        for a, b in itertools.combinations(clusters, 2):
            trial = np.where(labels == b, a, labels)
            value = _criterion(Z, trial, alpha)
            if best is None or value < best[0] - 1e-12:
                best = (value, trial)
        labels = best[1]
        partitions[np.unique(labels).size] = labels.copy()
    return partitions


def _same_partition(a, b):
    return adjusted_rand_score(a, b) == 1.0


def test_tree_matches_brute_force_agglomeration():
    rng = np.random.default_rng(0)
    Z = np.vstack([rng.normal(0, 1, (6, 2)), rng.normal(4, 0.5, (6, 2))])
    expected = _brute_force_partitions(Z)
    ours = cut_tree(merge_tree(Z), Z.shape[0], range(1, Z.shape[0] + 1))
    for k in range(1, Z.shape[0] + 1):
        assert _same_partition(ours[k], expected[k]), k


def test_tied_merges_are_taken_in_mclusts_order():
    # Two pairs of identical rows: merging either pair costs exactly the same. mclust
    # takes the last tied pair in its order (0, 1), (0, 2), (1, 2), (0, 3), ...: rows 2
    # and 3, and then rows 0 and 1.
    Z = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.0, 5.0]])
    cuts = cut_tree(merge_tree(Z), 4, [2, 3])
    assert _same_partition(cuts[3], [0, 1, 2, 2])
    assert _same_partition(cuts[2], [0, 0, 1, 1])


def test_the_first_merge_of_repeated_rows_is_the_last_tied_pair():
    # Rounded data repeat rows; every pair of identical rows ties for the first merge
    # (no other pair is as cheap) and mclust takes the one with the largest second row,
    # then the largest first row.
    rng = np.random.default_rng(7)
    X = np.round(rng.normal(size=(80, 2)), 1)
    X = np.vstack([X, X[rng.choice(80, 6, replace=False)]])
    rng.shuffle(X)
    Z = svd_scaled(X)
    same = np.all(X[:, None, :] == X[None, :, :], axis=2) & ~np.eye(len(X), dtype=bool)
    tied = sorted((i, j) for i, j in zip(*np.nonzero(same)) if i < j)
    assert len(tied) >= 6
    expected = max(tied, key=lambda pair: (pair[1], pair[0]))
    assert tuple(sorted(merge_tree(Z)[0])) == expected


def test_cuts_are_nested_and_deterministic():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    first = hierarchical_partitions(X, np.ones(300), range(1, 8))
    second = hierarchical_partitions(X, np.ones(300), range(1, 8))
    for k in range(1, 8):
        np.testing.assert_array_equal(first[k], second[k])
        assert np.unique(first[k]).size == k
    for k in range(1, 7):
        # Every cluster of the K+1 cut lies inside one cluster of the K cut.
        for cluster in np.unique(first[k + 1]):
            assert np.unique(first[k][first[k + 1] == cluster]).size == 1


def test_separated_clusters_are_recovered():
    rng = np.random.default_rng(2)
    centres = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 5]])
    X = np.vstack([rng.normal(c, 1.0, (80, 3)) for c in centres])
    truth = np.repeat(np.arange(3), 80)
    labels = hierarchical_partitions(X, np.ones(240), [3])[3]
    assert adjusted_rand_score(truth, labels) == 1.0


def test_svd_scaling_whitens_to_the_singular_values():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3)) @ np.array([[2.0, 0.3, 0], [0, 1.0, 0.5], [0, 0, 0.2]]) + 7
    standardised = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    singular_values = np.linalg.svd(standardised, compute_uv=False)
    Z = svd_scaled(X)
    np.testing.assert_allclose(Z.T @ Z, np.diag(singular_values), atol=1e-9)


def test_subset_above_max_rows_warns_and_labels_every_row():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(0, 1, (150, 2)), rng.normal(8, 1, (150, 2))])
    with pytest.warns(HierarchicalSubsetWarning, match="random subset of 100 of 300"):
        labels = hierarchical_partitions(X, np.ones(300), [2], max_rows=100, random_state=0)[2]
    assert labels.shape == (300,)
    assert adjusted_rand_score(np.repeat([0, 1], 150), labels) == 1.0


def test_more_clusters_than_rows_gives_none():
    X = np.arange(6.0).reshape(3, 2) ** 2
    assert hierarchical_partitions(X, np.ones(3), [5])[5] is None


def test_gaussian_mixture_accepts_hierarchical_init(chapter_data):
    X, labels = chapter_data
    gm = GaussianMixture(3, init_params="hierarchical").fit(X)
    assert adjusted_rand_score(labels, gm.predict(X)) > 0.8


def test_one_feature_starts_from_quantile_classes():
    # mclust starts one-feature sweeps from quantile classes, not from a tree. On distinct
    # values with k + 1 quantiles distinct, class i is [q(i/k), q((i+1)/k)). With 144 rows
    # no quantile below falls on a row (143 (i/k) is never an integer), so rounding of i/k
    # cannot move a row across a cut.
    x = np.random.default_rng(3).gamma(2.0, size=144)
    for k in (2, 3, 5, 7):
        cuts = np.quantile(x, np.arange(1, k) / k)
        expected = np.sum(x[:, None] >= cuts[None, :], axis=1)
        labels = hierarchical_partitions(x[:, None], np.ones(x.size), [k])[k]
        assert np.array_equal(labels, expected)


def test_quantile_classes_of_tied_values_drop_the_shortest_gaps():
    # Worked by hand (R's and NumPy's default quantile: x[h], h = (n - 1) p, interpolated).
    # k = 3 needs 4 distinct cut points: 4 probabilities give 0, 2, 2, 10 (3 distinct);
    # 5 give 0, 1.5, 2, 6, 10 (5 distinct): the shortest gap, 1.5 to 2, loses its left
    # end, leaving 0, 2, 6, 10.
    x = np.array([0.0, 1.0, 2.0, 2.0, 2.0, 10.0, 10.0])
    edges = quantile_edges(x, 3)
    assert edges[1:-1] == pytest.approx([2.0, 6.0])
    assert edges[0] < 0.0 and edges[-1] > 10.0
    assert np.array_equal(quantile_partition(x, edges), [0, 0, 1, 1, 1, 2, 2])


def test_init_params_hierarchical_with_one_feature_starts_from_quantile_classes():
    # 40 rows on [0, 1], 20 on [5, 6]: a tree cuts at the gap (40 / 20), the quantile
    # classes at the median (30 / 30), as mclust's one-feature start does.
    x = np.concatenate([np.linspace(0, 1, 40), np.linspace(5, 6, 20)])[:, None]
    resp = hierarchical(x, np.ones(60), 2, random_state=0)
    assert np.array_equal(resp.argmax(axis=1), [0] * 30 + [1] * 30)
