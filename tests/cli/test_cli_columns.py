"""One rule for feature columns, in memory and out of core: a boolean column is a
feature when --columns names it, and left out (with a note) otherwise."""

import numpy as np
import pandas as pd
import pytest

import gaussmix
from gaussmix.cli.main import cli

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

SWEEP = ["--components", "1-2", "--covariance-types", "VVV,VVI", "--quiet"]


@pytest.fixture(scope="module")
def flagged(tmp_path_factory, faithful_csv):
    """Faithful with a random boolean column ``flag`` and a text column ``site``, as CSV
    and as Parquet."""
    data = pd.read_csv(faithful_csv)
    data["flag"] = np.random.default_rng(0).random(len(data)) < 0.4
    data["site"] = "Old Faithful"
    folder = tmp_path_factory.mktemp("flagged")
    data.to_csv(folder / "flagged.csv", index=False)
    pq.write_table(
        pa.Table.from_pandas(data, preserve_index=False),
        folder / "flagged.parquet",
        row_group_size=50,
    )
    return folder


#: The three ways fit reads a table: CSV in memory, Parquet in memory, Parquet in batches.
READERS = {
    "csv": ("flagged.csv", []),
    "parquet in memory": ("flagged.parquet", ["--in-memory"]),
    "parquet out of core": ("flagged.parquet", ["--out-of-core"]),
}


def _fit(runner, folder, reader, out, *args):
    name, mode = READERS[reader]
    return runner.invoke(cli, ["fit", str(folder / name), "--out", str(out), *mode, *args])


@pytest.mark.parametrize("reader", list(READERS))
def test_a_named_boolean_column_is_a_feature(runner, flagged, tmp_path, reader):
    result = _fit(runner, flagged, reader, tmp_path / "o", "--columns", "eruptions,flag", *SWEEP)
    assert result.exit_code == 0, result.output
    model = gaussmix.load(tmp_path / "o" / "model.json")
    assert list(model.feature_names_in_) == ["eruptions", "flag"]


def test_the_boolean_feature_gives_the_same_selection_on_every_path(runner, flagged, tmp_path):
    tables = []
    for reader in READERS:
        out = tmp_path / reader.replace(" ", "_")
        result = _fit(runner, flagged, reader, out, "--columns", "eruptions,flag", *SWEEP)
        assert result.exit_code == 0, result.output
        tables.append(pd.read_csv(out / "selection.csv", index_col=0).to_numpy())
    for table in tables[1:]:
        np.testing.assert_allclose(table, tables[0], rtol=1e-9)


@pytest.mark.parametrize("reader", list(READERS))
def test_without_columns_booleans_and_text_are_left_out(runner, flagged, tmp_path, reader):
    result = _fit(runner, flagged, reader, tmp_path / "o", *SWEEP[:-1])
    assert result.exit_code == 0, result.output
    assert "dropped non-numeric column(s): flag, site" in result.output
    model = gaussmix.load(tmp_path / "o" / "model.json")
    assert list(model.feature_names_in_) == ["eruptions", "waiting"]


@pytest.mark.parametrize("reader", list(READERS))
def test_a_named_text_column_is_refused(runner, flagged, tmp_path, reader):
    result = _fit(runner, flagged, reader, tmp_path / "o", "--columns", "eruptions,site", *SWEEP)
    assert result.exit_code != 0
    assert "'site' are not numeric" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()
