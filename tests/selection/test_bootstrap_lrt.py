"""Bootstrap LRT: decisions on data with a known number of components."""

import numpy as np
import pytest
from joblib import parallel_config

from gaussmix import bootstrap_lrt


def _blobs(centres, n_per, seed):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(c, 1.0, (n_per, 2)) for c in centres])


def test_two_separated_clusters_reject_one_component():
    X = _blobs([[0, 0], [8, 8]], 60, seed=0)
    result = bootstrap_lrt(X, "VII", max_components=2, n_boot=9, random_state=0)
    row = result.table_.loc[1]
    # The observed statistic beats every bootstrap one: the smallest possible p-value.
    assert row["p_value"] == pytest.approx(1 / (1 + row["n_boot"]))
    assert row["statistic"] > result.bootstrap_statistics_[1].max()


def test_one_cluster_does_not_reject():
    X = _blobs([[0, 0]], 120, seed=1)
    result = bootstrap_lrt(X, "VII", max_components=2, n_boot=19, random_state=1)
    assert result.table_.loc[1, "p_value"] > 0.05
    assert "1 component(s)" in result.summary()


def test_statistic_is_twice_the_log_likelihood_gain():
    from gaussmix import GaussianMixture

    X = _blobs([[0, 0], [5, 0]], 50, seed=2)
    result = bootstrap_lrt(X, "EII", max_components=2, n_boot=3, random_state=0, n_init=3)
    fits = [
        GaussianMixture(
            k, covariance_type="EII", n_init=3, tol=1e-5, max_iter=500, random_state=0
        ).fit(X)
        for k in (1, 2)
    ]
    expected = 2 * (fits[1].score(X) - fits[0].score(X)) * X.shape[0]
    assert result.table_.loc[1, "statistic"] == pytest.approx(expected, rel=1e-6)


def test_same_seed_same_table_whatever_n_jobs():
    X = _blobs([[0, 0], [4, 4]], 40, seed=3)
    first = bootstrap_lrt(X, "VII", max_components=2, n_boot=4, random_state=5)
    # Threads keep the test fast; replicates get the same seeds as with processes.
    with parallel_config(backend="threading"):
        second = bootstrap_lrt(X, "VII", max_components=2, n_boot=4, random_state=5, n_jobs=2)
    np.testing.assert_array_equal(first.bootstrap_statistics_[1], second.bootstrap_statistics_[1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_components": 1}, "max_components must be"),
        ({"n_boot": 0}, "n_boot must be"),
        ({"covariance_type": "ABC"}, "Unknown covariance_type"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_lrt(np.zeros((10, 2)), **kwargs)
