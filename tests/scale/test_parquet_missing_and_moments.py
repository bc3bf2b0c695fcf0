"""ParquetSource's missing-value rules, row numbering, one-pass column moments, and
standardised sources."""

import numpy as np
import pytest
from scale_data import draw_blobs

from gaussmix import GaussianMixture, ParquetSource
from gaussmix.engine.data.standardized import StandardizedSource, column_moments

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _write(path, rows, row_group_size=700):
    table = pa.table({name: rows[:, j] for j, name in enumerate(["x", "y", "z"])})
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


@pytest.fixture(scope="module")
def holes(tmp_path_factory):
    """3,000 rows, about 5% of the values NaN, two rows all NaN; written with nulls."""
    rows = draw_blobs(3000, seed=3)
    rng = np.random.default_rng(4)
    rows[rng.random(rows.shape) < 0.05] = np.nan
    rows[[10, 2500]] = np.nan
    path = tmp_path_factory.mktemp("holes") / "holes.parquet"
    table = pa.table({name: pa.array(rows[:, j], from_pandas=True) for j, name in enumerate("xyz")})
    pq.write_table(table, path, row_group_size=700)
    return path, rows


def test_missing_error_names_the_options(holes):
    path, _ = holes
    source = ParquetSource(path)
    with pytest.raises(ValueError, match="missing='drop'.*missing='keep'"):
        GaussianMixture(2).fit(source)


def test_missing_drop_leaves_out_incomplete_rows_and_numbers_the_rest(holes):
    path, rows = holes
    complete = ~np.isnan(rows).any(axis=1)
    source = ParquetSource(path, missing="drop", batch_rows=256)
    assert source.n_samples == complete.sum()
    assert source.n_dropped == (~complete).sum()
    numbers, parts = [], []
    for row_numbers, X, w in source.numbered_batches():
        numbers.append(row_numbers)
        parts.append(X)
        assert w.shape == (X.shape[0],)
    np.testing.assert_array_equal(np.concatenate(numbers), np.flatnonzero(complete))
    np.testing.assert_array_equal(np.concatenate(parts), rows[complete])


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_missing_drop_fit_equals_fit_of_the_complete_rows(holes, start):
    path, rows = holes
    complete = rows[~np.isnan(rows).any(axis=1)]
    expected = GaussianMixture(**start).fit(complete)
    gm = GaussianMixture(**start).fit(ParquetSource(path, missing="drop", batch_rows=300))
    assert gm.score(complete) == pytest.approx(expected.score(complete), rel=1e-9)


@pytest.mark.filterwarnings("ignore:.*every value missing:UserWarning")
def test_missing_keep_feeds_a_marginalising_fit(holes, start):
    path, rows = holes
    expected = GaussianMixture(**start, missing="marginalize").fit(rows)
    source = ParquetSource(path, missing="keep", batch_rows=300)
    assert source.n_dropped == 2 and source.n_samples == rows.shape[0] - 2
    gm = GaussianMixture(**start, missing="marginalize").fit(source)
    # The two rows with nothing observed are left out by the source (3 values each).
    assert gm.n_missing_values_ == expected.n_missing_values_ - 6
    np.testing.assert_allclose(gm.means_, expected.means_, rtol=1e-8)
    observed = rows[~np.isnan(rows).all(axis=1)]
    assert gm.score(ParquetSource(path, missing="keep")) == pytest.approx(
        expected.score(observed), rel=1e-9
    )


