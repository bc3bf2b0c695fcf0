"""``gaussmix fit``'s steps on their own: plan (no data read), run, write."""

import dataclasses

import click
import pandas as pd
import pytest

import gaussmix
from gaussmix.cli._errors import CLIError
from gaussmix.cli._fit import (
    FIT_METHODS,
    FitPlan,
    print_fit_summary,
    run_fit,
    write_fit_outputs,
)
from gaussmix.cli.commands import fit

DEFAULTS = {
    "components": "1-9",
    "covariance_types": "all",
    "criterion": "bic",
    "allow_degenerate": False,
    "columns": None,
    "standardize": False,
    "contamination": 0.05,
    "missing": "error",
    "method": "em",
    "prior": "none",
    "out_of_core": None,
    "random_state": 0,
    "merge": False,
    "header": "auto",
    "skip_rows": 0,
    "quiet": True,
}


def _plan(data="absent.csv", out="out", **options):
    return FitPlan.from_options(data=str(data), out=str(out), **{**DEFAULTS, **options})


def test_the_plan_takes_every_option_of_the_command():
    """A new option of ``gaussmix fit`` must reach the plan (fit passes them all by name)."""
    options = {param.name for param in fit.params if isinstance(param, click.Option)}
    arguments = {param.name for param in fit.params if isinstance(param, click.Argument)}
    assert options | arguments == {"data", "out", *DEFAULTS}


def test_the_method_choices_are_the_fitting_methods():
    method = next(param for param in fit.params if param.name == "method")
    assert set(method.type.choices) == set(FIT_METHODS)


def test_the_plan_parses_the_options_without_reading_the_data():
    plan = _plan(
        components="2,1,2",
        covariance_types="VVV,diag",
        criterion="ICL",
        columns="a, b",
        missing="marginalize",
        prior="default",
    )
    assert plan.components == (1, 2)
    assert plan.criterion == "icl"
    assert plan.columns == ("a", "b")
    assert set(plan.models) == {"VVV", "VVI"}
    assert plan.estimator_params == {"prior": "default", "missing": "marginalize"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.method = "dp"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"components": "0"}, "components"),
        ({"covariance_types": "XYZ"}, "XYZ"),
        ({"columns": " , "}, "--columns is empty"),
        ({"missing": "marginalize", "method": "dp"}, "cannot fit missing values"),
        ({"prior": "default", "covariance_types": "VEV"}, "--prior default does not support"),
        ({"allow_degenerate": True, "method": "variational"}, "--allow-degenerate ranks"),
    ],
)
def test_bad_options_are_refused_before_any_data_is_read(options, message):
    with pytest.raises(CLIError, match=message):
        _plan(data="/nonexistent/data.csv", **options)


def test_run_then_write_then_summary(faithful_csv, tmp_path, capsys):
    plan = _plan(
        faithful_csv,
        tmp_path / "o",
        components="1-2",
        covariance_types="VVV,EEE",
        quiet=False,
        standardize=True,
    )
    outcome = run_fit(plan)
    assert outcome.selection is not None
    assert outcome.model is outcome.selection.best_estimator_
    assert outcome.notes[-1].startswith("features standardised")
    assert not (tmp_path / "o").exists()  # running writes nothing

    written = write_fit_outputs(outcome, plan)
    names = sorted(path.name for path in written.paths)
    assert names == ["assignments.csv", "model.json", "report.html", "selection.csv"]
    rows = pd.read_csv(tmp_path / "o" / "assignments.csv")
    assert written.n_rows == len(rows) == 272
    assert written.n_flagged == int(rows["anomaly"].sum())
    loaded = gaussmix.load(tmp_path / "o" / "model.json")
    assert loaded.n_components == outcome.model.n_components

    print_fit_summary(outcome, written, plan)
    printed = capsys.readouterr().out
    assert f"Anomalies: {written.n_flagged} of 272 rows" in printed
    assert "Note: features standardised" in printed
    print_fit_summary(outcome, written, dataclasses.replace(plan, quiet=True))
    assert capsys.readouterr().out == ""
