"""Values that are not data: the same refusal, naming the column, from every source."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gaussmix import GaussianMixture, ParquetSource
from gaussmix.engine.data import MissingValuesError, ValueMagnitudeError
from gaussmix.engine.data.values import magnitude_limit

COLUMNS = [f"c{j}" for j in range(16)]
N_ROWS = 2000


def _rows(bad_column=5, bad_row=1234, value=-3.2e272):
    X = np.random.default_rng(0).normal(size=(N_ROWS, len(COLUMNS)))
    X[bad_row, bad_column] = value
    return X


def _parquet(X, path, **columns):
    table = pa.table({name: X[:, j] for j, name in enumerate(COLUMNS)} | columns)
    pq.write_table(table, path, row_group_size=500)
    return path


def _inputs(X, tmp_path):
    import dask.array as da
    import pandas as pd

    np.save(tmp_path / "rows.npy", X)
    return {
        "numpy": X,
        "dataframe": pd.DataFrame(X, columns=COLUMNS),
        "memmap": np.load(tmp_path / "rows.npy", mmap_mode="r"),
        "parquet": ParquetSource(_parquet(X, tmp_path / "rows.parquet")),
        "dask": da.from_array(X, chunks=(300, -1)),
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_below_the_limit_the_sums_of_squares_stay_finite(dtype):
    n_samples, n_features = 1000, 4
    limit = magnitude_limit(dtype, n_samples, n_features)
    X = np.full((n_samples, n_features), 0.999 * limit, dtype=dtype)
    X[::2] *= -1  # centred values as large as the values: the worst case
    with np.errstate(over="raise"):
        total = np.sum((X - X.mean(axis=0, dtype=dtype)) ** 2, dtype=dtype)
    assert np.isfinite(total)
    with pytest.raises(FloatingPointError), np.errstate(over="raise"):
        np.sum((X * dtype(2.5)) ** 2, dtype=dtype)  # beyond it they overflow


def test_every_source_refuses_the_value_with_the_same_message(tmp_path):
    messages = {}
    for kind, X in _inputs(_rows(), tmp_path).items():
        estimator = GaussianMixture(2, random_state=0)
        with pytest.raises(ValueMagnitudeError) as caught:
            estimator.fit(X)
        assert isinstance(caught.value, ValueError)
        assert not hasattr(estimator, "converged_")
        messages[kind] = str(caught.value)
    for kind, message in messages.items():
        assert "-3.2e+272" in message or "3.2e+272" in message, (kind, message)
        assert "would overflow float64" in message, (kind, message)
    # Sources that know the column names say them; plain arrays number the column.
    for kind in ("dataframe", "parquet"):
        assert "column 'c5'" in messages[kind], messages[kind]
    for kind in ("numpy", "memmap", "dask"):
        assert "column 5 (0-based)" in messages[kind], messages[kind]
    reference = messages["numpy"].split("; ", 1)[1]
    for kind in ("memmap", "dask"):
        assert messages[kind].split("; ", 1)[1] == reference


def test_a_value_below_the_limit_is_fitted(tmp_path):
    limit = magnitude_limit(np.float64, N_ROWS, len(COLUMNS))
    X = _rows(value=limit / 10) / 1.0
    GaussianMixture(1).fit(ParquetSource(_parquet(X, tmp_path / "fine.parquet")))


def test_missing_values_error_names_only_the_columns_with_nulls(tmp_path):
    X = np.random.default_rng(1).normal(size=(N_ROWS, len(COLUMNS)))
    table = pa.table(
        {name: X[:, j] for j, name in enumerate(COLUMNS)}
        | {"c3": pa.array([None if i == 17 else v for i, v in enumerate(X[:, 3])])}
    )
    pq.write_table(table, tmp_path / "holes.parquet", row_group_size=500)
    with pytest.raises(MissingValuesError) as caught:
        GaussianMixture(2).fit(ParquetSource(tmp_path / "holes.parquet"))
    message = str(caught.value)
    assert "['c3']" in message
    assert not any(f"'{name}'" in message for name in COLUMNS if name != "c3")


def test_missing_weights_name_the_weight_column(tmp_path):
    X = np.random.default_rng(2).normal(size=(N_ROWS, len(COLUMNS)))
    weights = pa.array([None if i == 3 else 1.0 for i in range(N_ROWS)])
    path = _parquet(X, tmp_path / "weights.parquet", w=weights)
    with pytest.raises(MissingValuesError, match=r"\['w'\]"):
        GaussianMixture(2).fit(ParquetSource(path, weight_column="w"))
