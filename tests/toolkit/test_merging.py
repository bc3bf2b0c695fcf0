"""combine_components: the entropy criterion against brute force, the moons, labels, plot."""

import itertools

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.metrics import adjusted_rand_score

import gaussmix
from gaussmix.toolkit.merging import (
    ComponentMerging,
    best_merge,
    classification_entropy,
    piecewise_linear_elbow,
)


def _entropy_by_definition(probabilities):
    """-sum t log t written out, with 0 log 0 = 0."""
    t = np.asarray(probabilities, dtype=float)
    logs = np.log(np.where(t > 0, t, 1.0))
    return -float((t * logs).sum())


def _merged(probabilities, a, b):
    """The probabilities with columns a and b replaced by their sum (kept at a)."""
    merged = probabilities.copy()
    merged[:, a] += merged[:, b]
    return np.delete(merged, b, axis=1)


def _brute_force_merge(probabilities):
    """Every pair merged explicitly; the pair whose merged matrix has the lowest entropy."""
    scores = {
        (a, b): _entropy_by_definition(_merged(probabilities, a, b))
        for a, b in itertools.combinations(range(probabilities.shape[1]), 2)
    }
    pair = min(scores, key=scores.get)
    return pair, scores[pair]


@pytest.fixture
def responsibilities():
    """Soft classifications of 200 rows by 6 components, some rows shared between pairs."""
    rng = np.random.default_rng(3)
    return rng.dirichlet(np.full(6, 0.3), size=200)


def test_entropy_is_minus_t_log_t(responsibilities):
    assert classification_entropy(responsibilities) == pytest.approx(
        _entropy_by_definition(responsibilities), rel=1e-12
    )


def test_best_merge_agrees_with_merging_every_pair_explicitly(responsibilities):
    a, b, entropy = best_merge(responsibilities)
    (ra, rb), reference = _brute_force_merge(responsibilities)
    assert (a, b) == (ra, rb)
    assert entropy == pytest.approx(reference, rel=1e-10)


def test_every_level_of_the_hierarchy_agrees_with_brute_force(responsibilities):
    result = ComponentMerging(responsibilities)
    columns = responsibilities.copy()
    groups = [(k,) for k in range(6)]
    for step in result.steps_:
        (a, b), entropy = _brute_force_merge(columns)
        assert {step.merged[0], step.merged[1]} == {groups[a], groups[b]}
        assert step.entropy == pytest.approx(entropy, rel=1e-10, abs=1e-10)
        columns = _merged(columns, a, b)
        groups[a] = tuple(sorted(groups[a] + groups[b]))
        del groups[b]
        n = columns.shape[1]
        assert sorted(result.clusters(n)) == sorted(groups)
        np.testing.assert_allclose(
            np.sort(result.probabilities(n).sum(axis=0)), np.sort(columns.sum(axis=0))
        )
    assert result.entropy(1) == pytest.approx(0.0, abs=1e-9)  # one cluster: certain
    assert result.entropy(6) == pytest.approx(_entropy_by_definition(responsibilities))
    assert np.all(np.diff(result.entropies_) >= -1e-12)  # merging never raises entropy


def test_labels_probabilities_and_cluster_order(responsibilities):
    result = ComponentMerging(responsibilities)
    for n in range(1, 7):
        probabilities = result.probabilities(n)
        assert probabilities.shape == (200, n)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
        np.testing.assert_array_equal(result.labels(n), probabilities.argmax(axis=1))
        weights = probabilities.sum(axis=0)
        assert np.all(np.diff(weights) <= 1e-12)  # cluster 0 is the heaviest
        components = sorted(k for cluster in result.clusters(n) for k in cluster)
        assert components == list(range(6))


def test_moons_fitted_by_bic_merge_back_into_the_two_moons():
    """The chapter's moons (the demo's data): BIC wants several components; merged to
    two they are the moons."""
    X, y = make_moons(300, noise=0.1, random_state=42)
    model = gaussmix.select_model(X, n_components=range(1, 10), random_state=0).best_estimator_
    assert model.n_components > 2
    merging = gaussmix.combine_components(model, X)
    assert adjusted_rand_score(y, merging.labels(2)) >= 0.95
    assert adjusted_rand_score(y, model.predict(X)) < 0.6  # the components alone are not


def test_elbow_finds_the_break_of_a_two_segment_line():
    x = np.arange(1, 9)
    y = np.where(x <= 3, 2.0 * x, 6.0 + 9.0 * (x - 3))
    assert piecewise_linear_elbow(x, y) == 3
    noisy = y + np.random.default_rng(0).normal(0, 0.2, x.size)
    assert piecewise_linear_elbow(x, noisy) == 3


def test_elbow_of_a_result_and_of_too_few_components():
    rng = np.random.default_rng(1)
    assert ComponentMerging(rng.dirichlet([1, 1], size=50)).elbow() == 2
    result = ComponentMerging(rng.dirichlet(np.ones(5), size=50))
    assert 2 <= result.elbow() <= 4


def test_table_lists_every_merge(responsibilities):
    table = ComponentMerging(responsibilities).table()
    assert list(table.index) == [6, 5, 4, 3, 2, 1]
    assert table["merged"].iloc[0] == "" and " with " in table["merged"].iloc[1]
    np.testing.assert_allclose(
        table["entropy_change"].iloc[1:], -np.diff(table["entropy"].to_numpy())
    )


def test_plot_draws_the_entropies_and_the_elbow(responsibilities):
    result = ComponentMerging(responsibilities)
    figure = result.plot()
    left, right = figure.axes
    np.testing.assert_allclose(left.lines[0].get_ydata(), result.entropies_)
    assert left.lines[-1].get_xdata()[0] == result.elbow()  # the vertical elbow line
    heights = [patch.get_height() for patch in right.patches]
    np.testing.assert_allclose(heights, [s.normalized_entropy_change for s in result.steps_])


def test_merged_clusters_figure_colours_each_cluster():
    X, _ = make_moons(200, noise=0.1, random_state=0)
    model = gaussmix.GaussianMixture(4, random_state=0).fit(X)
    result = gaussmix.combine_components(model, X)
    ax = gaussmix.plot.merged_clusters(result, X, 2)
    sizes = [len(c.get_offsets()) for c in ax.collections]
    assert sizes == list(np.bincount(result.labels(2), minlength=2))


@pytest.mark.parametrize("n_clusters", [0, 7, 2.0, "2", True])
def test_bad_number_of_clusters_is_refused(responsibilities, n_clusters):
    with pytest.raises(ValueError, match="n_clusters must be an integer from 1 to 6"):
        ComponentMerging(responsibilities).labels(n_clusters)


def test_unfitted_or_foreign_models_are_refused():
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match="not fitted"):
        gaussmix.combine_components(gaussmix.GaussianMixture(2), X)
    with pytest.raises(ValueError, match="needs a fitted gaussmix mixture"):
        gaussmix.combine_components(object(), X)


def test_noise_component_is_refused():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (100, 2)), rng.uniform(-8, 8, (10, 2))])
    model = gaussmix.GaussianMixture(2, noise=True, random_state=0).fit(X)
    with pytest.raises(ValueError, match="noise component"):
        gaussmix.combine_components(model, X)


def test_piecewise_fit_needs_three_points():
    with pytest.raises(ValueError, match="at least 3"):
        piecewise_linear_elbow([1, 2], [0, 1])
