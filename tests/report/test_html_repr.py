"""Notebook display of fitted mixtures."""

import re

import numpy as np
import pytest

from gaussmix import GaussianMixture


@pytest.fixture(scope="module")
def fitted(chapter_data):
    return GaussianMixture(n_components=3, covariance_type="diag", random_state=0).fit(
        chapter_data[0][:300]
    )


def test_fitted_model_shows_parameters_and_convergence(fitted):
    html = fitted._repr_html_()
    assert "VVI (diag)" in html
    rows = re.findall(r'<tr><td class="name"><span class="swatch"', html)
    assert len(rows) == 3
    for weight in fitted.weights_:
        assert f"{weight:.4g}" in html
    for mean in fitted.means_.ravel():
        assert f"{mean:.4g}" in html
    points = re.search(r'points="([^"]+)"', html).group(1).split()
    assert len(points) == len(fitted.lower_bounds_)
    assert "<script" not in html and "http" not in html
    assert fitted._repr_mimebundle_()["text/html"] == html


def test_unfitted_model_falls_back_to_scikit_learn_display():
    html = GaussianMixture(2)._repr_html_()
    assert "GaussianMixture" in html and "swatch" not in html


def test_names_are_escaped(chapter_data):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(chapter_data[0][:200], columns=["<b>a</b>", "b&c"])
    html = GaussianMixture(2, random_state=0).fit(frame)._repr_html_()
    assert "<b>a</b>" not in html and "&lt;b&gt;a&lt;/b&gt;" in html and "b&amp;c" in html
    assert np.isfinite(float(re.search(r"per sample</th><td class=\"name\">([^<]+)<", html)[1]))


def test_component_table_lists_components_by_weight(fitted):
    html = fitted._repr_html_()
    weights = [float(w) for w in re.findall(r"</span>\d+</td><td>([^<]+)</td>", html)]
    assert weights == pytest.approx(np.sort(fitted.weights_)[::-1], rel=1e-3)
    numbers = re.findall(r"</span>(\d+)</td>", html)
    assert numbers == ["1", "2", "3"]
    assert '<div class="scroll"><table>' in html  # wide tables scroll, not overflow


def test_sparkline_leaves_an_absurd_first_value_out():
    from gaussmix.estimators.html_repr import sparkline_svg

    trace = [-1.8e6, -3.69, -3.65, -3.62, -3.61]
    svg = sparkline_svg(trace, width=260, height=60)
    points = [
        tuple(map(float, p.split(","))) for p in re.search(r'points="([^"]+)"', svg)[1].split()
    ]
    assert len(points) == 4
    ys = [y for _, y in points]
    assert max(ys) - min(ys) > 40  # the climb from -3.69 to -3.61 fills the 60-pixel box
