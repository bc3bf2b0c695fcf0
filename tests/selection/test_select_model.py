"""select_model: tables, criteria computed independently, failures as data, mclust's iris."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.datasets import load_iris

from gaussmix import GaussianMixture, select_model
from gaussmix.engine.covariance.models import MODELS

MCLUST_ORDER = "EII VII EEI VEI EVI VVI EEE VEE EVE VVE EEV VEV EVV VVV".split()


@pytest.fixture(scope="module")
def iris():
    return load_iris().data


@pytest.fixture(scope="module")
def iris_sweep(iris):
    """The published mclust search: 14 models, K = 1..9, hierarchical init, no ridge."""
    return select_model(
        iris,
        n_components=range(1, 10),
        covariance_types="all",
        init_params="hierarchical",
        reg_covar=0.0,
    )


def test_iris_reproduces_mclust(iris_sweep):
    # mclust (Scrucca et al. 2016, Mclust(iris[, 1:4])): VEV with 2 components,
    # log-likelihood -215.726, df 26, BIC -561.73 in mclust's sign, clusters 50 / 100.
    result = iris_sweep
    assert result.best_params_ == {"n_components": 2, "covariance_type": "VEV"}
    loglik = result.loglik_table_.loc[2, "VEV"]
    assert loglik >= -215.726 - 0.01
    assert result.n_parameters_table_.loc[2, "VEV"] == 26
    assert result.best_score_ == pytest.approx(561.73, abs=0.01)
    labels = result.best_estimator_.predict(load_iris().data)
    assert sorted(np.bincount(labels)) == [50, 100]


def test_iris_top_three_match_mclust(iris_sweep):
    # mclust's summary of the same search (Scrucca et al. 2016, The R Journal 8/1):
    # Best BIC values: VEV,2 -561.7285, VEV,3 -562.5514, VVV,2 -574.0178.
    top = iris_sweep.ranking(3)
    assert list(zip(top["covariance_type"], top["n_components"])) == [
        ("VEV", 2),
        ("VEV", 3),
        ("VVV", 2),
    ]
    np.testing.assert_allclose(top["bic"], [561.7285, 562.5514, 574.0178], atol=0.01)


def test_table_layout_and_failures_are_data(iris_sweep):
    table = iris_sweep.table_
    assert list(table.columns) == MCLUST_ORDER
    assert list(table.index) == list(range(1, 10))
    assert table.index.name == "n_components"
    failed = iris_sweep.status_table_ == "failed"
    not_ranked = iris_sweep.status_table_.isin(["failed", "degenerate"])
    assert (table.isna() == not_ranked).all().all()
    assert len(iris_sweep.errors_) == int(failed.to_numpy().sum())
    assert set(iris_sweep.errors_.columns) == {"n_components", "covariance_type", "reason"}
    assert (iris_sweep.errors_["reason"].str.len() > 0).all()


def _independent_scores(estimator, X):
    """log L, responsibilities from scipy densities of the fitted parameters."""
    log_joint = np.column_stack(
        [
            np.log(w) + multivariate_normal(mean, cov).logpdf(X)
            for w, mean, cov in zip(estimator.weights_, estimator.means_, estimator.covariances_)
        ]
    )
    log_density = logsumexp(log_joint, axis=1)
    return log_density.sum(), np.exp(log_joint - log_density[:, None])


def test_criteria_match_their_definitions(iris, iris_sweep):
    n = iris.shape[0]
    for k, name in [(2, "VEV"), (3, "EEE"), (4, "VII")]:
        estimator = iris_sweep.estimators_[(k, name)]
        loglik, resp = _independent_scores(estimator, iris)
        p = MODELS[name].n_covariance_parameters(k, 4) + k * 4 + k - 1
        assert iris_sweep.loglik_table_.loc[k, name] == pytest.approx(loglik, rel=1e-10)
        assert iris_sweep.bic_table_.loc[k, name] == pytest.approx(-2 * loglik + p * np.log(n))
        assert iris_sweep.aic_table_.loc[k, name] == pytest.approx(-2 * loglik + 2 * p)
        icl = -2 * loglik + p * np.log(n) - 2 * np.log(resp.max(axis=1)).sum()
        assert iris_sweep.icl_table_.loc[k, name] == pytest.approx(icl)
        assert estimator.icl(iris) == pytest.approx(icl)


def test_summary_in_both_signs(iris_sweep):
    text = iris_sweep.summary()
    assert "VEV (ellipsoidal, equal shape) model with 2 components" in text
    assert "561.728" in text and "-215.726" in text and "lower is better" in text
    mclust = iris_sweep.summary(sign="mclust")
    assert "-561.728" in mclust and "higher is better" in mclust
    assert "Top 3 models" in text
    with pytest.raises(ValueError, match="sign must be"):
        iris_sweep.summary(sign="up")


def test_plot_draws_one_line_per_model(iris_sweep):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    returned = iris_sweep.plot(ax=ax)
    assert returned is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:14] == MCLUST_ORDER
    assert "BIC" in ax.get_ylabel()
    plt.close(fig)


def test_html_view_holds_the_table(iris_sweep):
    html = iris_sweep._repr_html_()
    assert "<table" in html and "VEV" in html and "561.73" in html


def test_same_random_state_same_table(chapter_data):
    X = chapter_data[0][:300]
    kwargs = dict(
        n_components=[1, 2, 3],
        covariance_types=["VII", "EEE", "VVV"],
        init_params="kmeans",
        random_state=3,
    )
    first = select_model(X, **kwargs)
    # Threads keep the test fast; cells get the same seed as with worker processes.
    with parallel_config(backend="threading"):
        second = select_model(X, n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(first.table_, second.table_)


def test_criterion_choice_and_aliases(chapter_data):
    X = chapter_data[0][:300]
    result = select_model(
        X,
        n_components=[2, 3],
        covariance_types=["full", "spherical"],
        criterion="aic",
        random_state=0,
    )
    assert list(result.table_.columns) == ["VII", "VVV"]
    pd.testing.assert_frame_equal(result.table_, result.aic_table_)
    best = result.best_params_
    assert (
        result.best_score_ == result.aic_table_.loc[best["n_components"], best["covariance_type"]]
    )
    assert isinstance(result.best_estimator_, GaussianMixture)


def test_cells_that_cannot_be_fitted_do_not_stop_the_sweep():
    X = np.array([[0.0, 0.0], [1.0, 0.1], [2.0, -0.1], [10.0, 10.0], [11.0, 10.2]])
    result = select_model(
        X, n_components=[1, 2, 5, 6], covariance_types=["VVV", "EII"], reg_covar=0.0
    )
    assert np.isnan(result.table_.loc[6, "VVV"])
    assert 6 in set(result.errors_["n_components"])
    assert np.isfinite(result.table_.loc[1, "EII"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"criterion": "bic2"}, "criterion must be one of"),
        ({"covariance_types": ["XYZ"]}, "Unknown covariance_type"),
        ({"n_components": [0, 1]}, "n_components must be"),
        ({"init_params": "ward"}, "init_params must be one of"),
        ({"reg_covar": -1.0}, "reg_covar"),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs, message):
    with pytest.raises(ValueError, match=message):
        select_model(np.random.default_rng(0).normal(size=(20, 2)), **kwargs)


def test_estimator_parameters_chosen_by_select_model_are_refused():
    with pytest.raises(TypeError, match="select_model chooses covariance_type"):
        select_model(np.zeros((10, 2)), covariance_type="VVV")


def test_diabetes_reproduces_mclust():
    # mclust's "A quick tour of mclust" vignette, Mclust(diabetes[, -1]):
    # VVV with 3 components, log-likelihood -2303.496, n 145, df 29, BIC -4751.316,
    # clustering table 81 / 36 / 28.
    from gaussmix.datasets import load_diabetes

    X = load_diabetes()[["glucose", "insulin", "sspg"]]
    result = select_model(X, reg_covar=0.0)
    assert result.best_params_ == {"n_components": 3, "covariance_type": "VVV"}
    assert result.loglik_table_.loc[3, "VVV"] >= -2303.496 - 0.01
    assert result.n_parameters_table_.loc[3, "VVV"] == 29
    assert result.best_score_ == pytest.approx(4751.316, abs=0.02)
    sizes = np.bincount(result.best_estimator_.predict(X))
    assert sorted(sizes, reverse=True) == [81, 36, 28]
