"""gaussmix fit / predict on Parquet files read in row batches (--out-of-core)."""

import re

import numpy as np
import pandas as pd
import pytest

import gaussmix
from gaussmix.cli import _chunked
from gaussmix.cli.main import cli

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

SWEEP = ["--components", "1-3", "--covariance-types", "VVV,VVI,EEE", "--quiet"]


def _invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def geyser_parquet(tmp_path_factory, faithful_csv):
    """Faithful with a text column and two incomplete rows, in row groups of 40 rows."""
    data = pd.read_csv(faithful_csv).assign(site="Old Faithful")
    data.iloc[5, 0] = np.nan
    data.iloc[100, 1] = np.nan
    path = tmp_path_factory.mktemp("ooc") / "geyser.parquet"
    pq.write_table(pa.Table.from_pandas(data, preserve_index=False), path, row_group_size=40)
    return path


def _never_read_whole(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the out-of-core path must not load the file whole")

    monkeypatch.setattr(pd, "read_parquet", refuse)
    monkeypatch.setattr(pq, "read_table", refuse)
    monkeypatch.setattr(pq.ParquetFile, "read", refuse)


@pytest.mark.parametrize("extra", [[], ["--standardize"]])
def test_out_of_core_fit_equals_in_memory_fit(runner, geyser_parquet, tmp_path, extra):
    memory, chunked = tmp_path / "memory", tmp_path / "chunked"
    args = ["--missing", "drop", *SWEEP, *extra]
    assert (
        _invoke(runner, "fit", geyser_parquet, "--out", memory, "--in-memory", *args).exit_code == 0
    )
    with pytest.MonkeyPatch.context() as patch:
        _never_read_whole(patch)
        result = _invoke(runner, "fit", geyser_parquet, "--out", chunked, "--out-of-core", *args)
    assert result.exit_code == 0, result.output
    expected = pd.read_csv(memory / "selection.csv", index_col=0)
    actual = pd.read_csv(chunked / "selection.csv", index_col=0)
    np.testing.assert_allclose(actual.to_numpy(), expected.to_numpy(), rtol=1e-9)
    rows_expected = pd.read_csv(memory / "assignments.csv")
    rows_actual = pd.read_csv(chunked / "assignments.csv")
    assert list(rows_actual.columns) == list(rows_expected.columns)
    np.testing.assert_array_equal(rows_actual["row"], rows_expected["row"])
    assert 5 not in set(rows_actual["row"]) and 100 not in set(rows_actual["row"])
    np.testing.assert_array_equal(rows_actual["component"], rows_expected["component"])
    np.testing.assert_allclose(rows_actual["log_density"], rows_expected["log_density"], rtol=1e-9)
    np.testing.assert_array_equal(rows_actual["anomaly"], rows_expected["anomaly"])
    model = gaussmix.load(chunked / "model.json")
    np.testing.assert_allclose(model.means_, gaussmix.load(memory / "model.json").means_, rtol=1e-8)


def test_large_parquet_files_are_read_in_batches_by_default(
    runner, geyser_parquet, tmp_path, monkeypatch
):
    monkeypatch.setattr(_chunked, "IN_MEMORY_LIMIT_BYTES", 1000)
    _never_read_whole(monkeypatch)
    result = runner.invoke(
        cli,
        [
            "fit",
            str(geyser_parquet),
            "--out",
            str(tmp_path / "o"),
            "--missing",
            "drop",
            "--components",
            "2",
            "--covariance-types",
            "VVV",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "read in batches" in result.output
    assert "dropped 2 row(s) with missing values" in result.output
    assert "dropped non-numeric column(s): site" in result.output
    report = (tmp_path / "o" / "report.html").read_text()
    assert "read in batches" in report


def test_out_of_core_missing_values_error_and_marginalize(runner, geyser_parquet, tmp_path):
    refused = runner.invoke(
        cli, ["fit", str(geyser_parquet), "--out", str(tmp_path / "e"), "--out-of-core", *SWEEP]
    )
    assert refused.exit_code != 0
    assert "has missing or infinite values" in refused.output
    assert "--missing marginalize" in refused.output
    assert "Traceback" not in refused.output
    assert not (tmp_path / "e").exists()

    result = _invoke(
        runner,
        "fit",
        geyser_parquet,
        "--out",
        tmp_path / "m",
        "--out-of-core",
        "--missing",
        "marginalize",
        "--components",
        "2",
        "--covariance-types",
        "VVV",
    )
    assert result.exit_code == 0, result.output
    assert "2 missing value(s) in 2 row(s) were marginalised" in result.output
    rows = pd.read_csv(tmp_path / "m" / "assignments.csv")
    assert len(rows) == 272 and rows["log_density"].notna().all()


def test_out_of_core_needs_parquet(runner, faithful_csv, tmp_path):
    result = runner.invoke(
        cli, ["fit", str(faithful_csv), "--out", str(tmp_path / "o"), "--out-of-core"]
    )
    assert result.exit_code != 0
    assert "--out-of-core reads Parquet files" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_out_of_core_variational_fit(runner, geyser_parquet, tmp_path):
    result = _invoke(
        runner,
        "fit",
        geyser_parquet,
        "--out",
        tmp_path / "dp",
        "--out-of-core",
        "--missing",
        "drop",
        "--method",
        "dp",
        "--components",
        "6",
        "--covariance-types",
        "full",
    )
    assert result.exit_code == 0, result.output
    assert gaussmix.load(tmp_path / "dp" / "model.json").n_components < 6


def test_out_of_core_predict_equals_in_memory_predict(runner, geyser_parquet, tmp_path):
    assert (
        _invoke(
            runner,
            "fit",
            geyser_parquet,
            "--out",
            tmp_path / "fit",
            "--missing",
            "drop",
            "--standardize",
            *SWEEP,
        ).exit_code
        == 0
    )
    model = tmp_path / "fit" / "model.json"
    for mode, name in (("--in-memory", "memory.csv"), ("--out-of-core", "chunked.csv")):
        result = _invoke(
            runner,
            "predict",
            model,
            geyser_parquet,
            "--out",
            tmp_path / name,
            "--missing",
            "marginalize",
            mode,
        )
        assert result.exit_code == 0, result.output
    expected = pd.read_csv(tmp_path / "memory.csv")
    actual = pd.read_csv(tmp_path / "chunked.csv")
    assert len(actual) == 272
    np.testing.assert_array_equal(actual["component"], expected["component"])
    np.testing.assert_allclose(actual["log_density"], expected["log_density"], rtol=1e-9)

    refused = runner.invoke(
        cli,
        [
            "predict",
            str(model),
            str(geyser_parquet),
            "--out",
            str(tmp_path / "p.parquet"),
            "--out-of-core",
            "--missing",
            "drop",
        ],
    )
    assert refused.exit_code != 0 and "CSV" in refused.output


def _write(data, path, row_group_size):
    pq.write_table(
        pa.Table.from_pandas(data, preserve_index=False), path, row_group_size=row_group_size
    )
    return path


def _fit_both_ways(runner, path, tmp_path, *args):
    outputs = {}
    for mode in ("--in-memory", "--out-of-core"):
        out = tmp_path / mode.strip("-")
        result = _invoke(runner, "fit", path, "--out", out, mode, *args)
        assert result.exit_code == 0, result.output
        outputs[mode] = (out, result.output)
    return outputs["--in-memory"], outputs["--out-of-core"]


def _assert_same_outputs(memory, chunked):
    expected = pd.read_csv(memory / "selection.csv", index_col=0)
    actual = pd.read_csv(chunked / "selection.csv", index_col=0)
    np.testing.assert_allclose(actual.to_numpy(), expected.to_numpy(), rtol=1e-9)
    rows_expected = pd.read_csv(memory / "assignments.csv")
    rows_actual = pd.read_csv(chunked / "assignments.csv")
    np.testing.assert_array_equal(rows_actual["row"], rows_expected["row"])
    np.testing.assert_array_equal(rows_actual["component"], rows_expected["component"])
    return rows_actual


def test_a_batch_with_every_row_dropped(runner, faithful_csv, tmp_path):
    data = pd.read_csv(faithful_csv).astype(float)
    data.iloc[40:80, 0] = np.nan  # a whole row group of 40 rows
    data.iloc[100, 1] = np.inf
    path = _write(data, tmp_path / "gap.parquet", row_group_size=40)
    (memory, _), (chunked, output) = _fit_both_ways(
        runner,
        path,
        tmp_path,
        "--missing",
        "drop",
        "--components",
        "2",
        "--covariance-types",
        "VVV,EEE",
    )
    rows = _assert_same_outputs(memory, chunked)
    assert len(rows) == 272 - 41
    assert not set(range(40, 80)) & set(rows["row"]) and 100 not in set(rows["row"])
    assert pd.read_csv(chunked / "assignments.csv", nrows=1).columns[0] == "row"
    assert "dropped 41 row(s) with missing values" in output


def test_rows_with_nothing_observed_are_dropped_as_in_memory(runner, faithful_csv, tmp_path):
    data = pd.read_csv(faithful_csv).astype(float)
    data.iloc[7] = np.nan
    data.iloc[[3, 90], 0] = np.nan
    path = _write(data, tmp_path / "empty.parquet", row_group_size=50)
    (memory, memory_output), (chunked, output) = _fit_both_ways(
        runner,
        path,
        tmp_path,
        "--missing",
        "marginalize",
        "--components",
        "1-2",
        "--covariance-types",
        "VVV",
    )
    rows = _assert_same_outputs(memory, chunked)
    assert len(rows) == 271 and 7 not in set(rows["row"])
    for note in (
        "dropped 1 row(s) with every value missing",
        "2 missing value(s) in 2 row(s) were marginalised",
    ):
        assert note in memory_output and note in output


def test_report_names_rows_by_their_number_in_the_file(runner, faithful_csv, tmp_path):
    data = pd.read_csv(faithful_csv).astype(float)
    data.iloc[[0, 1, 2], 0] = np.nan
    path = _write(data, tmp_path / "shifted.parquet", row_group_size=50)
    for mode in ("--in-memory", "--out-of-core"):
        out = tmp_path / mode.strip("-")
        assert (
            _invoke(
                runner,
                "fit",
                path,
                "--out",
                out,
                mode,
                "--missing",
                "drop",
                "--components",
                "2",
                "--covariance-types",
                "VVV",
            ).exit_code
            == 0
        )
        rows = pd.read_csv(out / "assignments.csv")
        least_likely = rows.sort_values("log_density")["row"].iloc[0]
        report = (out / "report.html").read_text()
        table = report[report.index("The least likely rows") :]
        first_row = re.search(r'<td class="name">(\d+)</td>', table).group(1)
        assert int(first_row) == least_likely


def test_keep_source_with_a_model_that_does_not_marginalise_is_refused(tmp_path, faithful_csv):
    from gaussmix import GaussianMixture, ParquetSource, select_model

    data = pd.read_csv(faithful_csv)
    data.iloc[5, 0] = np.nan
    source = ParquetSource(_write(data, tmp_path / "h.parquet", 100), missing="keep")
    for call in (
        lambda: GaussianMixture(2).fit(source),
        lambda: select_model(source, n_components=[2]),
    ):
        with pytest.raises(ValueError, match="missing='marginalize'"):
            call()
    fitted = GaussianMixture(2, random_state=0).fit(data.dropna())
    with pytest.raises(ValueError, match="missing='keep'"):
        fitted.score_samples(source)


def test_parallel_sweep_on_a_source_equals_the_serial_one(faithful_csv, tmp_path):
    from gaussmix import ParquetSource, select_model

    path = _write(pd.read_csv(faithful_csv), tmp_path / "f.parquet", 100)
    serial = select_model(
        ParquetSource(path), n_components=[1, 2], covariance_types=["VVV", "EII"], random_state=0
    )
    parallel = select_model(
        ParquetSource(path),
        n_components=[1, 2],
        covariance_types=["VVV", "EII"],
        random_state=0,
        n_jobs=2,
    )
    np.testing.assert_allclose(parallel.table_.to_numpy(), serial.table_.to_numpy(), rtol=1e-12)
