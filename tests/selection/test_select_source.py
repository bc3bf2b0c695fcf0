"""select_model on a data source read in chunks: the same table as in memory."""

import numpy as np
import pandas as pd
import pytest

from gaussmix import ParquetSource, select_model
from gaussmix.datasets import load_faithful
from gaussmix.engine.data.standardized import StandardizedSource

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

MODELS = ["EII", "VVI", "EEE", "VVV"]


@pytest.fixture(scope="module")
def faithful():
    return load_faithful()


@pytest.fixture(scope="module")
def faithful_parquet(tmp_path_factory, faithful):
    path = tmp_path_factory.mktemp("sweep") / "faithful.parquet"
    # Small row groups: every EM pass reads several batches.
    pq.write_table(pa.Table.from_pandas(faithful, preserve_index=False), path, row_group_size=50)
    return path


def test_source_sweep_equals_in_memory_sweep(faithful, faithful_parquet):
    in_memory = select_model(
        faithful, n_components=range(1, 5), covariance_types=MODELS, random_state=0
    )
    chunked = select_model(
        ParquetSource(faithful_parquet, batch_rows=64),
        n_components=range(1, 5),
        covariance_types=MODELS,
        random_state=0,
    )
    pd.testing.assert_frame_equal(chunked.table_, in_memory.table_, rtol=1e-9)
    for table in ("icl_table_", "aic_table_", "loglik_table_"):
        np.testing.assert_allclose(
            getattr(chunked, table).to_numpy(), getattr(in_memory, table).to_numpy(), rtol=1e-9
        )
    assert chunked.n_samples_ == in_memory.n_samples_
    assert chunked.best_params_ == in_memory.best_params_
    np.testing.assert_array_equal(
        chunked.best_estimator_.predict(ParquetSource(faithful_parquet)),
        in_memory.best_estimator_.predict(faithful),
    )


def test_standardized_source_sweep_equals_standardized_array(faithful, faithful_parquet):
    values = faithful.to_numpy()
    center, scale = values.mean(axis=0), values.std(axis=0, ddof=1)
    expected = select_model(
        (values - center) / scale,
        n_components=[2, 3],
        covariance_types=["VVV", "EEI"],
        random_state=1,
    )
    source = StandardizedSource(ParquetSource(faithful_parquet), center, scale)
    result = select_model(
        source, n_components=[2, 3], covariance_types=["VVV", "EEI"], random_state=1
    )
    np.testing.assert_allclose(result.table_.to_numpy(), expected.table_.to_numpy(), rtol=1e-9)


def test_source_sweep_refuses_weights_noise_and_nan(faithful_parquet, tmp_path):
    source = ParquetSource(faithful_parquet)
    with pytest.raises(TypeError, match="weight column"):
        select_model(source, n_components=[2], sample_weight=np.ones(272))
    with pytest.raises(ValueError, match="noise component"):
        select_model(source, n_components=[2], covariance_types=["VVV"], noise=True)
    holes = load_faithful()
    holes.iloc[3, 0] = np.nan
    path = tmp_path / "holes.parquet"
    holes.to_parquet(path)
    with pytest.raises(ValueError, match="missing='marginalize'"):
        select_model(ParquetSource(path, missing="keep"), n_components=[2])


def test_source_sweep_marginalises_missing_values(tmp_path):
    data = load_faithful()
    data.iloc[[3, 50, 51], 0] = np.nan
    path = tmp_path / "holes.parquet"
    pq.write_table(pa.Table.from_pandas(data, preserve_index=False), path, row_group_size=40)
    expected = select_model(
        data,
        n_components=[1, 2],
        covariance_types=["VVV", "VII"],
        random_state=0,
        missing="marginalize",
    )
    result = select_model(
        ParquetSource(path, missing="keep", batch_rows=50),
        n_components=[1, 2],
        covariance_types=["VVV", "VII"],
        random_state=0,
        missing="marginalize",
    )
    np.testing.assert_allclose(result.table_.to_numpy(), expected.table_.to_numpy(), rtol=1e-8)


def test_dask_collections_are_refused_with_a_pointer():
    da = pytest.importorskip("dask.array")
    with pytest.raises(TypeError, match="Dask"):
        select_model(da.ones((100, 2), chunks=50), n_components=[1])
