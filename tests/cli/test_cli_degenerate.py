"""``gaussmix fit --allow-degenerate``: a degenerate cell is chosen only with the flag."""

import json

import numpy as np
import pandas as pd
import pytest

from gaussmix.cli.main import cli
from gaussmix.selection import select_model

SWEEP = ["--components", "1-3", "--covariance-types", "EII,VII,EEE,VVV", "--quiet"]


@pytest.fixture(scope="module")
def tied_rows():
    """300 Gaussian rows plus 25 identical rows (issue 16): VII,2 puts a spike on the 25."""
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(size=(300, 2)), np.tile([[0.5, 0.5]], (25, 1))])


@pytest.fixture(scope="module")
def tied_csv(tmp_path_factory, tied_rows):
    path = tmp_path_factory.mktemp("data") / "tied.csv"
    pd.DataFrame(tied_rows, columns=["a", "b"]).to_csv(path, index=False)
    return path


def _fit(runner, data, out, *flags):
    result = runner.invoke(cli, ["fit", str(data), "--out", str(out), *SWEEP, *flags])
    assert result.exit_code == 0, result.output
    model = json.loads((out / "model.json").read_text())["model"]
    selection = pd.read_csv(out / "selection.csv", index_col=0)
    return model, selection


def _chosen(model):
    return model["fitted"]["n_components"], model["fitted"]["covariance_model"]


def test_the_flag_lets_the_degenerate_cell_be_chosen(runner, tied_csv, tied_rows, tmp_path):
    # What select_model itself does with and without allow_degenerate, on the same rows.
    grid = ([1, 2, 3], ["EII", "VII", "EEE", "VVV"])
    spike = select_model(tied_rows, *grid, random_state=0, allow_degenerate=True)
    plain = select_model(tied_rows, *grid, random_state=0)
    spike_cell = spike.best_params_["n_components"], spike.best_params_["covariance_type"]
    assert spike.status_table_.loc[spike_cell] == "degenerate"

    model, selection = _fit(runner, tied_csv, tmp_path / "default")
    assert _chosen(model) != spike_cell
    assert _chosen(model) == (
        plain.best_params_["n_components"],
        plain.best_params_["covariance_type"],
    )
    assert np.isnan(selection.loc[spike_cell[0], spike_cell[1]])  # NA, as mclust shows it

    model, selection = _fit(runner, tied_csv, tmp_path / "allowed", "--allow-degenerate")
    assert _chosen(model) == spike_cell
    assert selection.loc[spike_cell[0], spike_cell[1]] == pytest.approx(
        spike.bic_table_.loc[spike_cell], rel=1e-9
    )


def test_the_flag_is_in_the_help(runner):
    result = runner.invoke(cli, ["fit", "--help"])
    assert result.exit_code == 0
    assert "--allow-degenerate" in result.output
