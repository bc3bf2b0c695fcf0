"""A Dask cluster that loses every worker: a bounded wait, a clear error, the estimator unchanged."""

import threading
import time

import dask
import numpy as np
import pytest

from gaussmix import GaussianMixture
from gaussmix.engine.data import dask_source
from gaussmix.engine.data.dask_source import WorkersLostError, no_workers_timeout

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

WAIT = 1  # seconds without a worker before the fit gives up


@pytest.fixture
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield cluster, client


@pytest.fixture
def rows():
    X = np.random.default_rng(0).normal(size=(4000, 3))
    X[:2000] += 6
    return X


def _close_all_workers(cluster, client):
    cluster.scale(0)
    deadline = time.monotonic() + 10
    while client.nthreads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not client.nthreads()


def test_a_cluster_without_workers_fails_the_fit_within_the_wait(cluster, rows):
    cluster, client = cluster
    X = da.from_array(rows, chunks=(1000, -1))
    estimator = GaussianMixture(2, random_state=0).fit(X)
    previous = {name: np.copy(getattr(estimator, name)) for name in ("means_", "weights_")}
    _close_all_workers(cluster, client)
    started = time.monotonic()
    with dask.config.set({"gaussmix.no-workers-timeout": WAIT}):
        with pytest.raises(WorkersLostError, match=r"no worker for 1 s.*as it was"):
            estimator.fit(X)
    assert time.monotonic() - started < WAIT + 5
    for name, value in previous.items():
        np.testing.assert_array_equal(getattr(estimator, name), value)


def test_workers_closed_mid_fit_fail_the_fit_within_the_wait(cluster, rows, monkeypatch):
    # The workers are closed while the fourth pass over the rows (an EM iteration) is
    # being submitted, from another thread as a cluster manager would. The fit's length is
    # bounded, so a fit that does not notice fails this test instead of running on.
    cluster, client = cluster
    X = da.from_array(rows, chunks=(500, -1))
    real_compute = dask_source.compute
    passes = []

    def compute_while_the_workers_are_closed(*collections):
        passes.append(len(passes) + 1)
        if len(passes) == 4:
            closer = threading.Thread(target=_close_all_workers, args=(cluster, client))
            closer.start()
            try:
                return real_compute(*collections)
            finally:
                closer.join(timeout=30)
        return real_compute(*collections)

    monkeypatch.setattr(dask_source, "compute", compute_while_the_workers_are_closed)
    estimator = GaussianMixture(2, tol=0, max_iter=30, random_state=0)
    with dask.config.set({"gaussmix.no-workers-timeout": WAIT}):
        with pytest.raises(WorkersLostError, match=r"no worker for 1 s"):
            estimator.fit(X)
    assert 4 <= len(passes) <= 5
    assert not hasattr(estimator, "converged_")


def test_the_wait_is_read_from_dask_configuration():
    with dask.config.set({"gaussmix.no-workers-timeout": "2 minutes"}):
        assert no_workers_timeout() == 120
    with dask.config.set({"gaussmix.no-workers-timeout": 0}):
        with pytest.raises(ValueError, match="positive duration"):
            no_workers_timeout()