def test_missing_keep_still_refuses_infinity(tmp_path):
    rows = draw_blobs(50, seed=5)
    rows[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinite"):  # found by the counting pass
        ParquetSource(_write(tmp_path / "inf.parquet", rows), missing="keep")


def test_unknown_missing_rule_is_refused(holes):
    with pytest.raises(ValueError, match="missing must be one of"):
        ParquetSource(holes[0], missing="impute")


class _ChunkedRows:
    """The smallest data source: ``map_reduce`` over 128-row chunks of an array."""

    def __init__(self, rows):
        self.rows = rows

    def map_reduce(self, func):
        parts = [
            func(self.rows[s : s + 128], np.ones(len(self.rows[s : s + 128])))
            for s in range(0, len(self.rows), 128)
        ]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total


def test_column_moments_match_numpy_with_nan(holes):
    path, rows = holes
    moments = column_moments(_ChunkedRows(rows))
    np.testing.assert_array_equal(moments.counts, (~np.isnan(rows)).sum(axis=0))
    np.testing.assert_allclose(moments.mean, np.nanmean(rows, axis=0), rtol=1e-12)
    np.testing.assert_allclose(moments.std, np.nanstd(rows, axis=0, ddof=1), rtol=1e-12)
    assert moments.n_rows == rows.shape[0]
    assert moments.n_missing_rows == np.isnan(rows).any(axis=1).sum()
    assert moments.n_empty_rows == 2
    assert moments.n_missing_values == np.isnan(rows).sum()
    # A keep source leaves out the two rows with nothing observed, nothing else.
    kept = column_moments(ParquetSource(path, missing="keep", batch_rows=100))
    np.testing.assert_array_equal(kept.counts, moments.counts)
    np.testing.assert_allclose(kept.mean, moments.mean, rtol=1e-12)
    assert kept.n_rows == rows.shape[0] - 2 and kept.n_empty_rows == 0


def test_column_moments_stay_accurate_far_from_the_origin(tmp_path):
    # A naive sum of squares loses every digit of a unit spread at 1e8; the pairwise
    # update of per-chunk moments does not.
    rows = draw_blobs(4000, seed=6) + 1e8
    moments = column_moments(ParquetSource(_write(tmp_path / "far.parquet", rows), batch_rows=333))
    np.testing.assert_allclose(moments.std, rows.std(axis=0, ddof=1), rtol=1e-7)


def test_standardized_source_transforms_every_access(tmp_path):
    rows = draw_blobs(2000, seed=7)
    source = ParquetSource(_write(tmp_path / "rows.parquet", rows), batch_rows=256)
    center, scale = rows.mean(axis=0), rows.std(axis=0)
    standardized = StandardizedSource(source, center, scale)
    expected = (rows - center) / scale
    state = np.random.RandomState(0)
    sample, _ = standardized.initialization_sample(state)
    np.testing.assert_allclose(sample, expected, rtol=1e-12, atol=1e-12)
    total = standardized.map_reduce(lambda X, w: X.sum(axis=0))
    np.testing.assert_allclose(total, expected.sum(axis=0), atol=1e-9)
    firsts = standardized.map_concatenate(lambda X: X[:, 0])
    np.testing.assert_allclose(firsts, expected[:, 0], rtol=1e-12, atol=1e-12)
    batch_rows = sum(X.shape[0] for X, _ in standardized.batches(300, state))
    assert batch_rows == rows.shape[0]
    numbered = np.concatenate([X for _, X, _ in standardized.numbered_batches()])
    np.testing.assert_allclose(numbered, expected, rtol=1e-12, atol=1e-12)


def test_standardized_source_checks_its_scale(tmp_path):
    source = ParquetSource(_write(tmp_path / "rows.parquet", draw_blobs(100, seed=8)))
    with pytest.raises(ValueError, match="positive"):
        StandardizedSource(source, np.zeros(3), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        StandardizedSource(source, np.zeros(2), np.ones(2))


def test_row_sample_is_distinct_uniform_and_small_for_huge_sources():
    from gaussmix.engine.data.arrays import sample_row_indices

    state = np.random.RandomState(0)
    rows = sample_row_indices(10**12, 1000, state)  # a permutation would need 8 TB
    assert rows.shape == (1000,) and np.all(np.diff(rows) > 0)
    assert rows[0] >= 0 and rows[-1] < 10**12
    # Uniform: 20 distinct rows of 200 (the de-duplicating branch), drawn 3000 times,
    # pick every row about 300 times.
    counts = np.zeros(200)
    for _ in range(3000):
        drawn = sample_row_indices(200, 20, state)
        assert np.unique(drawn).size == 20
        counts[drawn] += 1
    expected = 3000 * 20 / 200
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 270  # 199 degrees of freedom: P(chi2 > 270) < 1e-3
    np.testing.assert_array_equal(sample_row_indices(7, 10, state), np.arange(7))
