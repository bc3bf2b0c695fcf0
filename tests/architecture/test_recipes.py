"""The checklists of CONTRIBUTING.md, enforced: a new data source, CLI command or figure
that skips a step fails here (a new covariance model is checked by
tests/engine/test_model_capabilities.py)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from click.testing import CliRunner

from gaussmix import plotting
from gaussmix.cli.main import cli
from gaussmix.engine.data import ArraySource, DataSource, MemmapSource, ParquetSource
from gaussmix.engine.data.dask_source import DaskSource
from gaussmix.engine.data.protocol import missing_members
from gaussmix.engine.data.standardized import StandardizedSource

SOURCE_CLASSES = [ArraySource, MemmapSource, ParquetSource, DaskSource, StandardizedSource]


@pytest.mark.parametrize("source_class", SOURCE_CLASSES, ids=lambda cls: cls.__name__)
def test_every_source_class_implements_the_whole_protocol(source_class):
    methods = [
        name for name in missing_members(object) if callable(getattr(DataSource, name, None))
    ]
    for name in methods:
        assert callable(getattr(source_class, name, None)), f"{source_class.__name__}.{name}"
        assert getattr(source_class, name).__doc__, (
            f"{source_class.__name__}.{name} has no docstring"
        )


def test_an_in_memory_source_satisfies_the_runtime_protocol():
    X = np.zeros((4, 2))
    assert isinstance(ArraySource(X, np.ones(4), 1), DataSource)


def test_an_incomplete_source_is_refused_with_what_it_lacks():
    from gaussmix import GaussianMixture

    class OnlyMapReduce:
        def map_reduce(self, func):  # pragma: no cover - never called
            raise AssertionError

    with pytest.raises(TypeError, match="lacks n_samples, n_features"):
        GaussianMixture(2).fit(OnlyMapReduce())


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_cli_command_has_help_and_one_line_errors(command):
    runner = CliRunner()
    shown = runner.invoke(cli, [command, "--help"])
    assert shown.exit_code == 0 and shown.output.strip(), command
    assert cli.commands[command].help, f"gaussmix {command} has no help text"
    wrong = runner.invoke(cli, [command, "--no-such-option"])
    assert wrong.exit_code == 2
    assert len(wrong.output.strip().splitlines()) == 1, wrong.output


def _is_figure(function) -> bool:
    """A figure function draws on ``ax=None`` (a new figure) or on the user's Axes."""
    parameter = inspect.signature(function).parameters.get("ax")
    return parameter is not None and parameter.default is None


FIGURES = [
    name
    for name in plotting.__all__
    if inspect.isfunction(getattr(plotting, name)) and _is_figure(getattr(plotting, name))
]


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_documents_what_it_returns(name):
    doc = inspect.getdoc(getattr(plotting, name)) or ""
    assert "Returns" in doc, f"plot.{name}: say what it returns (numpydoc Returns section)"


def test_the_figures_are_found():
    assert {"clusters", "convergence", "uncertainty"} <= set(FIGURES)
