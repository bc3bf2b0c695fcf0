"""gaussmix fit / predict / sample / info: outputs, exit codes, one-line errors."""

import json

import numpy as np
import pandas as pd
import pytest

import gaussmix
from gaussmix.cli.main import cli

QUICK = ["--components", "1-2", "--covariance-types", "full", "--quiet"]


def _invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, faithful_csv):
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("fit") / "results"
    result = CliRunner().invoke(
        cli,
        [
            "fit",
            str(faithful_csv),
            "--out",
            str(out),
            "--components",
            "1-3",
            "--covariance-types",
            "full,diag",
            "--contamination",
            "0.1",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return out, result


@pytest.mark.parametrize("command", [[], ["demo"], ["fit"], ["predict"], ["sample"], ["info"]])
def test_every_command_has_help(runner, command):
    result = _invoke(runner, *command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_fit_writes_every_output(fitted, faithful_csv):
    out, result = fitted
    assert sorted(p.name for p in out.iterdir()) == [
        "assignments.csv",
        "model.json",
        "report.html",
        "selection.csv",
    ]
    assert "Clustering table" in result.output and str(out / "report.html") in result.output
    data = pd.read_csv(faithful_csv)
    rows = pd.read_csv(out / "assignments.csv")
    K = len([c for c in rows.columns if c.startswith("prob_")])
    assert list(rows.columns) == [
        "row",
        "component",
        *[f"prob_{k + 1}" for k in range(K)],
        "uncertainty",
        "log_density",
        "anomaly",
    ]
    assert len(rows) == len(data)
    np.testing.assert_array_equal(rows["row"], np.arange(len(data)))
    probabilities = rows[[f"prob_{k + 1}" for k in range(K)]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(rows["component"], probabilities.argmax(axis=1) + 1)
    np.testing.assert_allclose(rows["uncertainty"], 1 - probabilities.max(axis=1))
    threshold = np.percentile(rows["log_density"], 10)
    np.testing.assert_array_equal(rows["anomaly"], (rows["log_density"] < threshold).astype(int))
    selection = pd.read_csv(out / "selection.csv", index_col=0)
    assert list(selection.index) == [1, 2, 3]
    assert list(selection.columns) == ["VVI", "VVV"]
    model = gaussmix.load(out / "model.json")
    # Components are numbered by weight, heaviest first, as in the summary and report:
    # at EM's fixed point a component's mean responsibility is its weight.
    np.testing.assert_allclose(probabilities.mean(axis=0), np.sort(model.weights_)[::-1], atol=1e-3)
    heaviest_first = np.argsort(-model.weights_, kind="stable")
    rank = np.argsort(heaviest_first)
    np.testing.assert_array_equal(rank[model.predict(data)] + 1, rows["component"])
    # the chosen model is the table's minimum
    best = selection.stack().idxmin()
    assert (model.n_components, model._model.name) == (best[0], best[1])


def test_predict_reproduces_the_training_assignments(runner, fitted, faithful_csv, tmp_path):
    out, _ = fitted
    result = _invoke(
        runner, "predict", out / "model.json", faithful_csv, "--out", tmp_path / "p.csv"
    )
    assert result.exit_code == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "p.csv"), pd.read_csv(out / "assignments.csv")
    )


def test_info_describes_the_model(runner, fitted):
    out, _ = fitted
    result = _invoke(runner, "info", out / "model.json")
    assert result.exit_code == 0
    model = gaussmix.load(out / "model.json")
    assert f"{model.n_components} component(s), 2 feature(s)" in result.output
    assert "Features: eruptions, waiting" in result.output
    assert "Anomaly threshold" in result.output and "Made by: gaussmix" in result.output
    # The weights table lists components heaviest first, as the report does.
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["weight", "mean"])
    weights = [float(lines[i].split()[1]) for i in range(start + 2, start + 2 + model.n_components)]
    assert weights == pytest.approx(np.sort(model.weights_)[::-1], rel=1e-3)


def test_standardize_columns_and_sample_in_original_units(runner, diabetes_csv, tmp_path):
    out = tmp_path / "out"
    result = _invoke(
        runner,
        "fit",
        diabetes_csv,
        "--out",
        out,
        "--columns",
        "glucose,insulin",
        "--standardize",
        *QUICK,
    )
    assert result.exit_code == 0, result.output
    metadata = json.loads((out / "model.json").read_text())["metadata"]["cli"]
    data = pd.read_csv(diabetes_csv)
    np.testing.assert_allclose(
        metadata["standardize"]["center"], data[["glucose", "insulin"]].mean(), rtol=1e-12
    )
    np.testing.assert_allclose(
        metadata["standardize"]["scale"], data[["glucose", "insulin"]].std(), rtol=1e-12
    )
    result = _invoke(
        runner, "predict", out / "model.json", diabetes_csv, "--out", tmp_path / "p.csv"
    )
    assert result.exit_code == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "p.csv"), pd.read_csv(out / "assignments.csv")
    )
    result = _invoke(
        runner,
        "sample",
        out / "model.json",
        "-n",
        20000,
        "--out",
        tmp_path / "s.csv",
        "--random-state",
        0,
    )
    assert result.exit_code == 0
    drawn = pd.read_csv(tmp_path / "s.csv")
    assert list(drawn.columns) == ["glucose", "insulin", "component"]
    # At an EM fixed point the mixture mean equals the data mean: the draws (in the
    # data's units) must average to it.
    se = data[["glucose", "insulin"]].std().to_numpy() / np.sqrt(20000)
    np.testing.assert_array_less(
        np.abs(
            drawn[["glucose", "insulin"]].mean().to_numpy()
            - data[["glucose", "insulin"]].mean().to_numpy()
        ),
        5 * se,
    )


