"""``gaussmix fit --prior default``: MAP-EM from the command line."""

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from gaussmix.cli.main import cli


def _data(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(6, 1, (60, 2))])
    path = tmp_path / "data.csv"
    pd.DataFrame(X, columns=["a", "b"]).to_csv(path, index=False)
    return path


def test_fit_with_the_default_prior_keeps_only_map_models(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "fit",
            str(_data(tmp_path)),
            "--out",
            str(out),
            "--components",
            "1-3",
            "--prior",
            "default",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    selection = pd.read_csv(out / "selection.csv", index_col=0)
    text = selection.to_csv()
    assert "VEV" not in text and "VVV" in text
    assert json.loads((out / "model.json").read_text())


def test_unsupported_model_with_a_prior_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "fit",
            str(_data(tmp_path)),
            "--out",
            str(tmp_path / "o"),
            "--covariance-types",
            "VEV",
            "--prior",
            "default",
        ],
    )
    assert result.exit_code != 0
    assert "EII, VII, EEI, VVI, EEE, VVV" in result.output


def test_dirichlet_process_method_chooses_the_number_of_components(tmp_path):
    out = tmp_path / "dp"
    result = CliRunner().invoke(
        cli,
        ["fit", str(_data(tmp_path)), "--out", str(out), "--components", "6", "--method", "dp"],
    )
    assert result.exit_code == 0, result.output
    assert "2 kept" in result.output
    assert not (out / "selection.csv").exists()
    assignments = pd.read_csv(out / "assignments.csv")
    assert assignments.filter(like="prob").shape[1] == 2


def test_bayesian_method_needs_one_supported_model(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "fit",
            str(_data(tmp_path)),
            "--out",
            str(tmp_path / "o"),
            "--method",
            "variational",
            "--covariance-types",
            "full,diag",
        ],
    )
    assert result.exit_code != 0
    assert "one covariance model" in result.output
