"""Damaged Parquet files: one clear error naming the file and the row group, before fitting."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gaussmix import GaussianMixture, ParquetSource
from gaussmix.engine.data import CorruptParquetError

N_ROWS, GROUP_ROWS = 3000, 1000


@pytest.fixture
def intact(tmp_path):
    X = np.random.default_rng(0).normal(size=(N_ROWS, 3))
    path = tmp_path / "intact.parquet"
    table = pa.table({name: X[:, j] for j, name in enumerate("abc")})
    pq.write_table(table, path, row_group_size=GROUP_ROWS, compression="none")
    return path


def _chunk_start(path, group, column=0):
    meta = pq.ParquetFile(path).metadata.row_group(group).column(column)
    offsets = [meta.data_page_offset]
    if meta.has_dictionary_page and meta.dictionary_page_offset:
        offsets.append(meta.dictionary_page_offset)
    return min(offsets)


def _copy(source, target, edit):
    data = bytearray(source.read_bytes())
    target.write_bytes(bytes(edit(data)))
    return target


def test_the_intact_file_is_read(intact):
    assert ParquetSource(intact).n_samples == N_ROWS


def test_a_truncated_file_names_the_file_and_its_footer(intact, tmp_path):
    path = _copy(intact, tmp_path / "cut.parquet", lambda data: data[: len(data) // 2])
    with pytest.raises(CorruptParquetError, match=r"cut\.parquet.*footer") as caught:
        ParquetSource(path)
    assert isinstance(caught.value, ValueError)
    assert "damaged" in str(caught.value)


def test_a_footer_that_points_past_the_data_names_the_row_group(intact, tmp_path):
    """The last row group cut short, the footer (intact) appended again."""
    footer_length = pq.ParquetFile(intact).metadata.serialized_size + 8
    cut_at = _chunk_start(intact, 2) + 100

    def cut(data):
        return data[:cut_at] + data[-footer_length:]

    path = _copy(intact, tmp_path / "short.parquet", cut)
    with pytest.raises(CorruptParquetError, match=r"short\.parquet.*row group 2 of 3"):
        ParquetSource(path)


def test_overwritten_page_bytes_name_the_row_group_when_read(intact, tmp_path):
    start = _chunk_start(intact, 1)

    def overwrite(data):
        data[start : start + 16] = b"\xff" * 16  # the page header: thrift cannot decode it
        return data

    path = _copy(intact, tmp_path / "overwritten.parquet", overwrite)
    source = ParquetSource(path)  # the footer is intact: the damage shows when read
    estimator = GaussianMixture(2, random_state=0)
    with pytest.raises(CorruptParquetError, match=r"overwritten\.parquet.*row group 1 of 3"):
        estimator.fit(source)
    assert not hasattr(estimator, "means_") and not hasattr(estimator, "converged_")


def test_a_refit_on_a_damaged_file_keeps_the_previous_model(intact, tmp_path):
    start = _chunk_start(intact, 0)

    def overwrite(data):
        data[start : start + 16] = b"\x00\x13" * 8
        return data

    path = _copy(intact, tmp_path / "damaged.parquet", overwrite)
    estimator = GaussianMixture(2, random_state=0).fit(ParquetSource(intact))
    means = estimator.means_.copy()
    with pytest.raises(CorruptParquetError, match="row group 0 of 3"):
        estimator.fit(ParquetSource(path))
    np.testing.assert_array_equal(estimator.means_, means)
