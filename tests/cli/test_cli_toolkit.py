"""gaussmix fit --merge, gaussmix bootstrap and gaussmix density: outputs and one-line errors."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from gaussmix.cli.main import cli


def _invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def merged_fit(tmp_path_factory, faithful_csv):
    out = tmp_path_factory.mktemp("merge") / "results"
    result = _invoke(
        CliRunner(),
        "fit",
        faithful_csv,
        "--out",
        out,
        "--components",
        "3",
        "--covariance-types",
        "VVV",
        "--merge",
    )
    assert result.exit_code == 0, result.output + result.stderr
    return out, result


def test_fit_merge_writes_the_hierarchy_labels_and_figure(merged_fit, faithful_csv):
    out, result = merged_fit
    for name in ("merging.csv", "merged_clusters.csv", "merging.png", "model.json"):
        assert (out / name).exists(), name
    hierarchy = pd.read_csv(out / "merging.csv")
    assert list(hierarchy["n_clusters"]) == [3, 2, 1]
    labels = pd.read_csv(out / "merged_clusters.csv")
    assert list(labels.columns) == ["row", "clusters_3", "clusters_2", "clusters_1"]
    assert len(labels) == len(pd.read_csv(faithful_csv))
    assert set(labels["clusters_1"]) == {1} and set(labels["clusters_2"]) == {1, 2}
    assignments = pd.read_csv(out / "assignments.csv")
    # With every component its own cluster, the labels are the components (renumbered).
    pairs = set(zip(labels["clusters_3"], assignments["component"], strict=True))
    assert len(pairs) == 3
    assert "Merging: 3 components" in result.output


def test_fit_without_merge_writes_no_merge_outputs(runner, faithful_csv, tmp_path):
    result = _invoke(
        runner,
        "fit",
        faithful_csv,
        "--out",
        tmp_path / "o",
        "--components",
        "2",
        "--covariance-types",
        "VVV",
        "--quiet",
    )
    assert result.exit_code == 0
    assert not (tmp_path / "o" / "merging.csv").exists()


def test_merge_of_a_file_read_in_batches_is_refused(runner, faithful_csv, tmp_path):
    parquet = tmp_path / "faithful.parquet"
    pd.read_csv(faithful_csv).to_parquet(parquet)
    out = tmp_path / "never"
    result = _invoke(
        runner,
        "fit",
        parquet,
        "--out",
        out,
        "--out-of-core",
        "--merge",
        "--components",
        "2",
        "--quiet",
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--merge needs the data in memory" in lines[0]
    assert not out.exists()


@pytest.fixture(scope="module")
def bootstrapped(tmp_path_factory, merged_fit, faithful_csv):
    out = tmp_path_factory.mktemp("boot") / "boot"
    model, _ = merged_fit
    result = _invoke(
        CliRunner(),
        "bootstrap",
        model / "model.json",
        faithful_csv,
        "--out",
        out,
        "--n-bootstrap",
        "30",
        "--method",
        "weighted",
        "--level",
        "0.9",
    )
    assert result.exit_code == 0, result.output + result.stderr
    return out, result


def test_bootstrap_writes_the_table_and_figure(bootstrapped):
    out, result = bootstrapped
    table = pd.read_csv(out / "bootstrap.csv")
    assert len(table) == 3 + 3 * 2 + 3 * 2
    assert set(table["parameter"]) == {"weight", "mean", "variance"}
    assert np.all(table["lower"] <= table["upper"])
    assert np.all(table["std_error"] > 0)
    assert (out / "bootstrap.png").stat().st_size > 1000
    assert "Weighted bootstrap: 30 of 30 replicates" in result.output
    assert "90% percentile intervals" in result.output


def test_bootstrap_estimates_are_the_model_s(bootstrapped, merged_fit):
    import gaussmix

    out, _ = bootstrapped
    model = gaussmix.load(merged_fit[0] / "model.json")
    model = getattr(model, "mixture_", model)
    table = pd.read_csv(out / "bootstrap.csv")
    np.testing.assert_allclose(table[table.parameter == "weight"].estimate, model.weights_)
    np.testing.assert_allclose(table[table.parameter == "mean"].estimate, model.means_.ravel())


def test_density_writes_regions_and_model(runner, faithful_csv, tmp_path):
    out = tmp_path / "density"
    result = _invoke(
        runner,
        "density",
        faithful_csv,
        "--out",
        out,
        "--components",
        "1-3",
        "--covariance-types",
        "VVV,EEE",
        "--levels",
        "0.5,0.95",
    )
    assert result.exit_code == 0, result.output + result.stderr
    rows = pd.read_csv(out / "density.csv")
    assert list(rows.columns) == ["row", "log_density", "in_50", "in_95"]
    assert rows["in_95"].mean() == pytest.approx(0.95, abs=1 / len(rows) + 1e-9)
    assert rows["in_50"].mean() == pytest.approx(0.5, abs=1 / len(rows) + 1e-9)
    levels = pd.read_csv(out / "hdr_levels.csv")
    np.testing.assert_allclose(levels["density"], np.exp(levels["log_density"]))
    np.testing.assert_allclose(levels["log_density"], np.quantile(rows["log_density"], [0.5, 0.05]))
    assert (out / "density.png").exists() and (out / "model.json").exists()
    assert "95% highest-density region" in result.output
    predicted = _invoke(
        runner, "predict", out / "model.json", faithful_csv, "--out", tmp_path / "p.csv"
    )
    assert predicted.exit_code == 0, predicted.stderr


def _errors(tmp_path, faithful_csv, merged_fit):
    model = merged_fit[0] / "model.json"
    other = tmp_path / "other.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [2.0, 1.0, 0.0]}).to_csv(other, index=False)
    holes = tmp_path / "holes.csv"
    frame = pd.read_csv(faithful_csv)
    frame.loc[3, "waiting"] = np.nan
    frame.to_csv(holes, index=False)
    return {
        "no model": (["bootstrap", tmp_path / "none.json", faithful_csv], "does not exist"),
        "no data": (["bootstrap", model, tmp_path / "none.csv"], "does not exist"),
        "other columns": (["bootstrap", model, other], "not in other.csv"),
        "missing values": (["bootstrap", model, holes], "missing or infinite"),
        "n-bootstrap": (["bootstrap", model, faithful_csv, "--n-bootstrap", "1"], "--n-bootstrap"),
        "method": (["bootstrap", model, faithful_csv, "--method", "parametric"], "--method"),
        "density levels": (["density", faithful_csv, "--levels", "0.5,1.5"], "--levels"),
        "density levels text": (["density", faithful_csv, "--levels", "half"], "--levels"),
        "density data": (["density", tmp_path / "none.csv"], "does not exist"),
        "density components": (["density", faithful_csv, "--components", "0"], "component"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "no model",
        "no data",
        "other columns",
        "missing values",
        "n-bootstrap",
        "method",
        "density levels",
        "density levels text",
        "density data",
        "density components",
    ],
)
def test_errors_are_one_line(runner, tmp_path, faithful_csv, merged_fit, case):
    args, message = _errors(tmp_path, faithful_csv, merged_fit)[case]
    out = tmp_path / "never"
    result = _invoke(runner, *args, "--out", out)
    assert result.exit_code in (1, 2)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0] and "error:" in lines[0]
    assert not out.exists()


def test_missing_rows_can_be_dropped(runner, tmp_path, faithful_csv, merged_fit):
    holes = tmp_path / "holes.csv"
    frame = pd.read_csv(faithful_csv)
    frame.loc[3, "waiting"] = np.nan
    frame.to_csv(holes, index=False)
    result = _invoke(
        runner,
        "bootstrap",
        merged_fit[0] / "model.json",
        holes,
        "--out",
        tmp_path / "b",
        "--n-bootstrap",
        "5",
        "--missing",
        "drop",
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("command", ["bootstrap", "density"])
def test_new_commands_have_help_and_are_listed(runner, command):
    result = _invoke(runner, command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
    assert command in _invoke(runner, "--help").output
    assert "--merge" in _invoke(runner, "fit", "--help").output
