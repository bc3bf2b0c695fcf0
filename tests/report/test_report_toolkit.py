"""The report's bootstrap section: the table holds the result's numbers."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gaussmix  # noqa: E402
from gaussmix.report import build_report  # noqa: E402


@pytest.fixture(scope="module")
def bootstrapped():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (80, 2)), rng.normal(5, 1, (60, 2))])
    model = gaussmix.GaussianMixture(2, random_state=0).fit(X)
    return model, X, gaussmix.bootstrap(model, X, n_bootstrap=20, random_state=0)


def test_report_has_a_bootstrap_section_with_the_standard_errors(bootstrapped):
    model, X, result = bootstrapped
    html = build_report(model, X, bootstrap=result)
    section = html[html.index('<section id="bootstrap">') :]
    section = section[: section.index("</section>")]
    assert "20 of 20 replicates" in section
    for value in result.standard_errors_["means"].ravel():
        assert f"{value:.4g}" in section
    assert section.count("data:image/png;base64,") == 1
    assert '<a href="#bootstrap">' in html


def test_report_without_bootstrap_has_no_section(bootstrapped):
    model, X, _ = bootstrapped
    assert 'id="bootstrap"' not in build_report(model, X)
