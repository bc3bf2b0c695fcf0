"""Memory-mapped and Parquet files are fitted chunk by chunk, never loaded whole."""

import tracemalloc

import numpy as np
import pytest
from scale_data import draw_blobs
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gaussmix import GaussianMixture, ParquetSource
from gaussmix.engine.data import MemmapSource, as_data_source


@pytest.fixture(scope="module")
def big_rows():
    """40,000 rows (~1 MB) for the out-of-core checks."""
    return draw_blobs(40_000, seed=11)


@pytest.fixture(scope="module")
def npy_file(tmp_path_factory, big_rows):
    path = tmp_path_factory.mktemp("memmap") / "rows.npy"
    np.save(path, big_rows)
    return path


def test_memmap_is_read_in_place(npy_file):
    mapped = np.load(npy_file, mmap_mode="r")
    source = as_data_source(mapped, n_components=3, check_array=np.asarray)
    assert isinstance(source, MemmapSource)
    assert np.shares_memory(source.X, mapped)
    # The estimator's own path (scikit-learn validation included) copies nothing either.
    fitted_source = GaussianMixture(3)._fit(mapped, None, None)
    assert np.shares_memory(fitted_source.X, mapped)
    assert fitted_source.sample_weight.strides == (0,)


def _peak_bytes(func):
    """Peak of Python-traced allocations (NumPy's included) while ``func()`` runs."""
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def long_rows():
    """400,000 rows: longer than one E-step chunk and than the initialisation sample."""
    return draw_blobs(400_000, seed=12)


SHORT_START = {"max_iter": 2, "tol": 0.0}


def test_memmap_fit_equals_in_memory_fit(npy_file, big_rows, start):
    expected = SklearnGaussianMixture(**start).fit(big_rows)
    gm = GaussianMixture(**start).fit(np.load(npy_file, mmap_mode="r"))
    assert gm.score(big_rows) == pytest.approx(expected.score(big_rows), rel=1e-7)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_memmap_fit_memory_does_not_grow_with_the_file(tmp_path, long_rows, start, monkeypatch):
    # One thread: with a pool, how many chunks are in flight at the peak depends on timing.
    monkeypatch.setenv("GAUSSMIX_NUM_THREADS", "1")
    peaks = []
    for n_rows in (200_000, 400_000):
        path = tmp_path / f"rows{n_rows}.npy"
        np.save(path, long_rows[:n_rows])
        mapped = np.load(path, mmap_mode="r")
        peaks.append(_peak_bytes(lambda: GaussianMixture(**start | SHORT_START).fit(mapped)))
    # Loading the file (or copying it) would add the 200,000 extra rows: 4.8 MB.
    assert peaks[1] - peaks[0] < long_rows[:200_000].nbytes / 4


def _write_parquet(path, rows, row_group_size):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {name: rows[:, j] for j, name in enumerate(["x", "y", "z"])}
        | {"label": np.arange(rows.shape[0]) % 7}
    )
    pq.write_table(table, path, row_group_size=row_group_size)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_parquet_fit_equals_in_memory_fit(tmp_path, big_rows, start):
    path = tmp_path / "rows.parquet"
    _write_parquet(path, big_rows, row_group_size=8_000)
    expected = SklearnGaussianMixture(**start).fit(big_rows)
    source = ParquetSource(path, columns=["x", "y", "z"], batch_rows=2_000)
    gm = GaussianMixture(**start).fit(source)
    assert gm.score(big_rows) == pytest.approx(expected.score(big_rows), rel=1e-7)
    assert gm.score(source) == pytest.approx(expected.score(big_rows), rel=1e-7)
    assert list(gm.feature_names_in_) == ["x", "y", "z"]
    np.testing.assert_array_equal(gm.predict(source), expected.predict(big_rows))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_parquet_fit_memory_does_not_grow_with_the_file(tmp_path, long_rows, start, monkeypatch):
    monkeypatch.setenv("GAUSSMIX_NUM_THREADS", "1")
    peaks = []
    for n_rows in (200_000, 400_000):
        path = tmp_path / f"rows{n_rows}.parquet"
        _write_parquet(path, long_rows[:n_rows], row_group_size=50_000)
        source = ParquetSource(path, columns=["x", "y", "z"], batch_rows=4_096)
        peaks.append(_peak_bytes(lambda: GaussianMixture(**start | SHORT_START).fit(source)))
    assert peaks[1] - peaks[0] < long_rows[:200_000].nbytes / 4


def test_parquet_weight_column_equals_sample_weight(tmp_path, big_rows, start):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = big_rows[:6000]
    weights = np.random.default_rng(2).integers(0, 4, rows.shape[0]).astype(float)
    path = tmp_path / "weighted.parquet"
    pq.write_table(
        pa.table({"x": rows[:, 0], "y": rows[:, 1], "z": rows[:, 2], "w": weights}),
        path,
        row_group_size=1000,
    )
    # Integer weights are repeated rows: sklearn on the repeated data is the reference.
    expected = SklearnGaussianMixture(**start).fit(np.repeat(rows, weights.astype(int), axis=0))
    gm = GaussianMixture(**start).fit(ParquetSource(path, weight_column="w"))
    np.testing.assert_allclose(gm.means_, expected.means_, rtol=1e-6)
    assert gm.n_features_in_ == 3


def test_parquet_source_explains_bad_columns(tmp_path, big_rows):
    pytest.importorskip("pyarrow")
    path = tmp_path / "rows.parquet"
    _write_parquet(path, big_rows[:100], row_group_size=50)
    with pytest.raises(ValueError, match="not in"):
        ParquetSource(path, columns=["x", "nope"])
    with pytest.raises(ValueError, match="does not exist"):
        ParquetSource(tmp_path / "missing.parquet")
    with pytest.raises(TypeError, match="weight column"):
        GaussianMixture(2).fit(ParquetSource(path), sample_weight=np.ones(100))


def _blas_threads_in_batch(X, w):
    from threadpoolctl import threadpool_info

    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return np.array([max(counts)])


def test_parquet_batches_run_with_one_blas_thread(tmp_path, big_rows, monkeypatch):
    pytest.importorskip("threadpoolctl")
    path = tmp_path / "rows.parquet"
    _write_parquet(path, big_rows[:8000], row_group_size=2_000)
    source = ParquetSource(path, columns=["x", "y", "z"], batch_rows=1_000)
    for threads in ("1", "3"):
        monkeypatch.setenv("GAUSSMIX_NUM_THREADS", threads)
        # Eight batches, each saw one BLAS thread (the sum of the per-batch counts).
        assert source.map_reduce(_blas_threads_in_batch).item() == 8


def test_parquet_sums_do_not_depend_on_the_threads(tmp_path, big_rows, monkeypatch):
    path = tmp_path / "rows.parquet"
    _write_parquet(path, big_rows, row_group_size=8_000)
    source = ParquetSource(path, columns=["x", "y", "z"], batch_rows=2_000)

    def moments(X, w):
        return np.concatenate([[w.sum()], w @ X, ((w[:, None] * X).T @ X).ravel()])

    totals = {}
    for threads in ("1", "4"):
        monkeypatch.setenv("GAUSSMIX_NUM_THREADS", threads)
        totals[threads] = source.map_reduce(moments)
    # Added in file order whatever the threads: the same bits.
    np.testing.assert_array_equal(totals["1"], totals["4"])
    expected = np.concatenate(
        [[big_rows.shape[0]], big_rows.sum(axis=0), (big_rows.T @ big_rows).ravel()]
    )
    np.testing.assert_allclose(totals["4"], expected, rtol=1e-12)
