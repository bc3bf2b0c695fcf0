"""CLI fuzzing: whatever the files hold, one line on stderr, an exit status, no traceback.

A failure must exit non-zero with exactly one ``gaussmix...: error: ...`` line on stderr,
no traceback, no "gaussmix bug" line (the CLI's catch-all for unexpected exceptions)
and no output files; a success must write every output.
"""

import os
import re

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_strategies import budget

import gaussmix
from gaussmix.cli.main import cli

QUICK = ["--components", "1-2", "--covariance-types", "VVV,EII", "--quiet"]
OUTPUTS = {"model.json", "assignments.csv", "selection.csv", "report.html"}


def _fit(tmp_path, data_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["fit", str(data_path), "--out", str(out), *QUICK])
    return result, out


def _assert_clean_outcome(result, out):
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    if result.exit_code == 0:
        assert OUTPUTS <= {p.name for p in out.iterdir()}
        return
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "error:" in lines[0]
    assert "gaussmix bug" not in lines[0], lines[0]
    assert result.exit_code in (1, 2)
    assert not out.exists() or not any(out.iterdir())


@settings(max_examples=budget(0.3))
@given(content=st.binary(max_size=600))
def test_random_bytes_as_csv(tmp_path_factory, content):
    tmp_path = tmp_path_factory.mktemp("bytes")
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    _assert_clean_outcome(*_fit(tmp_path, path))


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", "nan", "NA", "1e400", "-1e308", "1e308", "abc", "ü", '"', "1,5"]),
    st.text(max_size=5),
)


@settings(max_examples=budget(0.4))
@given(
    header=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4),
    rows=st.lists(st.lists(cells, min_size=0, max_size=5), max_size=12),
    separator=st.sampled_from([",", ";", "\t"]),
)
def test_generated_csv_tables(tmp_path_factory, header, rows, separator):
    tmp_path = tmp_path_factory.mktemp("csv")
    path = tmp_path / "data.csv"
    lines = [separator.join(header)] + [separator.join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _assert_clean_outcome(*_fit(tmp_path, path))


def _table(rng, n=60):
    return np.vstack([rng.normal(size=(n // 2, 2)), rng.normal(4, 1, size=(n // 2, 2))])


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "not a readable table"),
        ("a,b\n", "no numeric column|usable row"),
        ("a,b\n1,2\n3\n4,5,6,7\n", "not a readable table|missing"),
        ("a,b\n1,x\n2,y\n3,z\n", ""),  # b is dropped as non-numeric, a alone is modelled
        ("a,b\nx,y\nz,w\n", "no numeric column"),
        ("a,b\n1,1e400\n2,3\n4,5\n", "infinite|--missing drop"),
    ],
)
def test_malformed_tables(tmp_path, content, message):
    path = tmp_path / "data.csv"
    path.write_text(content)
    result, out = _fit(tmp_path, path)
    _assert_clean_outcome(result, out)
    if message:
        assert result.exit_code != 0
        assert re.search(message, result.stderr), result.stderr


def test_unicode_column_names_are_kept(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "données.csv"
    X = _table(rng)
    path.write_text(
        "température,日本語 列\n" + "\n".join(f"{a},{b}" for a, b in X), encoding="utf-8"
    )
    result, out = _fit(tmp_path, path)
    assert result.exit_code == 0, result.stderr
    model = gaussmix.load(out / "model.json")
    assert list(model.feature_names_in_) == ["température", "日本語 列"]


@pytest.mark.parametrize("magnitude", [1e-300, 1e150, 1e300])
def test_huge_and_tiny_numbers(tmp_path, magnitude):
    rng = np.random.default_rng(1)
    path = tmp_path / "data.csv"
    X = _table(rng) * magnitude
    path.write_text("a,b\n" + "\n".join(f"{a!r},{b!r}" for a, b in X))
    result, out = _fit(tmp_path, path)
    _assert_clean_outcome(result, out)


def test_directory_as_data_or_model_or_output(tmp_path):
    runner = CliRunner()
    folder = tmp_path / "folder"
    folder.mkdir()
    for args in (
        ["fit", str(folder), "--out", str(tmp_path / "o"), *QUICK],
        ["info", str(folder)],
        ["sample", str(folder), "-n", "3", "--out", str(tmp_path / "s.csv")],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code in (1, 2), args
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_output_that_is_a_file_or_a_folder(tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "data.csv"
    path.write_text("a,b\n" + "\n".join(f"{a},{b}" for a, b in _table(rng)))
    blocker = tmp_path / "blocker"
    blocker.write_text("keep")
    result = CliRunner().invoke(cli, ["fit", str(path), "--out", str(blocker), *QUICK])
    assert result.exit_code == 2 and "is a file" in result.stderr  # a usage error
    assert blocker.read_text() == "keep"
    result, out = _fit(tmp_path, path)
    assert result.exit_code == 0, result.stderr
    target = tmp_path / "predictions"
    target.mkdir()
    result = CliRunner().invoke(
        cli, ["predict", str(out / "model.json"), str(path), "--out", str(target)]
    )
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_unwritable_output_folder(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "data.csv"
    path.write_text("a,b\n" + "\n".join(f"{a},{b}" for a, b in _table(rng)))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = CliRunner().invoke(cli, ["fit", str(path), "--out", str(locked / "o"), *QUICK])
        assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr and "gaussmix bug" not in result.stderr
        result = CliRunner().invoke(cli, ["fit", str(path), "--out", str(locked), *QUICK])
        assert result.exit_code == 1 and "gaussmix bug" not in result.stderr
    finally:
        locked.chmod(0o700)