def test_npy_and_parquet_inputs(runner, chapter_npy, faithful_csv, tmp_path):
    result = _invoke(runner, "fit", chapter_npy, "--out", tmp_path / "a", *QUICK)
    assert result.exit_code == 0, result.output
    assert gaussmix.load(tmp_path / "a" / "model.json").n_features_in_ == 2
    pytest.importorskip("pyarrow")
    parquet = tmp_path / "faithful.parquet"
    pd.read_csv(faithful_csv).to_parquet(parquet)
    result = _invoke(runner, "fit", parquet, "--out", tmp_path / "b", *QUICK)
    assert result.exit_code == 0, result.output


def test_non_numeric_columns_are_dropped_with_a_note(runner, faithful_csv, tmp_path):
    path = tmp_path / "labelled.csv"
    pd.read_csv(faithful_csv).assign(label="geyser").to_csv(path, index=False)
    result = _invoke(
        runner,
        "fit",
        path,
        "--out",
        tmp_path / "o",
        "--components",
        "2",
        "--covariance-types",
        "VVV",
    )
    assert result.exit_code == 0
    assert "Note: dropped non-numeric column(s): label" in result.output
    # Printed before the summary, where it is read, not after it.
    lines = result.output.splitlines()
    note = lines.index("Note: dropped non-numeric column(s): label")
    assert note < lines.index("Gaussian finite mixture model fitted by EM algorithm")


def _raw_iris(tmp_path):
    """scikit-learn's raw iris.csv: a first line of counts and class names, no header."""
    from importlib.resources import files

    path = tmp_path / "iris.csv"
    path.write_bytes(files("sklearn.datasets").joinpath("data", "iris.csv").read_bytes())
    return path


def test_numeric_looking_header_is_refused_with_the_fix(runner, tmp_path):
    iris = _raw_iris(tmp_path)
    assert iris.read_text().startswith("150,4,setosa,versicolor,virginica\n")
    result = runner.invoke(cli, ["fit", str(iris), "--out", str(tmp_path / "o"), *QUICK])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert "line 1" in line and "'150,4,setosa,versicolor,virginica'" in line
    assert "--skip-rows 1" in line and "--header none" in line
    assert not (tmp_path / "o").exists()
    # The fix it names works: four measurements, 150 rows, the class code left out.
    result = _invoke(
        runner,
        "fit",
        iris,
        "--out",
        tmp_path / "o",
        "--skip-rows",
        "1",
        "--header",
        "none",
        "--columns",
        "x1,x2,x3,x4",
        *QUICK,
    )
    assert result.exit_code == 0, result.output
    model = gaussmix.load(tmp_path / "o" / "model.json")
    assert model.n_features_in_ == 4
    assert len(pd.read_csv(tmp_path / "o" / "assignments.csv")) == 150
    # Numbers that really are names are kept on request.
    years = tmp_path / "years.csv"
    pd.DataFrame(np.random.default_rng(0).normal(size=(40, 2)), columns=["2019", "2020"]).to_csv(
        years, index=False
    )
    assert (
        runner.invoke(cli, ["fit", str(years), "--out", str(tmp_path / "y"), *QUICK]).exit_code == 1
    )
    result = _invoke(runner, "fit", years, "--out", tmp_path / "y", "--header", "names", *QUICK)
    assert result.exit_code == 0, result.output
    assert list(gaussmix.load(tmp_path / "y" / "model.json").feature_names_in_) == ["2019", "2020"]


