"""Dask input: the same model as in memory, lazy per-row results, work done on workers."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gaussmix import GaussianMixture

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

PRECISIONS_INIT = {
    "full": lambda d: np.stack([np.eye(d)] * 3),
    "diag": lambda d: np.ones((3, d)),
    "spherical": lambda d: np.ones(3),
    "tied": lambda d: np.eye(d),
}


def _start(start, covariance_type):
    return {
        **start,
        "covariance_type": covariance_type,
        "precisions_init": PRECISIONS_INIT[covariance_type](3),
    }


@pytest.mark.parametrize("covariance_type", sorted(PRECISIONS_INIT))
def test_dask_fit_equals_sklearn_in_memory_fit(blobs, start, covariance_type):
    kwargs = _start(start, covariance_type)
    expected = SklearnGaussianMixture(**kwargs).fit(blobs)
    with dask.config.set(scheduler="threads"):
        gm = GaussianMixture(**kwargs).fit(da.from_array(blobs, chunks=(700, 3)))
        score = gm.score(da.from_array(blobs, chunks=(500, 3)))
    assert score == pytest.approx(expected.score(blobs), rel=1e-7)
    np.testing.assert_allclose(gm.means_, expected.means_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gm.covariances_, expected.covariances_, rtol=1e-6, atol=1e-8)
    assert gm.n_iter_ == expected.n_iter_


def test_dask_criteria_and_weights_match_in_memory(blobs, start):
    weights = np.random.default_rng(3).uniform(0.2, 2.0, blobs.shape[0])
    in_memory = GaussianMixture(**start).fit(blobs, sample_weight=weights)
    X = da.from_array(blobs, chunks=(640, 3))
    lazy = GaussianMixture(**start).fit(X, sample_weight=da.from_array(weights, chunks=1000))
    assert lazy.score(X) == pytest.approx(in_memory.score(blobs), rel=1e-7)
    assert lazy.bic(X, sample_weight=weights) == pytest.approx(
        in_memory.bic(blobs, sample_weight=weights), rel=1e-7
    )
    assert lazy.aic(X) == pytest.approx(in_memory.aic(blobs), rel=1e-7)


def test_predictions_on_dask_are_lazy_and_chunked_like_the_input(blobs, start):
    gm = GaussianMixture(**start).fit(blobs)
    X = da.from_array(blobs, chunks=(800, 3))
    results = {
        "predict": (gm.predict(X), gm.predict(blobs)),
        "predict_proba": (gm.predict_proba(X), gm.predict_proba(blobs)),
        "score_samples": (gm.score_samples(X), gm.score_samples(blobs)),
        "uncertainty": (gm.uncertainty(X), gm.uncertainty(blobs)),
    }
    for name, (lazy, eager) in results.items():
        assert isinstance(lazy, da.Array), name
        assert lazy.chunks[0] == X.chunks[0], name
        np.testing.assert_allclose(lazy.compute(), eager, rtol=1e-12, err_msg=name)


def test_dask_dataframe_of_numeric_columns_keeps_feature_names(blobs, start):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(blobs, columns=["a", "b", "c"])
    gm = GaussianMixture(**start).fit(dd.from_pandas(frame, npartitions=3))
    expected = SklearnGaussianMixture(**start).fit(blobs)
    assert list(gm.feature_names_in_) == ["a", "b", "c"]
    assert gm.score(frame) == pytest.approx(expected.score(blobs), rel=1e-7)
    labels = gm.predict(dd.from_pandas(frame, npartitions=2))
    np.testing.assert_array_equal(labels.compute(), expected.predict(blobs))


def test_initialisation_from_a_bounded_sample_is_reproducible(blobs):
    X = da.from_array(blobs, chunks=(500, 3))
    first = GaussianMixture(3, random_state=5).fit(X)
    second = GaussianMixture(3, random_state=5).fit(X)
    np.testing.assert_array_equal(first.means_, second.means_)
    truth = np.array(sorted(map(tuple, [[0, 0, 0], [5, 5, 0], [-4, 5, 3]])))
    np.testing.assert_allclose(np.array(sorted(map(tuple, first.means_))), truth, atol=0.2)


def test_bad_dask_input_gets_a_helpful_message(start):
    gm = GaussianMixture(**start)
    with pytest.raises(ValueError, match="NaN"):
        gm.fit(da.from_array(np.full((50, 3), np.nan), chunks=25))
    with pytest.raises(ValueError, match="2-d"):
        gm.fit(da.ones(30, chunks=10))
    with pytest.raises(TypeError, match="batch_size"):
        GaussianMixture(3, batch_size=10).fit(da.ones((30, 3), chunks=10))


def test_fit_runs_on_the_workers_of_a_local_cluster(blobs, start):
    distributed = pytest.importorskip("distributed")
    start = {**start, "tol": 1e-4}  # fewer round trips; the reference uses the same tol
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        X = da.from_array(blobs, chunks=(500, 3)).persist()
        with distributed.get_task_stream(client) as stream:
            gm = GaussianMixture(**start).fit(X)
        expected = SklearnGaussianMixture(**start).fit(blobs)
        assert gm.score(X) == pytest.approx(expected.score(blobs), rel=1e-7)
        statistics_tasks = [task for task in stream.data if "_apply" in str(task["key"])]
        workers = {task["worker"] for task in statistics_tasks}
        assert len(statistics_tasks) >= gm.n_iter_ * X.numblocks[0]
        assert workers <= set(client.scheduler_info()["workers"]) and len(workers) == 2
        # The nanny asked for eager trimming, and gaussmix's tasks undid it on each worker.
        states = client.run(_allocator_state)
        assert list(states.values()) == [(True, True)] * 2


def _allocator_state():
    from gaussmix.engine.data import worker_settings

    return worker_settings._eager_trimming_requested(), worker_settings._done


def test_partial_fit_and_fit_predict_on_dask_follow_the_in_memory_path(blobs, start):
    X = da.from_array(blobs, chunks=(700, 3))
    lazy = GaussianMixture(**start).partial_fit(X).partial_fit(X[:1000])
    eager = GaussianMixture(**start).partial_fit(blobs).partial_fit(blobs[:1000])
    assert lazy.n_steps_ == eager.n_steps_ == 2
    np.testing.assert_allclose(lazy.means_, eager.means_, rtol=1e-9)
    labels = GaussianMixture(**start).fit_predict(X)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(
        labels.compute(), SklearnGaussianMixture(**start).fit_predict(blobs)
    )


@pytest.mark.parametrize(
    "environment, expected", [({"MALLOC_TRIM_THRESHOLD_": "65536"}, True), ({}, False)]
)
def test_worker_allocator_is_tuned_once_where_trimming_was_asked_for(environment, expected):
    import os
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's mallopt")
    code = (
        "from gaussmix.engine.data.worker_settings import tune_worker_allocator as t; "
        "print(t(), t())"
    )
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"} | environment
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [str(expected), "False"]
