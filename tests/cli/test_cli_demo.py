"""gaussmix demo: the chapter end to end, every figure, a report that loads."""

import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import gaussmix
from gaussmix.cli.main import cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "gaussmix-demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)], catch_exceptions=False)
    return out, result


def test_demo_succeeds_and_says_where_things_went(demo):
    out, result = demo
    assert result.exit_code == 0, result.output
    for name in ("report.html", "model.json", "data.csv"):
        assert str(out / name) in result.stdout
        assert (out / name).is_file()
    for step in ("11.1", "11.2", "11.3", "11.4", "11.5", "11.6"):
        assert step in result.stdout
    # The data come from three Gaussians: the Dirichlet-process fit keeps three of ten.
    assert "Dirichlet process: of 10 components, 3 keep weight" in result.stdout
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left


def test_demo_figures_cover_the_chapter(demo):
    out, _ = demo
    names = sorted(p.name for p in (out / "figures").iterdir())
    for expected in (
        "convergence",
        "true-vs-fitted",
        "kmeans-vs-gmm",
        "uncertainty",
        "responsibilities",
        "bic",
        "density",
        "anomalies",
        "moons",
        "dirichlet-process-weights",
    ):
        assert any(expected in n for n in names), expected
    for path in (out / "figures").iterdir():
        assert path.read_bytes().startswith(b"\x89PNG")
    html = (out / "report.html").read_text()
    assert len(re.findall(r'src="data:image/png;base64,', html)) >= len(names)
    assert "http://" not in html and "https://" not in html


def test_demo_model_and_data_are_the_chapter(demo):
    out, _ = demo
    data = pd.read_csv(out / "data.csv")
    assert data.shape == (300, 3)
    assert sorted(data["component"].unique()) == [1, 2, 3]
    model = gaussmix.load(out / "model.json")
    assert model.n_components == 3
    true_means = np.array([[0.0, 0.0], [3.0, 3.0], [-2.0, 3.0]])
    distances = np.linalg.norm(true_means[:, None] - model.means_[None], axis=2)
    assert distances.min(axis=1).max() < 0.5  # every true mean is recovered


def test_demo_merges_the_moons_and_bootstraps_the_chapter_model(demo):
    out, result = demo
    names = sorted(p.name for p in (out / "figures").iterdir())
    assert any("moons-merged" in n for n in names)
    assert any("moons-entropy" in n for n in names)
    assert any("density-regions" in n for n in names)
    region, threshold = re.search(
        r"95% highest-density region is log-density >= (-?[\d.]+); the 5% anomaly threshold "
        r"is (-?[\d.]+)",
        result.stdout,
    ).groups()
    assert abs(float(region) - float(threshold)) < 0.05  # same data, (nearly) the same model
    ari = float(re.search(r"adjusted Rand index (\d\.\d\d)", result.stdout).group(1))
    assert ari >= 0.95
    assert "Bootstrap (199 replicates)" in result.stdout
    html = (out / "report.html").read_text()
    assert 'id="bootstrap"' in html and "std. error" in html


def test_demo_console_numbers_components_by_weight(demo):
    out, result = demo
    model = gaussmix.load(out / "model.json")
    lines = [line for line in result.stdout.splitlines() if line.strip().startswith("component ")]
    weights = [float(re.search(r"weight (\d\.\d+);", line)[1]) for line in lines]
    assert [line.split()[1] for line in lines] == ["1:", "2:", "3:"]
    assert weights == pytest.approx(np.sort(model.weights_)[::-1], abs=0.006)


def test_default_demo_folder_is_ignored_by_git():
    from pathlib import Path

    ignore = Path(__file__).parents[2] / ".gitignore"
    assert "gaussmix-demo/" in ignore.read_text().splitlines()