def test_header_options_are_refused_for_files_with_their_own_names(runner, chapter_npy, tmp_path):
    result = runner.invoke(
        cli, ["fit", str(chapter_npy), "--out", str(tmp_path / "o"), "--skip-rows", "1", *QUICK]
    )
    assert result.exit_code == 1
    assert "--header and --skip-rows" in result.stderr and len(result.stderr.splitlines()) == 1


def test_dirichlet_process_fit_prints_a_summary_with_cluster_sizes(runner, faithful_csv, tmp_path):
    result = _invoke(
        runner,
        "fit",
        faithful_csv,
        "--out",
        tmp_path / "o",
        "--method",
        "dp",
        "--components",
        "6",
        "--covariance-types",
        "full",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Note: Dirichlet-process mixture with 6 components")
    assert "Gaussian finite mixture model fitted by EM algorithm" in lines
    header = lines[lines.index("Clustering table:") + 1].split()
    sizes = [int(v) for v in lines[lines.index("Clustering table:") + 2].split()]
    model = gaussmix.load(tmp_path / "o" / "model.json")
    assert header == [str(j + 1) for j in range(model.n_components)]
    data = pd.read_csv(faithful_csv)
    assert sum(sizes) == len(data)
    rows = pd.read_csv(tmp_path / "o" / "assignments.csv")
    assert sizes == rows["component"].value_counts().sort_index().tolist()
    assert f"{model.bic(data):.3f}" in result.output


def test_missing_values_dropped_on_request(runner, faithful_csv, tmp_path):
    data = pd.read_csv(faithful_csv)
    data.loc[[3, 10], "waiting"] = np.nan
    path = tmp_path / "holes.csv"
    data.to_csv(path, index=False)
    result = _invoke(runner, "fit", path, "--out", tmp_path / "o", "--missing", "drop", *QUICK)
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "o" / "assignments.csv")
    assert len(rows) == len(data) - 2 and 3 not in set(rows["row"]) and 10 not in set(rows["row"])


def _bad_files(tmp_path, faithful_csv):
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    text_only = tmp_path / "words.csv"
    text_only.write_text("name,city\nann,paris\nbob,rome\n")
    holes = tmp_path / "holes.csv"
    holes.write_text("a,b\n1,2\n3,\n5,6\n")
    bad_model = tmp_path / "model.json"
    bad_model.write_text(
        json.dumps({"format": "gaussmix-model", "format_version": 1, "model": {"class": "Pickle"}})
    )
    return {
        "missing": (["fit", tmp_path / "absent.csv"], "does not exist"),
        "binary": (["fit", binary], "not"),
        "no numeric": (["fit", text_only], "no numeric column"),
        "nan": (["fit", holes], "--missing drop"),
        "extension": (["fit", tmp_path / "model.json"], "extension"),
        "columns": (["fit", faithful_csv, "--columns", "nope"], "not in faithful.csv"),
        "non-numeric column": (["fit", text_only, "--columns", "name"], "not numeric"),
        "covariance": (
            ["fit", faithful_csv, "--covariance-types", "fuller"],
            "unknown covariance type",
        ),
        "components": (["fit", faithful_csv, "--components", "3-1"], "ranges increasing"),
        "criterion": (["fit", faithful_csv, "--criterion", "best"], "--criterion"),
        "contamination": (["fit", faithful_csv, "--contamination", "0.9"], "--contamination"),
        "model": (["info", bad_model], "unknown model class"),
        "model not json": (["predict", faithful_csv, faithful_csv], "not valid JSON"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "binary",
        "no numeric",
        "nan",
        "extension",
        "columns",
        "non-numeric column",
        "covariance",
        "components",
        "criterion",
        "contamination",
        "model",
        "model not json",
    ],
)
def test_errors_are_one_line_without_traceback_or_output(runner, tmp_path, faithful_csv, case):
    args, message = _bad_files(tmp_path, faithful_csv)[case]
    out = tmp_path / "never"
    if args[0] == "fit":
        args = [*args, "--out", out]
    elif args[0] == "predict":
        args = [*args, "--out", out / "p.csv"]
    result = runner.invoke(cli, [str(a) for a in args])
    assert result.exit_code in (1, 2)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0] and "error:" in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_usage_errors_exit_2_and_other_errors_exit_1(runner, faithful_csv, tmp_path):
    assert runner.invoke(cli, ["fit", str(faithful_csv)]).exit_code == 2  # no --out
    assert runner.invoke(cli, ["frobnicate"]).exit_code == 2
    assert runner.invoke(cli, ["fit", str(tmp_path / "x.csv"), "--out", "o"]).exit_code == 1


