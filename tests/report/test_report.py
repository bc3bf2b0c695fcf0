"""The HTML report: self-contained, complete, and rendered by a real headless browser."""

import base64
import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from gaussmix import AnomalyDetector, GaussianMixture
from gaussmix.datasets import load_diabetes
from gaussmix.report import Figure, build_report, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs chromium (.ci/run) and sets CI=true: there the browser tests must run, and a
# missing browser fails them instead of skipping them.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not on PATH; install Debian's package (apt-get install chromium) "
    "to check the report in a real browser",
)


class FakeSelection:
    """What the report reads from a select_model result."""

    criterion = "bic"
    table_ = pd.DataFrame(
        {"VVV": [900.0, 850.0, np.nan], "VII": [950.0, 870.0, 860.0]},
        index=pd.Index([1, 2, 3], name="K"),
    )

    def summary(self):
        return "best model: VVV with K=2 <chosen>"


@pytest.fixture(scope="module")
def report(chapter_data, tmp_path_factory):
    X = chapter_data[0][:300]
    model = GaussianMixture(3, random_state=0).fit(X)
    detector = AnomalyDetector(contamination=0.05, n_components=3, random_state=0).fit(X)
    import matplotlib.figure

    extra = matplotlib.figure.Figure()
    extra.add_subplot().plot([0, 1], [1, 0])
    html = build_report(
        model,
        X,
        selection=FakeSelection(),
        detector=detector,
        figures=[Figure("an extra figure", extra)],
        command="gaussmix fit data.csv --out 'results & more'",
        notes=["dropped column <id>"],
    )
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(html, path)
    return html, path, model, detector, X


def test_report_is_self_contained(report):
    html, *_ = report
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower()
    assert not re.search(r"(src|href)\s*=\s*[\"'](?!data:|#)", html), "external resource"
    assert "http://" not in html and "https://" not in html
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) >= 6
    for image in images:
        assert base64.b64decode(image).startswith(b"\x89PNG")


def test_report_has_every_section(report):
    html, _, model, detector, X = report
    for section in (
        "data",
        "selection",
        "model",
        "convergence",
        "clusters",
        "anomalies",
        "figures",
    ):
        assert f'<section id="{section}">' in html
    assert "gaussmix fit data.csv --out &#x27;results &amp; more&#x27;" in html
    assert "dropped column &lt;id&gt;" in html
    assert "best model: VVV with K=2 &lt;chosen&gt;" in html
    assert '<td class="best">850.00</td>' in html  # the table's minimum
    counts = np.bincount(model.predict(X), minlength=3)
    for count in counts:
        assert f"<td>{count}</td>" in html
    n_flagged = int((detector.predict(X) == -1).sum())
    assert f"{n_flagged} of {len(X)} rows are flagged" in html


def test_report_for_more_than_two_features_has_a_pairs_plot():
    data = load_diabetes().drop(columns="class")
    model = GaussianMixture(3, random_state=0).fit(data)
    html = build_report(model, data)
    assert "All two-feature projections" in html
    assert "glucose" in html and "sspg" in html
    assert "A single model was fitted" in html


def test_report_draws_more_than_two_features_in_the_separating_plane():
    """Diabetes (3 features): the clusters, uncertainty and density figures are drawn in the
    plane of the discriminant coordinates, and the page names the features of each axis;
    two-feature data are drawn as they are, with no such paragraph."""
    from gaussmix import plot

    data = load_diabetes().drop(columns="class")
    model = GaussianMixture(3, random_state=0).fit(data)
    html = build_report(model, data)
    projection = plot.cluster_projection(model)
    assert html.count("(the plane that best separates the components)</figcaption>") == 3
    for i in range(2):
        top = projection.loadings(i).index[0]
        assert f"{projection.axis_label(i)}: {top} (" in html
    two = data[["glucose", "sspg"]]
    html = build_report(GaussianMixture(2, random_state=0).fit(two), two)
    assert "best separates the components" not in html
    assert "Mixture density (marginal on the two features)" in html


