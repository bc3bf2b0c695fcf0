"""gaussmix fit / predict --missing marginalize."""

import html

import numpy as np
import pandas as pd
import pytest

from gaussmix.cli.main import cli


def _invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def holes_csv(tmp_path_factory, faithful_csv):
    data = pd.read_csv(faithful_csv)
    rng = np.random.default_rng(0)
    holes = rng.random(data.shape) < 0.08
    holes[holes.all(axis=1), 0] = False
    data = data.mask(holes)
    data.iloc[7] = np.nan  # one row with nothing observed
    path = tmp_path_factory.mktemp("holes") / "holes.csv"
    data.to_csv(path, index=False)
    n_missing = int(holes[np.arange(len(data)) != 7].sum())
    n_rows = int(holes[np.arange(len(data)) != 7].any(axis=1).sum())
    return path, data, n_missing, n_rows


def test_fit_marginalizes_and_says_how_many_values_were_missing(runner, holes_csv, tmp_path):
    path, data, n_missing, n_rows = holes_csv
    out = tmp_path / "o"
    result = _invoke(
        runner,
        "fit",
        path,
        "--out",
        out,
        "--missing",
        "marginalize",
        "--components",
        "1-3",
        "--covariance-types",
        "VVV,EEE",
        "--standardize",
    )
    assert result.exit_code == 0, result.output
    message = f"{n_missing} missing value(s) in {n_rows} row(s) were marginalised"
    assert message in result.output
    assert "dropped 1 row(s) with every value missing" in result.output
    report = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    assert message in report
    rows = pd.read_csv(out / "assignments.csv")
    # Every row with at least one observed value is assigned, those with NaN included.
    expected_rows = [i for i in range(len(data)) if i != 7]
    assert rows["row"].tolist() == expected_rows
    incomplete = data.isna().any(axis=1).to_numpy()[expected_rows]
    assert rows.loc[incomplete, "component"].between(1, 3).all()
    probabilities = rows.filter(like="prob_").to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert np.isfinite(rows["log_density"]).all()

    # predict reads the same holes the same way.
    predicted = tmp_path / "p.csv"
    result = _invoke(
        runner,
        "predict",
        out / "model.json",
        path,
        "--out",
        predicted,
        "--missing",
        "marginalize",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    again = pd.read_csv(predicted)
    np.testing.assert_array_equal(again["component"], rows["component"])


def test_marginalize_refuses_infinity_and_the_bayesian_methods(runner, faithful_csv, tmp_path):
    data = pd.read_csv(faithful_csv).astype(float)
    data.loc[2, "waiting"] = np.inf
    path = tmp_path / "inf.csv"
    data.to_csv(path, index=False)
    result = runner.invoke(
        cli, ["fit", str(path), "--out", str(tmp_path / "o"), "--missing", "marginalize"]
    )
    assert result.exit_code == 1 and "infinite" in result.output
    result = runner.invoke(
        cli,
        [
            "fit",
            str(faithful_csv),
            "--out",
            str(tmp_path / "o"),
            "--missing",
            "marginalize",
            "--method",
            "dp",
        ],
    )
    assert result.exit_code == 1 and "--method em" in result.output
    assert not (tmp_path / "o").exists()