def test_ctrl_c_exits_130_and_leaves_no_output(runner, faithful_csv, tmp_path, monkeypatch):
    import gaussmix.selection

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gaussmix.selection, "select_model", interrupted)
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    result = runner.invoke(cli, ["fit", str(faithful_csv), "--out", str(existing), *QUICK])
    assert result.exit_code == 130
    assert result.stderr.strip() == "gaussmix: interrupted"
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]


def test_failure_while_writing_leaves_nothing_half_written(
    runner, faithful_csv, tmp_path, monkeypatch
):
    import gaussmix.report

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(gaussmix.report, "build_report", broken)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["fit", str(faithful_csv), "--out", str(out), *QUICK])
    assert result.exit_code == 1
    assert "gaussmix bug" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_predict_with_data_lacking_the_columns(runner, fitted, diabetes_csv, tmp_path):
    out, _ = fitted
    result = runner.invoke(
        cli,
        ["predict", str(out / "model.json"), str(diabetes_csv), "--out", str(tmp_path / "p.csv")],
    )
    assert result.exit_code == 1
    assert "not in diabetes.csv" in result.stderr
    assert not (tmp_path / "p.csv").exists()


def test_sample_and_predict_refuse_unknown_output_formats(runner, fitted, faithful_csv, tmp_path):
    out, _ = fitted
    result = runner.invoke(
        cli, ["sample", str(out / "model.json"), "-n", "5", "--out", str(tmp_path / "s.xlsx")]
    )
    assert result.exit_code == 1 and ".csv" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_model_saved_from_python_without_names_takes_columns_in_order(
    runner, chapter_data, faithful_csv, tmp_path
):
    model = gaussmix.GaussianMixture(2, random_state=0).fit(chapter_data[0][:200])
    gaussmix.save(model, tmp_path / "plain.json")
    result = _invoke(
        runner, "predict", tmp_path / "plain.json", faithful_csv, "--out", tmp_path / "p.csv"
    )
    assert result.exit_code == 0
    rows = pd.read_csv(tmp_path / "p.csv")
    data = pd.read_csv(faithful_csv).to_numpy()
    np.testing.assert_allclose(rows["log_density"], model.score_samples(data))
    assert "anomaly" not in rows.columns  # no threshold in a plain model file


@pytest.mark.parametrize(
    "cli_metadata",
    [
        {"columns": ["eruptions"], "standardize": None},
        {"columns": ["eruptions", "waiting"], "standardize": {"center": [0, 0], "scale": [1, 0]}},
        {"columns": ["eruptions", "waiting"], "standardize": {"center": "x", "scale": [1, 1]}},
        {"standardize": {"center": [0, 0], "scale": [1, 1]}},
        {"columns": ["eruptions", "waiting"], "anomaly_threshold": "low"},
        "not an object",
    ],
)
def test_tampered_cli_metadata_is_refused(runner, fitted, faithful_csv, tmp_path, cli_metadata):
    out, _ = fitted
    document = json.loads((out / "model.json").read_text())
    document["metadata"]["cli"] = cli_metadata
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(document))
    result = runner.invoke(
        cli, ["predict", str(path), str(faithful_csv), "--out", str(tmp_path / "p.csv")]
    )
    assert result.exit_code == 1
    assert "is invalid" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p.csv").exists()


def test_one_feature(runner, faithful_csv, tmp_path):
    result = _invoke(
        runner, "fit", faithful_csv, "--columns", "eruptions", "--out", tmp_path / "o", *QUICK
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "o" / "report.html").read_text()
    assert "Mixture density over the histogram" in html


def test_report_of_three_features_shows_the_separating_plane(runner, diabetes_csv, tmp_path):
    result = _invoke(
        runner,
        "fit",
        diabetes_csv,
        "--out",
        tmp_path / "o",
        "--components",
        "3",
        "--covariance-types",
        "full",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "o" / "report.html").read_text()
    assert "the plane of the two directions that best separate the components" in html
    assert "<li>discriminant coordinate 1 (" in html


def test_bare_command_shows_help(runner):
    result = runner.invoke(cli, [])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout and "demo" in result.stdout


def test_library_warnings_do_not_break_the_one_line_error(runner, tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("a,b\n1e300,2e300\n-1e300,3e300\n5e299,1e299\n1e300,1e300\n")
    result = runner.invoke(cli, ["fit", str(path), "--out", str(tmp_path / "o"), *QUICK])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "could be fitted" in result.stderr
