"""The default start (``init_params="best-of-kmeans"``) and where the rows live.

The reference optimum is independent of any initialiser: EM started from the mixture
that generated the data.
"""

import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gaussmix import GaussianMixture, ParquetSource
from gaussmix.engine.core import candidates
from gaussmix.engine.core.candidates import LikelihoodJudge, best_of_kmeans

SEEDS = range(10)


def eight_components(n_samples, seed=0):
    """Rows of a 16-d mixture of 8 diagonal Gaussians (`benchmarks/bench_scale.py`'s)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=3.0, size=(8, 16))
    scales = rng.uniform(0.5, 1.5, size=(8, 16))
    weights = rng.dirichlet(np.full(8, 5.0))
    labels = rng.choice(8, size=n_samples, p=weights)
    X = means[labels] + scales[labels] * rng.standard_normal((n_samples, 16))
    truth = dict(
        weights_init=weights,
        means_init=means,
        precisions_init=np.stack([np.diag(1 / s**2) for s in scales]),
    )
    return X, truth


@pytest.fixture(scope="module")
def tricky():
    """2,000 rows where two components lie close enough for k-means to merge them."""
    X, truth = eight_components(2000)
    best = GaussianMixture(8, **truth).fit(X).score(X)
    return X, best


def _scores(X, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array(
            [GaussianMixture(8, random_state=seed, **settings).fit(X).score(X) for seed in SEEDS]
        )


def test_one_kmeans_start_can_end_in_a_worse_optimum(tricky):
    """The problem the default solves: scikit-learn's single k-means start."""
    X, best = tricky
    scores = _scores(X, init_params="kmeans")
    assert np.sum(scores < best - 1e-3 * abs(best)) >= 2


def test_the_default_reaches_the_best_optimum_for_every_seed(tricky):
    X, best = tricky
    assert GaussianMixture().init_params == "best-of-kmeans"
    scores = _scores(X)
    np.testing.assert_array_less(best - 1e-3 * abs(best), scores)


def test_kmeans_still_starts_where_scikit_learn_starts(tricky):
    X, _ = tricky
    settings = dict(n_components=8, init_params="kmeans", random_state=1, max_iter=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = GaussianMixture(**settings).fit(X)
        theirs = SklearnGaussianMixture(**settings).fit(X)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-10, atol=1e-10)


def test_candidates_are_judged_by_the_likelihood_on_every_row(monkeypatch):
    """Candidates built on a subsample; the finalists are scored on all rows, in one pass."""
    monkeypatch.setattr(candidates, "CANDIDATE_ROWS", 500)  # 200 rows per component: 1,600
    X, _ = eight_components(3000, seed=3)
    w = np.ones(len(X))
    seen = []

    class Recorder:
        n_samples = 10**9  # "more rows than the sample": the source must be read

        def map_reduce(self, func):
            seen.append(func(X, w))
            return seen[-1]

    judge = LikelihoodJudge(_params_from, Recorder())
    resp = best_of_kmeans(X, w, 8, np.random.RandomState(0), judge)
    assert len(seen) == 1 and len(seen[0]) == candidates.N_FINALISTS
    assert resp.shape == (3000, 8) and np.all(resp.sum(axis=1) == 1)


def _full():
    from gaussmix.engine.covariance.models import get_covariance_model

    return get_covariance_model("full")


def _params_from(X, w, resp):
    from gaussmix.engine.core.candidates import partition_start
    from gaussmix.engine.core.mstep import m_step

    return partition_start(m_step, _full(), 1e-6)(X, w, resp)


# ---------------------------------------------------------------------- where the rows live
def _sources(X, tmp_path):
    import dask.array as da

    path = tmp_path / "rows.npy"
    np.save(path, X)
    table = pa.table({f"x{j}": X[:, j] for j in range(X.shape[1])})
    pq.write_table(table, tmp_path / "rows.parquet", row_group_size=700)
    return {
        "memory": X,
        "memmap": np.load(path, mmap_mode="r"),
        "parquet": ParquetSource(tmp_path / "rows.parquet"),
        "dask": da.from_array(X, chunks=(600, -1)),
    }


@pytest.mark.parametrize("init_params", ["best-of-kmeans", "kmeans", "k-means++"])
def test_the_same_seed_starts_the_same_wherever_the_rows_live(tmp_path, init_params):
    X, _ = eight_components(2500, seed=5)
    starts = {}
    for kind, rows in _sources(X, tmp_path).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = GaussianMixture(8, init_params=init_params, random_state=7, max_iter=0).fit(
                rows
            )
        starts[kind] = (fitted.weights_, fitted.means_, fitted.covariances_)
    for kind, start in starts.items():
        for ours, reference in zip(start, starts["memory"], strict=True):
            np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-12, err_msg=kind)
