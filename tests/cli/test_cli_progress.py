"""gaussmix fit's progress bar: on a terminal only, never with --quiet."""

import pytest

import gaussmix.cli._options as options
from gaussmix.cli.main import cli

ARGS = ["--components", "1-3", "--covariance-types", "full,diag"]


def _fit(runner, faithful_csv, tmp_path, *extra):
    args = ["fit", str(faithful_csv), "--out", str(tmp_path / "o"), *ARGS, *extra]
    return runner.invoke(cli, args, catch_exceptions=False)


def test_no_bar_when_stderr_is_not_a_terminal(runner, faithful_csv, tmp_path):
    result = _fit(runner, faithful_csv, tmp_path)  # CliRunner's stderr is no TTY
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


@pytest.mark.parametrize("quiet", [False, True])
def test_bar_on_a_terminal_counts_every_cell_unless_quiet(
    runner, faithful_csv, tmp_path, monkeypatch, quiet
):
    monkeypatch.setattr(options, "show_progress", lambda q: not q)
    result = _fit(runner, faithful_csv, tmp_path, *(["--quiet"] if quiet else []))
    assert result.exit_code == 0, result.output
    if quiet:
        assert result.stderr == ""
    else:
        assert "0/6" in result.stderr and "3 K x 2 models" in result.stderr