def test_report_figures_sample_large_data_and_cap_the_pairs_grid():
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.normal(size=(12_000, 10)), columns=[f"f{i}" for i in range(10)])
    model = GaussianMixture(2, random_state=0, max_iter=5).fit(data)
    html = build_report(model, data)
    assert "random sample of 5,000 of the rows" in html
    assert "The first 8 features" in html and "All two-feature projections" not in html
    assert "12000 rows, 10 feature(s)" in html  # the tables still describe every row


def test_report_numbers_components_by_weight(report):
    html, _, model, _, X = report
    section = html[html.index('<section id="clusters">') :]
    rows = re.findall(r'<tr><td class="name">(\d+)</td><td>(\d+)</td><td>([^<]+)</td>', section)
    assert [int(r[0]) for r in rows[:3]] == [1, 2, 3]
    weights = [float(r[2]) for r in rows[:3]]
    assert weights == pytest.approx(np.sort(model.weights_)[::-1], rel=1e-3)
    counts = np.bincount(model.predict(X), minlength=3)[np.argsort(-model.weights_)]
    assert [int(r[1]) for r in rows[:3]] == counts.tolist()


def test_every_report_table_scrolls_inside_the_page(report):
    html, *_ = report
    assert html.count("<table") == html.count('<div class="scroll"><table')
    assert ".gaussmix .scroll {overflow-x: auto" in html


class WideSelection:
    """The 14-model table of a wine-sized sweep, with realistic numbers."""

    criterion = "bic"

    def __init__(self):
        from gaussmix.engine.covariance.models import MODELS

        ks = np.arange(1, 10)
        self.table_ = pd.DataFrame(
            {name: 6839.78311 + 97.1234 * ks + i for i, name in enumerate(MODELS)},
            index=pd.Index(ks, name="n_components"),
        )

    def summary(self):
        return "14 models"


@pytest.fixture(scope="module")
def wide_report(tmp_path_factory):
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).data
    model = GaussianMixture(3, random_state=0).fit(wine)
    detector = AnomalyDetector.from_fitted_mixture(model, wine, contamination=0.05)
    html = build_report(model, wine, selection=WideSelection(), detector=detector)
    path = tmp_path_factory.mktemp("wide") / "report.html"
    write_report(html, path)
    return html, path


@needs_chromium
def test_wide_report_fits_a_1400_pixel_window(wide_report, tmp_path):
    """Wine: 13 features and 14 models. Measured by the browser: a copy of the report
    with a script that writes the page's scroll width into its title."""
    html, _ = wide_report
    probe = tmp_path / "probe.html"
    probe.write_text(
        html.replace(
            "</body>",
            "<script>document.title = 'width=' + document.documentElement.scrollWidth"
            " + ' tables=' + Math.max(...[...document.querySelectorAll('table')]"
            ".map(t => t.getBoundingClientRect().width));</script></body>",
        )
    )
    result = _run_chromium(tmp_path, probe.as_uri(), "--window-size=1400,1000", "--dump-dom")
    measured = re.search(r"<title>width=(\d+) tables=([\d.]+)</title>", result.stdout)
    assert measured, result.stderr[-2000:]
    page_width, widest_table = int(measured[1]), float(measured[2])
    assert page_width <= 1400
    assert widest_table > 600  # the tables are there (and wide)


def _run_chromium(tmp_path, url, *extra):
    profile = tmp_path / "profile"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _console_messages(stderr):
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@needs_chromium
def test_console_messages_are_detected(tmp_path):
    """The harness itself: a page with a script error is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>console.error('boom'); nothing();</script></body></html>")
    result = _run_chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert any("boom" in line for line in _console_messages(result.stderr))


@needs_chromium
def test_report_renders_in_headless_chromium_without_console_errors(report, tmp_path):
    _, path, *_ = report
    result = _run_chromium(tmp_path, path.as_uri(), "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _console_messages(result.stderr) == []
    assert '<section id="anomalies">' in result.stdout
    screenshot = tmp_path / "report.png"
    result = _run_chromium(
        tmp_path, path.as_uri(), f"--screenshot={screenshot}", "--window-size=1100,1600"
    )
    assert screenshot.exists(), result.stderr[-2000:]
    from PIL import Image

    pixels = np.asarray(Image.open(screenshot).convert("L"), dtype=float)
    assert pixels.shape == (1600, 1100)
    assert pixels.std() > 10  # text, tables and figures, not a blank page
